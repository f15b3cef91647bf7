"""Validating one notebook: nbgrader's stock Validate, the judged Validate, grading it.

For each problem set (default: all five), the released notebook with the instructor's answers
is checked, ``--repeat`` times each (default 3), by

1. **stock**: nbgrader's own ``Validator`` in this process (the test cells run in the kernel);
2. **judged**: :class:`actlab.validate.CourseValidator` in this process (what the Lab's Validate
   button runs; the judge of this process is warm after the first run, as in the Lab's server);
3. **command**: ``actlab validate FILE`` in a fresh process, as a learner runs it in a terminal
   (interpreter start, imports, a judge started cold);
4. **grade**: :func:`actlab.grading.job.run_job` on the same notebook in this process (warm
   judge, the bubblewrap sandbox where the machine has it): what grading one notebook costs.

and prints the median seconds of each and the ratios judged / stock and judged / grade. The
target (the validate task): validating a notebook costs about what grading it costs (a kernel,
a warm judge), and no more than nbgrader's stock Validate did.

    .venv/bin/python benchmarks/bench_validate.py [--repeat 3] [--assignment ps1_nonlinearity ...]

A script that prints figures, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from tabulate import tabulate

from actlab.lab import answers_in, write_answers

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def answered(name: str) -> nbformat.NotebookNode:
    """The released notebook of ``name`` with the instructor's answers written in."""
    answers = answers_in(nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4))
    return write_answers(nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4),
                         answers)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def stock(path: Path, config) -> None:
    from nbgrader.validator import Validator

    check = Validator(config=config)
    check.stream = io.StringIO()
    check.validate_and_print(str(path))
    assert "Success!" in check.stream.getvalue(), check.stream.getvalue()


def judged(path: Path, config) -> None:
    from actlab.validate import CourseValidator

    check = CourseValidator(config=config)
    check.stream = io.StringIO()
    check.validate_and_print(str(path))
    assert "Success!" in check.stream.getvalue(), check.stream.getvalue()


def command(path: Path) -> None:
    proc = subprocess.run([str(BIN / "actlab"), "validate", str(path)], capture_output=True,
                          text=True, cwd=path.parent, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def grade(path: Path, name: str, course, sandbox: bool) -> None:
    from actlab.grading.job import JobSpec, run_job

    tpl = course.build_template(name)
    spec = JobSpec("bench", name, {name: path.read_bytes()}, tpl.archive, tpl.notebooks,
                   course.job_config(), course.course_id, sandbox)
    result = run_job(spec)
    assert result.status in ("graded",), (result.status, result.reason)


def main(argv=None) -> int:
    from actlab.grading.course import ensure_tools_on_path, load_course
    from actlab.grading.sandbox import bwrap_available
    from actlab.validate import course_config

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--assignment", nargs="+", default=None)
    args = parser.parse_args(argv)
    ensure_tools_on_path()
    course = load_course(REPO)
    names = args.assignment or course.assignments()
    config = course_config()
    sandbox = bwrap_available()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows, ratios = [], []
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        for name in names:
            path = Path(tmp) / name / f"{name}.ipynb"
            path.parent.mkdir()
            nbformat.write(answered(name), path)
            seconds = {"stock": [], "judged": [], "command": [], "grade": []}
            for _ in range(args.repeat):
                seconds["stock"].append(timed(lambda: stock(path, config)))
                seconds["judged"].append(timed(lambda: judged(path, config)))
                seconds["command"].append(timed(lambda: command(path)))
                seconds["grade"].append(timed(lambda: grade(path, name, course, sandbox)))
            med = {k: statistics.median(v) for k, v in seconds.items()}
            rows.append([name, *(f"{med[k]:.2f}" for k in seconds),
                         f"{med['judged'] / med['stock']:.2f}",
                         f"{med['judged'] / med['grade']:.2f}"])
            ratios.append((med["judged"] / med["stock"], med["judged"] / med["grade"]))
    print(f"median seconds of {args.repeat} runs per notebook (instructor's answers); grading "
          f"{'in the bubblewrap sandbox' if sandbox else 'without the sandbox'}")
    print(tabulate(rows, headers=["problem set", "stock", "judged", "command", "grade",
                                  "judged/stock", "judged/grade"]))
    worst_stock = max(r[0] for r in ratios)
    worst_grade = max(r[1] for r in ratios)
    print(f"judged Validate vs stock nbgrader Validate: at most {worst_stock:.2f}x "
          f"({'met' if worst_stock <= 1.1 else 'NOT met'}: no slower than stock, 10% noise)")
    print(f"judged Validate vs grading the notebook: at most {worst_grade:.2f}x "
          f"({'met' if worst_grade <= 1.5 else 'NOT met'}: about what grading costs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
