"""Helpers shared by several test modules (imported as ``helpers``; never from a test module).

Numeric helpers: the XOR data (``XOR_X``, ``XOR_Y``), :func:`labelled_rows` (a small random
classification batch), and PyTorch's answers on fixed inputs, stored in ``tests/reference/`` so
that the tests compare with PyTorch without installing it (:func:`torch_reference`,
:func:`torch_reference_table`).

Grading helpers: the course's assignment names; nbgrader cells and small nbgrader courses
written into a temporary folder, among them the demo course ``ps0_demo`` with a folder of
submissions (:func:`make_course`), which ``benchmarks/bench_grading.py`` uses too and which is
handy for trying ``actlab grade`` without student data; the sandbox flag for this machine;
reading the CSV files grading writes.

Book helpers: the chapters (:data:`CHAPTERS`) and every page in reading order
(:func:`toc_files`); a clean copy of the repository (:func:`copy_clean_tree`) and the book
built in it as ``make book`` builds it (:func:`build_book`), which conftest's ``built_book``
and ``benchmarks/bench_book.py`` use.

Server helpers: a free port on 127.0.0.1 (:func:`free_loopback_port`) for the servers tests
start, or for a connection that must be refused.

Browser helpers: Debian's Chromium with the flags this machine needs, and Playwright, or a skip
that says how to install them (:func:`playwright_or_skip`); a Jupyter server on 127.0.0.1 at
a free port for as long as a fixture needs it (:func:`running_jupyter`).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import yaml

from actlab.grading.course import CONFIG_NAME, load_course, unpack_folder
from actlab.lab import answers_in, write_answers

REPO = Path(__file__).resolve().parent.parent
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

#: The problem sets, as the course's nbgrader configuration finds them in ``solutions/``.
ASSIGNMENTS: tuple[str, ...] = tuple(load_course(REPO).assignments())


# --------------------------------------------------------------------------------------------
# nbgrader courses in a temporary folder
# --------------------------------------------------------------------------------------------


def nbgrader_cell(source: str, grade_id: str, *, cell_type: str = "code", solution=False,
                  grade=False, points=0):
    """A code (or markdown) cell with nbgrader's metadata; locked unless it is a solution."""
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    meta = {"grade": grade, "solution": solution, "locked": not solution,
            "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def write_course_config(root: Path | str, course_id: str, settings: dict | None = None) -> Path:
    """Write ``root/nbgrader_config.py`` for a course with nbgrader's default folders
    (``source/``, ``release/``) and ``gradebook.db`` in ``root``; ``settings`` maps
    ``"Section.trait"`` to a value (``{"Execute.timeout": 60}``). Returns the file."""
    lines = [
        "c = get_config()  # noqa: F821",
        "import os",
        "_ROOT = os.path.dirname(os.path.abspath(__file__))",
        "c.CourseDirectory.root = _ROOT",
        f"c.CourseDirectory.course_id = {course_id!r}",
        "c.CourseDirectory.source_directory = 'source'",
        "c.CourseDirectory.release_directory = 'release'",
        "c.CourseDirectory.db_url = 'sqlite:///' + os.path.join(_ROOT, 'gradebook.db')",
        *(f"c.{key} = {value!r}" for key, value in (settings or {}).items()),
    ]
    path = Path(root) / CONFIG_NAME
    path.write_text("\n".join(lines) + "\n")
    return path


def write_source_notebook(root: Path | str, assignment: str, cells) -> Path:
    """Write the instructor notebook ``root/source/<assignment>/<assignment>.ipynb`` (a Python 3
    notebook holding ``cells``); returns its path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = list(cells)
    path = Path(root) / "source" / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


DEMO_ASSIGNMENT = "ps0_demo"
_DEMO_SOLUTION = '''def leaky(x, alpha=0.1):
    """Leaky ReLU of a float: x if x > 0 else alpha * x."""
    ### BEGIN SOLUTION
    return x if x > 0 else alpha * x
    ### END SOLUTION'''
_DEMO_TEST_POSITIVE = "assert leaky(2.0) == 2.0\nassert leaky(0.5) == 0.5"
_DEMO_TEST_NEGATIVE = ("assert abs(leaky(-2.0) - (-0.2)) < 1e-12\n"
                       "### BEGIN HIDDEN TESTS\n"
                       "assert abs(leaky(-1.0, alpha=0.5) - (-0.5)) < 1e-12\n"
                       "### END HIDDEN TESTS")

#: What a student could hand in: the body that replaces the solution region.
DEMO_ANSWERS = {
    "correct": "    return x if x > 0 else alpha * x",
    "partial": "    return max(x, 0.0)",  # right for x > 0 only
    "wrong": "    return -x",
}


def write_demo_course(root: Path | str, assignment: str = DEMO_ASSIGNMENT) -> Path:
    """Write a minimal course (config + one source notebook, 3 points) under ``root``.

    The notebook has one solution cell (``leaky``) and two autograded test cells worth
    1 and 2 points, the second with hidden tests. Returns the course root.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_course_config(root, "demo", {"Execute.timeout": 60})
    write_source_notebook(root, assignment, [
        nbformat.v4.new_markdown_cell("Write `leaky(x, alpha)`."),
        nbgrader_cell(_DEMO_SOLUTION, "leaky", solution=True),
        nbgrader_cell(_DEMO_TEST_POSITIVE, "test_leaky_positive", grade=True, points=1),
        nbgrader_cell(_DEMO_TEST_NEGATIVE, "test_leaky_negative", grade=True, points=2),
    ])
    return root


def demo_submission(release_nb_path: Path | str, kind: str) -> bytes:
    """A student notebook made from the release version: ``kind`` in DEMO_ANSWERS or 'blank'."""
    nb = nbformat.read(release_nb_path, as_version=4)
    if kind != "blank":
        body = DEMO_ANSWERS[kind]
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                lines = cell.source.splitlines()
                keep = [ln for ln in lines if "YOUR CODE HERE" not in ln
                        and "NotImplementedError" not in ln]
                cell.source = "\n".join(keep + [body])
    return nbformat.writes(nb).encode()


def instructor_answers(name: str) -> dict[str, str]:
    """grade_id -> source of the answer cells of problem set ``name``'s instructor notebook."""
    return answers_in(nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4))


def answered(name: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook of problem set ``name`` (``exercises/``) with the instructor's
    answers written in, except those given in ``answers`` (grade_id -> source)."""
    nb = nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4)
    return write_answers(nb, {**instructor_answers(name), **(answers or {})})


def read_csv_rows(path: Path | str) -> list[dict]:
    """The rows of a CSV file that grading wrote, as dicts keyed by its header."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def sandbox_flag() -> list[str]:
    """``[]`` where bubblewrap can sandbox the kernel here, else ``["--no-sandbox"]``."""
    from actlab.grading.sandbox import bwrap_available

    return [] if bwrap_available() else ["--no-sandbox"]


def make_course(root: Path, students: dict):
    """A demo course under ``root`` and a submitted folder holding ``students``; returns
    (course folder, submitted folder, the assignment's template).

    ``students`` maps a student id to what they hand in: a kind of :func:`demo_submission`
    (``"correct"``, ``"partial"``, ``"wrong"``, ``"blank"``), ``"broken"`` (not JSON),
    ``"symlink"`` (a link to the instructor's notebook) or None (an empty student folder).
    """
    a = DEMO_ASSIGNMENT
    course = write_demo_course(root / "course")
    template = load_course(course).build_template(a)
    release = root / "release"
    unpack_folder(template.archive, release)
    release_nb = release / "release" / a / f"{a}.ipynb"
    submitted = root / "submitted"
    submitted.mkdir()
    for student, kind in students.items():
        folder = submitted / student
        if kind is None:
            folder.mkdir()
            continue
        (folder / a).mkdir(parents=True)
        target = folder / a / f"{a}.ipynb"
        if kind == "symlink":  # points at the instructor's notebook, answers and all
            target.symlink_to(course / "source" / a / f"{a}.ipynb")
            continue
        data = (b'{"cells": [ this is not JSON' if kind == "broken"
                else demo_submission(release_nb, kind))
        target.write_bytes(data)
    return course, submitted, template


#: The demo class that ``actlab grade`` grades once per test run (conftest's ``graded_demo``):
#: student -> what they hand in (see :func:`make_course`).
DEMO_STUDENTS = {"ada": "correct", "ben": "partial", "cy": "blank", "dee": "wrong",
                 "eve": "broken", "fay": None, "gus": "symlink"}


# --------------------------------------------------------------------------------------------
# numeric data and references
# --------------------------------------------------------------------------------------------

# XOR: four points no linear model separates; a 2-hidden-unit MLP can.
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([0, 1, 1, 0])


def labelled_rows(n: int = 6, d: int = 4, n_classes: int = 3, seed: int = 0):
    """``(X, y)``: ``n`` standard-normal rows of width ``d`` (float64) and integer labels in
    ``range(n_classes)``, both drawn from ``seed``: a small classification batch."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, n_classes, size=n)


@functools.cache
def torch_reference() -> dict[str, np.ndarray]:
    """PyTorch's answers on fixed inputs, as ``tests/reference/make_torch_reference.py`` wrote
    them (its docstring lists the keys): a second reference for activation values,
    derivatives and Adam steps, without installing PyTorch. Arrays are read-only."""
    with np.load(REFERENCE_DIR / "torch_reference.npz") as stored:
        arrays = {key: stored[key] for key in stored.files}
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def torch_reference_table(kind: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(x, {activation name: PyTorch's result at x})`` for ``kind`` 'value' (forward of each
    activation at an (6, 7) grid) or 'derivative' (autograd derivative at 50 points)."""
    ref = torch_reference()
    if kind not in ("value", "derivative"):
        raise ValueError(f"kind must be 'value' or 'derivative', got {kind!r}")
    x = ref["activation_x" if kind == "value" else "derivative_x"]
    names, results = ref[f"{kind}_names"], ref[f"{kind}s"]
    return x, {str(name): result for name, result in zip(names, results)}


# --------------------------------------------------------------------------------------------
# the book
# --------------------------------------------------------------------------------------------

CHAPTERS = ["01_nonlinearity", "02_saturation", "03_relu", "04_variants", "05_choosing"]


# Folders that are never part of a clean checkout (mirrors .gitignore); used when git is absent.
_NOT_SOURCE = (".git", ".venv", "_build", "__pycache__", ".pytest_cache", ".hypothesis",
               ".ipynb_checkpoints", "grading-work", "artifacts", "results", "*.egg-info")


@dataclass(frozen=True)
class BuiltBook:
    """The outcome of ``jupyter-book build . -W -n --keep-going`` in a clean copy of the repo.

    root: the copy; html: ``root/_build/html``; returncode and log (stdout + stderr) of the
    build; seconds: its wall time.
    """

    root: Path
    returncode: int
    log: str
    seconds: float

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"


def _source_files(repo: Path) -> list[Path] | None:
    """Tracked and untracked-but-not-ignored files, i.e. what a fresh clone plus work holds."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=repo, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [Path(p) for p in out.decode().split("\0") if p]


def copy_clean_tree(repo: Path, dest: Path) -> None:
    """Copy the repository's source (no venv, build output or caches) into ``dest``."""
    files = _source_files(repo)
    if files is None:
        shutil.copytree(repo, dest, ignore=shutil.ignore_patterns(*_NOT_SOURCE), dirs_exist_ok=True)
        return
    for rel in files:
        src = repo / rel
        if src.is_file():  # deleted-but-tracked files are listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def build_book(root: Path, timeout: float | None = 1800) -> BuiltBook:
    """Run the README's build command (what ``make book`` runs) in ``root``."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        cwd=root, capture_output=True, text=True, timeout=timeout)
    return BuiltBook(root, proc.returncode, proc.stdout + proc.stderr,
                     time.perf_counter() - start)


def toc_files() -> list[str]:
    """Every file named in `_toc.yml` (root first, then each part's chapters and sections)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(items):
        for item in items:
            if "file" in item:
                files.append(item["file"])
            walk(item.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


# --------------------------------------------------------------------------------------------
# servers and the browser
# --------------------------------------------------------------------------------------------


def free_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (the system's choice, bound and released):
    for a server a test starts, or for a connection that must be refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Debian's Chromium, and the flags it needs on a machine with no network and no GPU, as root.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


def playwright_or_skip():
    """Playwright's sync API, or skip the calling test module, saying how to enable it."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not found: install it with `apt-get install chromium` "
                    "(CI's .ci/run does this) to run the browser tests", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api",
                               reason="pip install -r requirements.txt (needs playwright)")


@contextlib.contextmanager
def running_jupyter(argv: list[str], *, port: int, token: str, cwd: Path, env: dict,
                    log_path: Path, timeout: float = 180):
    """Run the Jupyter server ``argv`` (listening on 127.0.0.1:``port`` with ``token``) until the
    ``with`` block ends; yields its base URL once ``/api/status`` answers. Its output goes to
    ``log_path``, whose tail is the error if it does not come up; at the end its whole process
    group is stopped (kernels it started included)."""
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        tail = Path(log_path).read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"{argv[0]} did not start:\n{tail}") from None
                    time.sleep(0.3)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
