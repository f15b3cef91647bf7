"""Tampering scan: static analysis of the code a student wrote, done outside the kernel.

Hidden tests run in the same Python process as the student's code, so a student can try
to make them pass without solving the problem: patch ``np.allclose`` or
``np.testing.assert_allclose``, rebind builtins, silence ``get_ipython().showtraceback``,
install IPython input/AST transformers that strip ``assert`` statements, register event
hooks, return ``True`` from ``__eq__``, subclass ``ndarray`` to fake comparisons, or end
the kernel with ``sys.exit`` / ``os._exit`` before a test can fail.

:func:`scan` parses every student-editable code cell (IPython syntax is first turned into
Python with IPython's own transformer, so ``%magic`` and ``!shell`` lines do not hide the
rest of a cell) and walks the AST, tracking import aliases (``import numpy as n``,
``from numpy import testing as t``, ``ip = get_ipython()``), so renaming a module does
not evade the scan. A finding means *suspected*: the points stand, the status becomes
``tampering_suspected`` and a human looks. Outputs handed in are irrelevant: they are
cleared by intake and re-created by execution.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Modules whose attributes hidden tests rely on; writing to them is tampering.
PROTECTED_MODULES = {
    "numpy", "math", "builtins", "unittest", "pytest", "actlab", "sys", "IPython", "operator",
    "scipy", "torch", "inspect", "types", "nbgrader", "functools", "importlib",
}
IPYTHON = "<ipython>"
# Members of the IPython shell that change how cells run or how errors are reported.
SENSITIVE_SHELL_MEMBERS = {
    "showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
    "set_custom_exc", "CustomTB", "custom_exceptions", "input_transformers_cleanup",
    "input_transformers_post", "input_transformer_manager", "ast_transformers", "events",
    "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
    "transform_ast", "kernel", "displayhook", "display_pub", "excepthook", "compile",
    "register_magic_function", "magics_manager", "user_ns", "user_global_ns",
}
EXIT_CALLS = {"sys.exit", "os._exit", "os.abort", "os.kill", "os.killpg", "exit", "quit",
              "builtins.exit", "builtins.quit", "signal.signal", "signal.pthread_kill",
              "os.execv", "os.execve", "os.execl", "os.execvp"}
FRAME_CALLS = {"sys._getframe", "inspect.currentframe", "inspect.stack", "inspect.getouterframes",
               "gc.get_objects", "gc.get_referrers", "sys.settrace", "sys.setprofile",
               "sys.addaudithook", "threading.settrace"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "builtins.exec", "builtins.eval", "__import__"}
COMPARISON_DUNDERS = {"__eq__", "__ne__", "__bool__", "__array_ufunc__", "__array_function__",
                      "__array_wrap__", "__array_finalize__", "__lt__", "__le__", "__gt__",
                      "__ge__", "__abs__", "__len__", "__float__", "__instancecheck__"}
NDARRAY_BASES = {"numpy.ndarray", "numpy.ma.MaskedArray", "numpy.matrix", "numpy.generic",
                 "numpy.float64", "float", "int", "builtins.float"}
# Builtins that assertions lean on; shadowing them changes what a test checks.
GUARDED_BUILTINS = {"isinstance", "abs", "all", "any", "len", "float", "round", "bool",
                    "callable", "hasattr", "type", "AssertionError", "Exception", "print", "max",
                    "min", "sum", "range", "__builtins__", "get_ipython"}
SECRET_HINTS = ("gradebook", "solutions/", "solutions\\", "source_with_tests", "nbgrader_config",
                "/root", "grading-work")


@dataclass(frozen=True)
class Finding:
    """One suspicious construct. ``cell``: index of the code cell in the notebook;
    ``line``: line in that cell (1-based); ``kind``: short category; ``message``: what was seen."""

    cell: int
    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell} line {self.line}: {self.kind}: {self.message}"


def _to_python(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot transform is parsed as plain Python
        return source


class _Scanner(ast.NodeVisitor):
    def __init__(self, cell: int, aliases: dict[str, str]):
        self.cell = cell
        # Shared across cells: an alias made in one cell is used in the next.
        self.aliases = aliases
        self.findings: list[Finding] = []

    # -- helpers ---------------------------------------------------------------------
    def flag(self, node: ast.AST, kind: str, message: str) -> None:
        self.findings.append(Finding(self.cell, getattr(node, "lineno", 0), kind, message))

    def dotted(self, node: ast.AST) -> str | None:
        """Resolve ``np.testing.assert_allclose`` to ``numpy.testing.assert_allclose``."""
        if isinstance(node, ast.Name):
            if node.id == "__builtins__":
                return "builtins"
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            name = self.dotted(node.func)
            if name in ("get_ipython", "IPython.get_ipython",
                        "IPython.core.getipython.get_ipython"):
                return IPYTHON
            if name in ("vars",) and node.args:
                return self.dotted(node.args[0])
        if isinstance(node, ast.Subscript):
            # sys.modules['numpy'] -> numpy; X.__dict__[...] handled by the caller.
            base = self.dotted(node.value)
            if base == "sys.modules" and isinstance(node.slice, ast.Constant):
                return str(node.slice.value)
        return None

    @staticmethod
    def root(name: str | None) -> str | None:
        return name.split(".")[0] if name else None

    def is_protected(self, name: str | None) -> bool:
        root = self.root(name)
        return root in PROTECTED_MODULES or root == IPYTHON

    def check_write_target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_write_target(element, verb)
            return
        if isinstance(target, ast.Starred):
            self.check_write_target(target.value, verb)
            return
        if isinstance(target, ast.Attribute):
            name = self.dotted(target)
            if name and self.is_protected(name):
                kind = "ipython hook" if self.root(name) == IPYTHON else "patches a library"
                self.flag(target, kind, f"{verb} {name.replace(IPYTHON, 'get_ipython()')}")
            elif target.attr in ("__class__", "__eq__", "__ne__", "__code__", "__globals__"):
                self.flag(target, "patches an object", f"{verb} .{target.attr}")
            return
        if isinstance(target, ast.Subscript):
            base = target.value
            base_name = self.dotted(base)
            if isinstance(base, ast.Attribute) and base.attr == "__dict__":
                owner = self.dotted(base.value)
                self.flag(target, "patches a library", f"{verb} {owner or '?'}.__dict__[...]")
            elif base_name in ("sys.modules",):
                self.flag(target, "patches a library", f"{verb} sys.modules[...]")
            elif (isinstance(base, ast.Call)
                  and self.dotted(base.func) in ("globals", "vars", "locals")):
                key = target.slice.value if isinstance(target.slice, ast.Constant) else "?"
                if key in self.aliases or key in GUARDED_BUILTINS or key == "?":
                    self.flag(target, "rebinds a name", f"{verb} globals()[{key!r}]")
            elif base_name and self.is_protected(base_name):
                self.flag(target, "patches a library", f"{verb} {base_name}[...]")
            return
        if isinstance(target, ast.Name):
            name = target.id
            if name in self.aliases and self.is_protected(self.aliases[name]):
                self.flag(target, "rebinds a name",
                          f"{verb} '{name}', which was {self.aliases[name]}")
                del self.aliases[name]
            elif name in GUARDED_BUILTINS:
                self.flag(target, "shadows a builtin", f"{verb} builtin '{name}'")

    # -- imports -----------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            if alias.name.split(".")[0] == "ctypes":
                self.flag(node, "low-level access", "imports ctypes")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            local = alias.asname or alias.name
            self.aliases[local] = f"{module}.{alias.name}" if module else alias.name
        if module.split(".")[0] == "ctypes":
            self.flag(node, "low-level access", "imports from ctypes")

    # -- writes ------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        value_name = self.dotted(node.value)
        for target in node.targets:
            self.check_write_target(target, "assigns")
        for target in node.targets:
            if isinstance(target, ast.Name) and value_name and (
                    value_name == IPYTHON or self.root(value_name) in PROTECTED_MODULES):
                self.aliases[target.id] = value_name
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_write_target(node.target, "updates")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.check_write_target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.check_write_target(target, "deletes")
        self.generic_visit(node)

    def visit_FunctionDef(self, node) -> None:
        if node.name in GUARDED_BUILTINS:
            self.flag(node, "shadows a builtin", f"defines function '{node.name}'")
        elif node.name in self.aliases and self.is_protected(self.aliases[node.name]):
            self.flag(node, "rebinds a name",
                      f"defines '{node.name}', which was {self.aliases[node.name]}")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            name = self.dotted(base)
            if name in NDARRAY_BASES or (name and name.endswith("ndarray")):
                self.flag(node, "fakes comparisons", f"class {node.name} subclasses {name}")
        for item in node.body:
            if (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and item.name in COMPARISON_DUNDERS):
                self.flag(item, "fakes comparisons", f"class {node.name} defines {item.name}")
            if isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name) and target.id in COMPARISON_DUNDERS:
                        self.flag(item, "fakes comparisons", f"class {node.name} sets {target.id}")
        if node.name in GUARDED_BUILTINS:
            self.flag(node, "shadows a builtin", f"defines class '{node.name}'")
        self.generic_visit(node)

    # -- calls and reads ---------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node.func)
        if name in ("setattr", "delattr", "builtins.setattr", "object.__setattr__",
                    "type.__setattr__"):
            if node.args:
                owner = self.dotted(node.args[0])
                if owner and self.is_protected(owner):
                    self.flag(node, "patches a library",
                              f"{name}({owner.replace(IPYTHON, 'get_ipython()')}, ...)")
                elif name in ("object.__setattr__", "type.__setattr__"):
                    self.flag(node, "patches an object", f"calls {name}")
        elif name in EXIT_CALLS:
            self.flag(node, "ends the kernel", f"calls {name}()")
        elif name in FRAME_CALLS:
            self.flag(node, "inspects the grader", f"calls {name}()")
        elif name in DYNAMIC_CALLS:
            self.flag(node, "dynamic code", f"calls {name}()")
        elif name and name.startswith("ctypes."):
            self.flag(node, "low-level access", f"calls {name}()")
        elif name == f"{IPYTHON}.run_line_magic" and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value in ("load_ext", "reload_ext", "config", "xmode"):
            self.flag(node, "ipython hook", f"runs %{node.args[0].value}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.dotted(node)
        if name and name.startswith(IPYTHON + "."):
            member = name.split(".")[1]
            if member in SENSITIVE_SHELL_MEMBERS:
                self.flag(node, "ipython hook", f"uses get_ipython().{member}")
                return  # one finding per access chain
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if exc is not None and self.dotted(exc) in ("SystemExit", "KeyboardInterrupt",
                                                     "builtins.SystemExit"):
            self.flag(node, "ends the kernel", f"raises {self.dotted(exc)}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            lowered = node.value.lower()
            for hint in SECRET_HINTS:
                if hint in lowered:
                    self.flag(node, "reaches for grading files", f"mentions {hint!r}")
                    break


def _is_student_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    # Locked cells (tests, instructions) are restored from the gradebook before running.
    return cell.get("cell_type") == "code" and not meta.get("locked", False)


def scan(nb) -> list[Finding]:
    """Scan the student-editable code cells of ``nb`` (nbformat v4 NotebookNode).

    Returns the findings in cell order; an empty list means nothing suspicious was seen.
    Cells that do not parse are skipped (they fail when executed, which is no advantage).
    """
    if not hasattr(nb, "cells"):
        raise TypeError(f"scan expects a notebook with .cells, got {type(nb).__name__}")
    aliases: dict[str, str] = {}
    findings: list[Finding] = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_to_python(cell.source))
        except (SyntaxError, ValueError):
            continue
        scanner = _Scanner(index, aliases)
        if _is_student_cell(cell):
            scanner.visit(tree)
            for finding in scanner.findings:
                # One construct may be seen as a write and as a read; report it once.
                if not any((f.cell, f.line, f.kind) == (finding.cell, finding.line, finding.kind)
                           for f in findings):
                    findings.append(finding)
        else:
            # Track the instructor's imports so aliases they create are known, flag nothing.
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    scanner.visit_Import(node)
                elif isinstance(node, ast.ImportFrom):
                    scanner.visit_ImportFrom(node)
    return findings
