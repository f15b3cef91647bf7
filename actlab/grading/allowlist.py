"""The grader's half of :mod:`actlab.guard`: the declaration, read and enforced.

:func:`read_declaration` reads a problem set's ``allow_actlab(...)`` call from the
*instructor's* notebook (its locked cells, parsed with ``ast``; only literal strings are
accepted), so a student cannot widen it. :func:`filtered_package` writes the copy of the
``actlab`` package that the sandbox mounts in place of the real one: the modules every
notebook may use, the declared ones, and everything those import (found by reading their
imports, at any depth, with ``ast``); hidden names are deleted at the end of their module.
A course module that is not in that closure is simply absent from the sandbox, so a
notebook that removes the kernel-side guard still cannot import it.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import actlab
from actlab.guard import ALWAYS_ALLOWED

PACKAGE_DIR = Path(actlab.__file__).resolve().parent


class DeclarationError(ValueError):
    """The notebook's ``allow_actlab`` call cannot be read (not literal, or twice)."""


@dataclass(frozen=True)
class Declaration:
    """``modules``: the declared actlab modules; ``hide``: dotted names removed from them."""

    modules: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()

    @property
    def allowed(self) -> frozenset:
        """What notebook code may import (the guard's list)."""
        return frozenset(ALWAYS_ALLOWED) | frozenset(self.modules)


def _literal_strings(node, what: str) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(s for elt in node.elts for s in _literal_strings(elt, what))
    raise DeclarationError(f"allow_actlab's {what} must be literal strings, got "
                           f"`{ast.unparse(node)}`")


def read_declaration(nb) -> Declaration | None:
    """The declaration in ``nb``'s locked, ungraded code cells; None if there is none."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if (cell.cell_type != "code" or not meta.get("locked") or meta.get("grade")
                or meta.get("solution")):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name != "allow_actlab":
                continue
            modules = tuple(s for arg in node.args for s in _literal_strings(arg, "modules"))
            hide: tuple[str, ...] = ()
            for kw in node.keywords:
                if kw.arg != "hide":
                    raise DeclarationError(f"allow_actlab has no argument {kw.arg!r}")
                hide = _literal_strings(kw.value, "hidden names")
            found.append(Declaration(modules, hide))
    if len(found) > 1:
        raise DeclarationError("allow_actlab is called more than once; declare the modules once")
    if not found:
        return None
    declaration = found[0]
    known = set(module_files())
    for module in declaration.modules:
        if module not in known:
            raise DeclarationError(f"allow_actlab names {module!r}, which is not an actlab module; "
                                   f"valid names: {', '.join(sorted(known))}")
    return declaration


def module_files() -> dict[str, Path]:
    """``module name -> file`` for every module of the actlab package."""
    out = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR)
        if "__pycache__" in rel.parts:
            continue
        parts = ["actlab", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, hidden: set[str], known: set[str]) -> set[str]:
    """actlab modules that ``module`` imports anywhere (functions in ``hidden`` skipped)."""
    stat = path.stat()
    return set(_imports_cached(module, str(path), stat.st_mtime_ns, stat.st_size,
                               frozenset(h for h in hidden if h.startswith(module + ".")),
                               frozenset(known)))


@functools.lru_cache(maxsize=1024)
def _imports_cached(module: str, path: str, mtime_ns: int, size: int, hidden: frozenset,
                    known: frozenset) -> frozenset:
    # Parsing the package costs about 0.1 s; a grading worker reads it once, not per notebook.
    path = Path(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = {id(inner) for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            and f"{module}.{fn.name}" in hidden
            for inner in ast.walk(fn)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            for k in range(1, len(parts) + 1):
                candidate = ".".join(parts[:k])
                if candidate in known:
                    out.add(candidate)
    return frozenset(out)


def closure(modules, hide=(), files: dict[str, Path] | None = None) -> set[str]:
    """``modules`` and every module they import, directly or not, among ``files``
    (``module name -> file``, default :func:`module_files`); imports inside the functions
    named in ``hide`` do not count."""
    files = module_files() if files is None else files
    known = set(files)
    hidden = set(hide)
    todo = [m for m in modules if m in known]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_imports(module, files[module], hidden, known) - seen)
    return seen


def sandbox_modules(declaration: Declaration) -> set[str]:
    """The modules present in the sandbox for a notebook with this declaration."""
    return closure(set(declaration.allowed), declaration.hide)


def filtered_package(declaration: Declaration, dest: Path) -> Path:
    """Write the sandbox's copy of the actlab package into ``dest`` (made world-readable)."""
    files = module_files()
    hidden: dict[str, list[str]] = {}
    for dotted in declaration.hide:
        module, _, name = dotted.rpartition(".")
        hidden.setdefault(module, []).append(name)
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    for module in sorted(sandbox_modules(declaration)):
        src = files[module]
        target = dest / src.relative_to(PACKAGE_DIR)
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        names = hidden.get(module)
        if names:
            # Deleted after the module has run, so every line keeps its number.
            text += "\n\n" + "".join(
                f"del {n}\nif '__all__' in globals():\n"
                f"    __all__ = [_n for _n in __all__ if _n != {n!r}]\n"
                for n in names)
        target.write_text(text, encoding="utf-8")
        target.chmod(0o644)
    for folder in [dest, *(p for p in dest.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return dest
