"""The course's nbgrader problem sets: generating student versions, and checks the tests share.

``python -m actlab.assignments generate`` (what ``make exercises`` runs) turns every instructor
notebook ``solutions/<name>/<name>.ipynb`` into the student version
``exercises/<name>/<name>.ipynb`` with nbgrader's own ``GenerateAssignment`` converter. It works
in a throw-away course folder with its own gradebook, so generating never touches
``grading-work/`` or the instructor's gradebook, and the committed student versions carry no
outputs.

The second half of the module holds the contract checks that the notebooks' test cells call
(``contract_problems``): one wording of "what an activation function must do" shared by all five
problem sets, so learners get the same specific messages everywhere.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

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


# --------------------------------------------------------------------------------------------
# Checks shared by the notebooks' test cells
# --------------------------------------------------------------------------------------------

#: Inputs at which every activation must stay finite and silent (the course contract: |x| <= 1e4).
EXTREME_INPUTS = (-1e4, -1e3, -88.8, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 88.8, 1e3, 1e4)


def quiet(fn: Callable, *args, **kwargs):
    """Call ``fn`` with every warning silenced and return its result.

    Test cells check values through this, so that a correct answer which happens to trigger a
    library warning (nbgrader fails any cell that writes to stderr) keeps its points; the
    contract check below is the one place where RuntimeWarnings are judged.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # numpy's default error state, so that code which turns warnings into errors itself
        # (a learner's check_activation) still sees them.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            return fn(*args, **kwargs)


def _call_quietly(fn: Callable, *args, **kwargs):
    """Call ``fn`` and return (result, list of RuntimeWarning messages it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A learner's np.seterr elsewhere must not hide overflow: warn inside this call.
        # Underflow to 0 is harmless (numpy ignores it by default), so it is not judged.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            out = fn(*args, **kwargs)
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return out, runtime


CONTRACT_KINDS = ("error", "type", "shape", "dtype", "mutation", "warning", "finite")


def contract_problems(fn: Callable, name: str | None = None, check_ints: bool = True,
                      kinds: Sequence[str] | None = None, **params) -> list[str]:
    """Everything ``fn`` does against the activation contract, as short readable sentences.

    The contract: an array-like of any shape in, an ``np.ndarray`` of the same shape out;
    float32 stays float32, float64 stays float64, lists and integer arrays give float64; no
    NaN/inf and no RuntimeWarning for |x| <= 1e4; the input array is never modified.
    ``params`` are passed to ``fn`` as keyword arguments; ``kinds`` (a subset of
    :data:`CONTRACT_KINDS`) keeps only those problems, e.g. ``("warning", "finite")`` for
    numerical stability alone. Returns an empty list when all is well.
    Each message says what went wrong in its first line, short enough for ``nbgrader
    validate`` (which cuts long lines), and the fix on a second line.
    """
    name = name or getattr(fn, "__name__", "the function")
    if kinds is not None and not set(kinds) <= set(CONTRACT_KINDS):
        raise ValueError(f"unknown kinds {sorted(set(kinds) - set(CONTRACT_KINDS))}; "
                         f"valid: {', '.join(CONTRACT_KINDS)}")
    found: list[tuple[str, str]] = []

    def report(kind: str, message: str) -> None:
        found.append((kind, message))

    def attempt(x, label):
        try:
            return _call_quietly(fn, x, **params)
        except Exception as exc:  # the learner's bug, reported as a sentence
            report("error", f"{name} raised {type(exc).__name__} on {label}:\n{exc}")
            return None, []

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        x = rng.normal(size=(2, 3, 4)).astype(dtype)
        kept = x.copy()
        out, _ = attempt(x, f"a {dtype.__name__} array of shape (2, 3, 4)")
        if out is None:
            continue
        if type(out) is not np.ndarray:
            report("type", f"{name} returned {type(out).__name__}, not a numpy ndarray")
            continue
        if out.shape != x.shape:
            report("shape", f"{name}: output shape {out.shape}, input shape {x.shape}\n"
                            "the output must have the input's shape")
        if out.dtype != dtype:
            report("dtype", f"{name}: {dtype.__name__} input gave {out.dtype} output\n"
                            f"{dtype.__name__} in must give {dtype.__name__} out")
        if not np.array_equal(x, kept):
            report("mutation", f"{name} modified its input array\ncompute into a new array instead")

    out, _ = attempt([-1.0, 0.0, 2.0], "a Python list")
    if out is not None and (type(out) is not np.ndarray or out.dtype != np.float64):
        report("dtype", f"{name}([-1.0, 0.0, 2.0]) returned {type(out).__name__} "
                        f"{getattr(out, 'dtype', '')}\na list must give a float64 ndarray")
    if check_ints:
        out, _ = attempt(np.array([-2, 0, 3]), "an int array")
        if out is not None and getattr(out, "dtype", None) != np.float64:
            report("dtype", f"{name}(int array) gave {getattr(out, 'dtype', type(out).__name__)}"
                            ", not float64\nconvert integer input to float64 first")

    for dtype in (np.float64, np.float32):
        x = np.array(EXTREME_INPUTS, dtype=dtype)
        out, runtime = attempt(x, f"extreme {dtype.__name__} inputs")
        if out is None:
            continue
        if runtime:
            report("warning", f"{name} warns at |x| <= 1e4 ({dtype.__name__}): {runtime[0]!r}\n"
                            "avoid exp of large positive numbers")
        values = np.asarray(out, dtype=np.float64)
        bad = ~np.isfinite(values)
        if values.shape == x.shape and bad.any():
            where = ", ".join(f"{name}({v:g}) = {o}" for v, o in zip(x[bad][:2], values[bad][:2]))
            report("finite", f"{name} returned NaN/inf for {dtype.__name__} input:\n{where}")
    return [m for k, m in found if kinds is None or k in kinds]


def centred_difference(f: Callable, x, h: float = 1e-6, **params) -> np.ndarray:
    """Elementwise derivative of an elementwise ``f`` by centred differences, in float64.

    ``x`` any shape; returns float64 of ``x``'s shape. Used as the independent reference for
    every ``*_grad`` in the problem sets (away from kinks). It is
    :func:`actlab.gradcheck.numerical_elementwise_grad` with ``f``'s keyword parameters
    bound and the problem sets' step.
    """
    from .gradcheck import numerical_elementwise_grad

    return numerical_elementwise_grad(lambda z: f(z, **params), x, h)


if __name__ == "__main__":
    raise SystemExit(main())
