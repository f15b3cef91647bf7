"""``actlab validate FILE``: the learner's one check before handing in, with a truthful exit status.

Each test runs the real command in a fresh process (a kernel executes the notebook), from a
folder outside the repository, on a notebook saved outside the repository: a learner who
downloaded the notebook from the book's problem-set page is in that situation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NAME = "ps1_nonlinearity"

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("nbgrader-validate")]


def _validate(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    actlab = Path(sys.executable).with_name("actlab")
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": "/usr/bin:/bin"}
    return subprocess.run([str(actlab), "validate", str(path)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _filled(tmp_path: Path, answers: dict[str, str] | None = None) -> Path:
    """The released notebook with the instructor's answers (or ``answers``) written in."""
    source = nbformat.read(REPO / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    given = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    given.update(answers or {})
    nb = nbformat.read(REPO / "exercises" / NAME / f"{NAME}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in given:
            cell.source = given[gid]
    path = tmp_path / "Downloads" / f"{NAME}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_completed_notebook_saved_anywhere_passes_with_exit_status_0(tmp_path):
    """Does a finished notebook, saved outside the course, validate with exit 0 and no
    ipykernel warning about unencrypted TCP?"""
    proc = _validate(_filled(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success! Your notebook passes all the tests." in proc.stdout
    assert "without encryption" not in proc.stdout + proc.stderr


def test_failing_notebook_exits_1_and_names_the_failing_cell(tmp_path):
    """Does one wrong answer make the command exit 1 and show the failing test's message?"""
    wrong = ("def xor_net(x):\n    x = np.asarray(x)\n"
             "    return (x[:, 0] | x[:, 1]).astype(np.int64)\n")
    proc = _validate(_filled(tmp_path, {"xor_net": wrong}), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)!" in proc.stdout
    assert "xor_net([1, 1]) predicted 1, XOR is 0" in proc.stdout


def test_changed_test_cell_exits_1(tmp_path):
    """Does editing a read-only test cell (so that it passes) still fail validation?"""
    path = _filled(tmp_path, {"xor_net": "def xor_net(x):\n    return None\n"})
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_xor_net":
            cell.source = "pass"
    nbformat.write(nb, path)
    proc = _validate(path, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "HAVE CHANGED" in proc.stdout


def test_missing_file_or_non_notebook_exits_2(tmp_path):
    """Is a path that is not a notebook a usage error (exit 2) with the path in the message?"""
    proc = _validate(tmp_path / "nope.ipynb", cwd=tmp_path)
    assert proc.returncode == 2 and "nope.ipynb" in proc.stderr
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps({"not": "a notebook"}))
    proc = _validate(broken, cwd=tmp_path)
    assert proc.returncode == 2 and "broken.ipynb" in proc.stderr, proc.stdout + proc.stderr
