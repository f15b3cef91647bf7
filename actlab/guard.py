"""Which parts of ``actlab`` a problem set's own code may import.

Each problem set's locked setup cell declares, in one visible line, the course modules the
notebook may use, for example (problem set 5)::

    allow_actlab("actlab.gradcheck", "actlab.nn", "actlab.data",
                 hide=["actlab.gradcheck.check_activation"])

and problem sets 1 to 4, whose tasks are to write what ``actlab`` already holds, allow none:
``allow_actlab()``. The learner helpers (``actlab.checks``/``actlab.assignments``,
``actlab.util``, this module) are always allowed.

In a Jupyter kernel -- the learner's, the one ``nbgrader validate`` starts, the grader's --
this installs an import guard: notebook code that imports a module outside that list gets an
``ImportError`` that says so, and the names in ``hide`` are removed from their modules. The
library's own modules may import one another (an allowed module keeps working), and the
instructor's hidden tests may import what they need when nbgrader runs them in the kernel.
Outside a kernel (plain Python, the grader's judge process) ``allow_actlab`` does nothing.

The guard tells the learner; it is not what makes the rule hold. When a notebook is graded,
:mod:`actlab.grading.allowlist` reads the same declaration from the instructor's notebook
and the sandbox only contains the allowed modules (and what they import), so a notebook
that removes the guard still cannot call a course reference.
"""

from __future__ import annotations

import builtins
import importlib.abc
import sys

# Modules every notebook may import: the learner helpers and what the grader's agent needs.
ALWAYS_ALLOWED = ("actlab", "actlab.checks", "actlab.assignments", "actlab.util", "actlab.guard",
                  "actlab.grading", "actlab.grading.agent", "actlab.grading.wire")
HIDDEN_TESTS_MARKER = "### BEGIN HIDDEN TESTS"


class _State:
    allowed: frozenset = frozenset()
    hide: tuple = ()
    installed = False
    hidden_cell = False
    real_import = builtins.__import__


def _kernel():
    """The running IPython kernel's shell, or None outside a kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def _absolute(name: str, globals_, level: int) -> str:
    if level <= 0:
        return name
    package = (globals_ or {}).get("__package__") or ""
    parts = package.split(".")
    base = ".".join(parts[:len(parts) - (level - 1)]) if level > 1 else package
    return f"{base}.{name}" if name else base


def _is_allowed(module: str) -> bool:
    if module != "actlab" and not module.startswith("actlab."):
        return True
    return module in _State.allowed


def _importer_is_exempt(frame) -> bool:
    """Imports made by actlab itself, or by the code of a hidden-test cell, are exempt."""
    if frame is None:
        return False
    if str(frame.f_globals.get("__name__", "")).startswith("actlab"):
        return True
    if not _State.hidden_cell:
        return False
    # The cell's top-level code is the outermost frame running in the user namespace.
    shell = _kernel()
    user_ns = shell.user_ns if shell is not None else None
    cell_file, f = None, frame
    while f is not None:
        if f.f_globals is user_ns and f.f_code.co_name == "<module>":
            cell_file = f.f_code.co_filename
        f = f.f_back
    return cell_file is not None and frame.f_code.co_filename == cell_file


def _refuse(module: str):
    allowed = sorted(m for m in _State.allowed if m not in ALWAYS_ALLOWED)
    return ImportError(
        f"{module} is not available in this problem set: write this yourself instead of "
        f"calling the course's reference (allowed here: {', '.join(allowed) or 'no actlab module'})"
        ". Graded code that uses it earns no points.", name=module)


def _hide_names() -> None:
    for dotted in _State.hide:
        module_name, _, attr = dotted.rpartition(".")
        module = sys.modules.get(module_name)
        if module is not None and attr in vars(module):
            delattr(module, attr)
            if attr in getattr(module, "__all__", ()):
                module.__all__ = [n for n in module.__all__ if n != attr]


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = _absolute(name, globals, level)
    frame = sys._getframe(1)
    if module == "actlab" or module.startswith("actlab."):
        wanted = [module] + [f"{module}.{item}" for item in (fromlist or ())
                             if isinstance(item, str) and item != "*"
                             and _may_be_submodule(module, item)]
        refused = [m for m in wanted if not _is_allowed(m)]
        if refused and not _importer_is_exempt(frame):
            raise _refuse(refused[0])
    result = _State.real_import(name, globals, locals, fromlist, level)
    if _State.hide:
        _hide_names()
    return result


def _may_be_submodule(package: str, item: str) -> bool:
    """Whether ``from package import item`` may import a module (it must then be allowed).

    Decided without looking for a file: in the grading sandbox a refused module's file is
    absent, and the learner should still get the guard's explanation."""
    parent = sys.modules.get(package)
    if parent is None:
        return package in ("actlab", "actlab.grading")
    if not hasattr(parent, "__path__"):
        return False
    value = getattr(parent, item, None)
    return value is None or isinstance(value, type(sys))


class _Finder(importlib.abc.MetaPathFinder):
    """Catches ``importlib.import_module`` of a refused module that is not loaded yet."""

    def find_spec(self, fullname, path=None, target=None):
        if _is_allowed(fullname):
            return None
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                     or "importlib" in frame.f_code.co_filename):
            frame = frame.f_back
        if _importer_is_exempt(frame):
            return None
        raise _refuse(fullname)


_FINDER = _Finder()


def _note_cell(info=None) -> None:
    _State.hidden_cell = HIDDEN_TESTS_MARKER in (getattr(info, "raw_cell", "") or "")


def allow_actlab(*modules: str, hide=()) -> None:
    """Declare the ``actlab`` modules this notebook may import (see the module docstring).

    ``modules``: full names such as ``"actlab.gradcheck"``; ``hide``: full names of
    functions to remove from allowed modules, such as ``"actlab.gradcheck.check_activation"``.
    """
    for module in modules:
        if not isinstance(module, str) or not module.startswith("actlab."):
            raise ValueError("allow_actlab takes full module names such as 'actlab.gradcheck', "
                             f"got {module!r}")
    for dotted in hide:
        if not isinstance(dotted, str) or dotted.rpartition(".")[0] not in modules:
            raise ValueError(f"hide names a function of an allowed module, such as "
                             f"'actlab.gradcheck.check_activation', got {dotted!r}")
    shell = _kernel()
    if shell is None:
        return
    _State.allowed = frozenset(ALWAYS_ALLOWED) | frozenset(modules)
    _State.hide = tuple(hide)
    if not _State.installed:
        _State.real_import = builtins.__import__
        builtins.__import__ = _guarded_import
        sys.meta_path.insert(0, _FINDER)
        shell.events.register("pre_run_cell", _note_cell)
        _State.installed = True
    _hide_names()
