"""``actlab validate FILE``: nbgrader's Validate, with an exit status a script can trust.

``nbgrader validate`` exits 0 whether the notebook passes or not, and reads
``nbgrader_config.py`` from the folder it is started in. This command runs the same
``nbgrader.validator.Validator`` that the Lab's Validate button runs, always with the course's
configuration (so a notebook downloaded from the book and saved anywhere is validated like one
in ``mywork/``): the repository's ``nbgrader_config.py`` when actlab is installed from the
course's checkout, else the first one in the notebook's folder or above it, else
:data:`VALIDATION_SETTINGS`, the values of ``nbgrader_config.py`` that validation uses (a
learner who installed the course's wheel from the LMS bundle has no course folder;
``tests/test_validate.py`` checks that the two agree). It prints nbgrader's own report and
exits

* 0 when every test cell passes (nbgrader's "Success!"),
* 1 when a test cell fails, a read-only cell was changed, or a cell's type was changed,
* 2 when the file cannot be validated at all (missing, not a notebook).

Allowed course modules (issue 11): a problem set's locked setup cell declares which ``actlab``
modules its kernel may import (``allow_actlab(...)``) and installs the import guard. Validation
runs that very cell, so a learner's import of a refused module fails Validate with the guard's
message, as it fails grading; a setup cell edited to lift the declaration fails Validate as a
changed read-only cell. Nothing here repeats the list: the notebook is its one source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from nbgrader.validator import Validator
from traitlets.config import Config

from actlab.grading.course import CONFIG_NAME, CourseError, ensure_tools_on_path, load_course
from actlab.lab import REPO_ROOT

#: Keys of nbgrader's validation result that mean the notebook would lose points.
FAILING = ("failed", "changed", "type_changed")


class CourseValidator(Validator):
    """nbgrader's Validator that keeps the result of its last run in ``results``."""

    results: dict = {}

    def validate(self, filename: str) -> dict:
        self.results = super().validate(filename)
        return self.results


#: The settings of the course's nbgrader_config.py that validating a notebook depends on.
VALIDATION_SETTINGS = {
    ("Validator", "width"): 120,
    ("Execute", "timeout"): 120,
    ("KernelManager", "transport_encryption"): "auto",
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
    """Validate one notebook as the Validate button does; print nbgrader's report to ``stream``.

    Returns nbgrader's result dict: empty when all passes, else with ``failed``,
    ``changed`` or ``type_changed`` lists of cells (``source``, ``raw_error``).
    """
    ensure_tools_on_path()  # the kernelspec starts `python` by name
    validator = CourseValidator(config=course_config(path))
    validator.stream = stream or sys.stdout
    validator.validate_and_print(str(Path(path).resolve()))
    return validator.results


def main(argv: Sequence[str] | None = None, prog: str = "actlab validate") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a problem-set notebook from a fresh kernel and check every test cell, "
                    "as nbgrader's Validate button does; exit 1 if any check fails.")
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
