"""The course's nbgrader problem sets: generating the student versions.

``python -m actlab.assignments generate`` (what ``make exercises`` runs) turns every instructor
notebook ``solutions/<name>/<name>.ipynb`` into the student version
``exercises/<name>/<name>.ipynb`` with nbgrader's own ``GenerateAssignment`` converter. It works
in a throw-away course folder with its own gradebook, so generating never touches
``grading-work/`` or the instructor's gradebook, and the committed student versions carry no
outputs.

The checks that the notebooks' test cells call (``quiet``, ``contract_problems``,
``centred_difference``) live in :mod:`actlab.checks`; this module re-exports them, because
notebooks already handed out write ``from actlab.assignments import quiet``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

# Re-exported for notebooks that import the test-cell helpers from here.
from .checks import (CONTRACT_KINDS, EXTREME_INPUTS, centred_difference,  # noqa: F401
                     contract_problems, quiet)

ASSIGNMENTS: tuple[str, ...] = (
    "ps1_nonlinearity",
    "ps2_saturation",
    "ps3_relu",
    "ps4_variants",
    "ps5_custom",
)

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# Generating the student versions
# --------------------------------------------------------------------------------------------


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin`` folder on PATH (for this process and its children).

    nbgrader's Gradebook runs the ``alembic`` command by name, and the venv's ``python3``
    kernelspec starts ``python`` by name; when Python is started as ``.venv/bin/python``
    without activating the venv, neither is on PATH.
    """
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


class _Collect(logging.Handler):
    """Keeps nbgrader's error log lines, to put them in the exception we raise."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def course_config(course_root: Path):
    """A traitlets Config for an nbgrader course folder at ``course_root``.

    The folder uses nbgrader's default layout (``source/``, ``release/``, ``submitted/``,
    ``autograded/``, ``feedback/``) and its own ``gradebook.db``; the stubs and the per-cell
    timeout are the repository's (``nbgrader_config.py``).
    """
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = "sqlite:///" + str(course_root / "gradebook.db")
    # Same stubs as nbgrader_config.py, so generated notebooks do not depend on the caller's cwd.
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    config.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    config.Execute.timeout = 120
    return config


def generate(
    source_dir: Path | str = REPO_ROOT / "solutions",
    release_dir: Path | str = REPO_ROOT / "exercises",
    assignments: Iterable[str] | None = None,
    progress: bool | None = None,
    course_dir: Path | str | None = None,
) -> list[Path]:
    """Generate student notebooks from instructor notebooks with nbgrader.

    Parameters
    ----------
    source_dir : folder holding ``<name>/<name>.ipynb`` instructor notebooks.
    release_dir : folder that receives ``<name>/<name>.ipynb`` student notebooks; an existing
        ``<name>`` folder there is replaced.
    assignments : names to generate; all five by default.
    progress : show a tqdm bar; by default only when stderr is a terminal.
    course_dir : work in this (new or empty) nbgrader course folder and keep it -- its
        ``source/``, ``release/`` and ``gradebook.db`` -- instead of a temporary one; tests use
        it to autograde against the gradebook that generation filled.

    Returns the paths of the written student notebooks. Raises ``FileNotFoundError`` for a
    missing assignment and ``RuntimeError`` when nbgrader reports a failure.
    """
    import nbformat
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from tqdm.auto import tqdm

    source_dir, release_dir = Path(source_dir), Path(release_dir)
    names = list(ASSIGNMENTS if assignments is None else assignments)
    for name in names:
        if not (source_dir / name / f"{name}.ipynb").is_file():
            raise FileNotFoundError(f"no instructor notebook {source_dir / name / (name + '.ipynb')}")
    if progress is None:
        progress = sys.stderr.isatty()
    ensure_tools_on_path()

    written = []
    with tempfile.TemporaryDirectory(prefix="actlab-generate-") as tmp:
        course = Path(tmp) if course_dir is None else Path(course_dir)
        course.mkdir(parents=True, exist_ok=True)
        for name in tqdm(names, desc="generate", disable=not progress):
            if (course / "source" / name).exists():
                shutil.rmtree(course / "source" / name)
            shutil.copytree(source_dir / name, course / "source" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
            config = course_config(course)
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = name
            converter = GenerateAssignment(coursedir=coursedir, config=config)
            converter.force = True
            errors = _Collect()
            converter.log.addHandler(errors)
            try:
                converter.start()
            except Exception as exc:  # nbgrader wraps its own errors in NbGraderException
                detail = "\n".join(errors.lines[-3:]) or str(exc)
                raise RuntimeError(f"nbgrader could not generate {name}:\n{detail}") from exc
            finally:
                converter.log.removeHandler(errors)
            produced = course / "release" / name / f"{name}.ipynb"
            if not produced.is_file():
                raise RuntimeError(f"nbgrader produced no student notebook for {name}")
            nb = nbformat.read(produced, as_version=4)
            _strip_outputs(nb)
            target = release_dir / name
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            nbformat.write(nb, target / f"{name}.ipynb")
            written.append(target / f"{name}.ipynb")
    return written


def _strip_outputs(nb) -> None:
    """Remove outputs and execution counts, in place: no outputs are committed."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actlab.assignments",
        description="Generate the student problem sets in exercises/ from solutions/ with nbgrader.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("names", nargs="*", metavar="NAME",
                     help=f"assignments to generate (default: all of {', '.join(ASSIGNMENTS)})")
    gen.add_argument("--source", type=Path, default=REPO_ROOT / "solutions")
    gen.add_argument("--release", type=Path, default=REPO_ROOT / "exercises")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in ASSIGNMENTS]
    if unknown:
        parser.error(f"unknown assignment {unknown[0]!r}; valid names: {', '.join(ASSIGNMENTS)}")
    try:
        paths = generate(args.source, args.release, args.names or None)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
