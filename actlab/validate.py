"""``actlab validate FILE``: Validate judges a notebook the way grading does.

nbgrader's own Validate runs every test cell in the learner's kernel. Grading does not: a
judge process runs each test cell outside the kernel, against proxies of the learner's
functions (:mod:`actlab.grading.judge`). Under nbgrader's Validate, what a visible test cell
imports or defines (``expit``, ``quiet``, a helper lambda) exists in the kernel, so a
function that uses it passes Validate and then loses its points when graded. So this
module validates with the grader's own machinery:

* :class:`CourseValidator` is nbgrader's ``Validator`` (its checksums of read-only cells,
  its cell-type check, its report, its result dict), with the execution replaced by
  :class:`JudgedExecute`: :func:`actlab.grading.sandbox.execute_notebook` with the judge, the
  grader's limits (the course's ``Execute.timeout`` per cell) and, on a learner's machine,
  no bubblewrap. The judge takes the setup cell and the test cells from the notebook being
  validated, which on a learner's machine is all there is; a read-only cell that was edited
  is still reported as changed, from nbgrader's checksums, as nbgrader reports it.
* A failing test cell is reported with the course's message first (the exception as the
  test raised it, its lines wrapped to the report's width), then the hint a learner needs
  when the message alone does not say it: the error of a cell above (a refused
  ``import actlab...`` with the guard's explanation), or that a missing name comes from a
  test cell. Below that, where in the test cell it failed.
* The Lab's Validate button runs the same code: :mod:`actlab.validate_server` serves
  nbgrader's REST endpoint for it.

It reads the course's configuration wherever the notebook is (so a notebook downloaded from
the book and saved anywhere is validated like one in ``mywork/``): the repository's
``nbgrader_config.py`` when actlab is installed from the course's checkout, else the first
one in the notebook's folder or above it, else :data:`VALIDATION_SETTINGS`, the values of
``nbgrader_config.py`` that validation uses (a learner who installed the course's wheel from
the LMS bundle has no course folder; ``tests/test_validate.py`` checks that the two agree).
It prints nbgrader's own report and exits

* 0 when every test cell passes (nbgrader's "Success!"),
* 1 when a test cell fails, a read-only cell was changed, or a cell's type was changed,
* 2 when the file cannot be validated at all (missing, not a notebook).

Allowed course modules: a problem set's locked setup cell declares which ``actlab``
modules its kernel may import (``allow_actlab(...)``) and installs the import guard. The
kernel runs that very cell, so a learner's import of a refused module fails Validate with
the guard's message, as it fails grading; a setup cell edited to lift the declaration fails
Validate as a changed read-only cell. Nothing here repeats the list: the notebook is its one
source.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Sequence

from nbconvert.filters import ansi2html
from nbformat import current_nbformat
from nbformat import read as read_nb
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput
from nbgrader.validator import Validator
from traitlets import Bool, List
from traitlets.config import Config

from actlab.grading.allowlist import DeclarationError, read_declaration
from actlab.grading.course import CONFIG_NAME, CourseError, ensure_tools_on_path, load_course
from actlab.grading.executor import instructor_cells
from actlab.grading.feedback import failed_tests, is_delegation, is_test_cell
from actlab.grading.sandbox import SandboxedExecute
from actlab.lab import REPO_ROOT

#: Keys of nbgrader's validation result that mean the notebook would lose points.
FAILING = ("failed", "changed", "type_changed")


class JudgedExecute(SandboxedExecute):
    """The grader's execution, for validating: test cells judged outside the kernel.

    :class:`~actlab.grading.sandbox.SandboxedExecute` with the judge's cells (setup and
    tests) and the declaration of allowed course modules taken from the notebook itself, the
    kernel working in a copy of the notebook's folder (``resources["metadata"]["path"]``), as
    when graded, and no bubblewrap unless ``c.JudgedExecute.use_sandbox = True`` (a server
    that has it)."""

    use_sandbox = Bool(False, help="Run the kernel under bubblewrap (a server that has it); "
                                   "a learner's machine has not.").tag(config=True)
    execution = "validate"

    def preprocess(self, nb, resources):
        try:
            declaration = read_declaration(nb)
        except DeclarationError:
            declaration = None  # an edited setup cell: reported as changed, from its checksum
        resources = dict(resources or {})
        resources["actlab"] = {"instructor_cells": instructor_cells(nb),
                               "declaration": declaration}
        return super().preprocess(nb, resources)


class CourseValidator(Validator):
    """nbgrader's Validator, executing the notebook as grading does (:class:`JudgedExecute`).

    ``validate`` is nbgrader's, step for step (cell types, then execution, then checksums of
    read-only cells, then the failing test cells, in nbgrader's result format), without its
    ``chdir`` into the notebook's folder: the Lab's server validates in threads, and a
    process's working folder is shared by all of them. The result of the last run is kept in
    ``results``; a failing test cell's error is :func:`explain_failures`' text."""

    preprocessors = List([CheckCellMetadata, ClearOutput, JudgedExecute])

    results: dict = {}
    #: The notebook as the last run executed it (each judged test cell's output: what the test
    #: printed, then its verdict), or None.
    notebook = None

    def validate(self, filename: str) -> dict:
        path = os.path.abspath(filename)
        self.log.info("Validating '%s'", path)
        nb = read_nb(path, as_version=current_nbformat)
        self._explained = {}
        self.notebook = None
        results: dict = {}
        type_changed = self._get_type_changed_cells(nb)
        if type_changed:
            results["type_changed"] = [{"source": cell.source.strip(), "old_type": cell.cell_type,
                                        "new_type": cell.metadata.nbgrader.cell_type}
                                       for cell in type_changed]
        else:
            nb = self.notebook = self._preprocess(nb, os.path.dirname(path))
            changed = self._get_changed_cells(nb)
            if not self.ignore_checksums and changed:
                results["changed"] = [{"source": cell.source.strip()} for cell in changed]
            elif self.invert:
                passed = self._get_passed_cells(nb)
                if passed:
                    results["passed"] = [{"source": cell.source.strip()} for cell in passed]
            else:
                failed = self._get_failed_cells(nb)
                if failed:
                    results["failed"] = [{"source": cell.source.strip(),
                                          "error": ansi2html(self._extract_error(cell)),
                                          "raw_error": self._extract_error(cell)}
                                         for cell in failed]
        self.results = results
        return results

    def _preprocess(self, nb, folder: str | None = None):
        resources = {"metadata": {"path": folder}} if folder else {}
        for preprocessor in self.preprocessors:
            nb, resources = preprocessor(parent=self).preprocess(nb, resources)
        self._explained = explain_failures(nb, self.width - len(self.indent) - 3)
        return nb

    def _extract_error(self, cell) -> str:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        explained = getattr(self, "_explained", {})
        if gid in explained:
            return explained[gid]
        return super()._extract_error(cell)


# --------------------------------------------------------------------------------------------
# What a failing test cell says


_MISSING_NAME = re.compile(r"name '([A-Za-z_]\w*)' is not defined")


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level (imports, assignments, definitions, loops)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # what its body binds is local to it
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _wrapped(text: str, width: int) -> list[str]:
    """``text``'s lines, each wrapped to ``width`` (nbgrader cuts longer lines off)."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_on_hyphens=False) or [""]
    return lines


def explain_failures(nb, width: int = 110) -> dict[str, str]:
    """``grade_id -> text`` for every judged test cell of ``nb`` (executed) that failed.

    The text starts with the test's exception and message, each line wrapped to ``width``;
    then, for a missing name, that tests run apart from the learner's code if a test cell
    binds that name, else the error of the notebook's own cell above it (a refused course
    module is named as such, the guard's explanation in full); then where in the test cell it
    failed.
    """
    test_names: set[str] = set()
    for cell in nb.cells:
        if is_test_cell(cell):
            test_names |= _bound_names(cell.source)
    failures = failed_tests(nb)
    out = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        failure = failures.get(gid) if is_test_cell(cell) else None
        if failure is None:
            continue
        ename, evalue, cause = failure
        lines = _wrapped(f"{ename}: {evalue}" if evalue else ename, width)
        missing = _MISSING_NAME.search(evalue) if ename == "NameError" else None
        if missing and missing.group(1) in test_names:
            name = missing.group(1)
            lines += _wrapped(
                f"`{name}` exists only because a test cell imports or defines it. Tests run "
                f"apart from your code when it is validated and graded, so your functions "
                f"cannot use it: import or define `{name}` in your own cell.", width)
        elif cause is not None:
            label = ("Your code imports a course module this problem set does not allow"
                     if is_delegation(*cause) else "A cell above failed")
            lines += _wrapped(f"{label}: {cause[0]}: {cause[1]}", width)
        where = _where(cell, ename)
        if where:
            lines += ["", *where]
        out[gid] = "\n".join(lines)
    return out


def _where(cell, ename: str) -> list[str]:
    """The test's traceback without its last entry (the exception, shown first already)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return []
    tb = [str(line) for line in errors[-1].get("traceback") or []]
    if tb and tb[-1].lstrip().startswith(ename):
        tb = tb[:-1]
    if tb and tb[0].startswith("Traceback"):
        tb = tb[1:]
    return "\n".join(tb).splitlines()


# --------------------------------------------------------------------------------------------


#: The settings of the course's nbgrader_config.py that validating a notebook depends on.
VALIDATION_SETTINGS = {
    ("Validator", "width"): 120,
    ("Execute", "timeout"): 120,
}


def course_config(notebook: Path | str | None = None) -> Config:
    """The course's nbgrader configuration for validating ``notebook``.

    The checkout's ``nbgrader_config.py`` if actlab runs from one; else the first
    ``nbgrader_config.py`` at or above the notebook's folder; else :data:`VALIDATION_SETTINGS`.
    """
    folders = [REPO_ROOT]
    if notebook is not None:
        here = Path(notebook).resolve().parent
        folders += [here, *here.parents]
    for folder in folders:
        if (folder / CONFIG_NAME).is_file():
            try:
                return load_course(folder).config
            except CourseError:
                continue  # not a course's config after all: look further
    config = Config()
    for (section, name), value in VALIDATION_SETTINGS.items():
        config[section][name] = value
    return config


def validate(path: Path | str, stream=None) -> dict:
    """Validate one notebook as grading judges it; print nbgrader's report to ``stream``.

    Returns nbgrader's result dict: empty when all passes, else with ``failed``,
    ``changed`` or ``type_changed`` lists of cells (``source``, ``raw_error``).
    """
    ensure_tools_on_path()
    validator = CourseValidator(config=course_config(path))
    validator.stream = stream or sys.stdout
    validator.validate_and_print(str(Path(path).resolve()))
    return validator.results


def main(argv: Sequence[str] | None = None, prog: str = "actlab validate") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a problem-set notebook from a fresh kernel and check every test cell "
                    "the way grading does (the tests run apart from your code); exit 1 if any "
                    "check fails.")
    parser.add_argument("notebook", type=Path, help="the .ipynb file you are working on")
    args = parser.parse_args(argv)
    path = args.notebook
    if not path.is_file():
        print(f"{prog}: no such file: {path}", file=sys.stderr)
        return 2
    if path.suffix != ".ipynb":
        print(f"{prog}: {path} is not a notebook (.ipynb)", file=sys.stderr)
        return 2
    try:
        results = validate(path)
    except Exception as exc:  # nbformat or nbgrader could not read it: say so, do not crash
        print(f"{prog}: cannot validate {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 1 if any(results.get(key) for key in FAILING) else 0
