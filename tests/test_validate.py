"""``actlab validate FILE``, and the promise behind it: Validate tells the truth.

The command tests run the real ``actlab validate`` in a fresh process, from a folder outside the
repository, on a notebook saved outside the repository, as a learner who downloaded the notebook
from the book's problem-set page would. The zoo tests validate, with nbgrader's own Validator
(what the command and the Validate button run), every answer of ``tests/stated_rules.py``:
each breaks one rule the notebook states and must fail in the test cell that states it; each
correct answer written differently must pass, and must then keep every point when graded.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from stated_rules import ALTERNATIVES, RULE_BREAKS

REPO = Path(__file__).resolve().parent.parent
NAME = "ps1_nonlinearity"

pytestmark = pytest.mark.grading


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


# --------------------------------------------------------------------------------------------
# Validate tells the truth: the zoo of answers that each break one stated rule
# --------------------------------------------------------------------------------------------


def _instructor_answers(name: str) -> dict[str, str]:
    nb = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def _learner_notebook(name: str, answers: dict[str, str]):
    """The released notebook with the instructor's answers, except those in ``answers``."""
    given = {**_instructor_answers(name), **answers}
    nb = nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in given:
            cell.source = given[meta["grade_id"]]
    return nb


@pytest.fixture(scope="module")
def validator():
    """Validates notebooks in this process, as the Validate button does (a fresh kernel each)."""
    from actlab.grading.course import ensure_tools_on_path
    from actlab.validate import CourseValidator, course_config

    ensure_tools_on_path()
    config = course_config()

    def validate(nb, folder: Path) -> dict[str, str]:
        """grade_id -> nbgrader's error text, for every cell that failed validation."""
        path = folder / "answer.ipynb"
        nbformat.write(nb, path)
        check = CourseValidator(config=config)
        check.stream = io.StringIO()
        check.validate_and_print(str(path))
        by_source = {c.source.strip(): c.metadata.get("nbgrader", {}).get("grade_id")
                     for c in nb.cells}
        failed = {by_source.get(c["source"], c["source"][:60]): c.get("raw_error", "")
                  for c in check.results.get("failed", [])}
        for key in ("changed", "type_changed"):
            failed.update({f"{key}:{c['source'][:60]}": key for c in check.results.get(key, [])})
        return failed

    return validate


@pytest.mark.parametrize("breaker", RULE_BREAKS, ids=lambda b: b.id)
def test_an_answer_breaking_a_stated_rule_fails_validation(breaker, validator, tmp_path):
    """Does Validate fail an answer that breaks one rule the notebook states, in the test cell
    that states it, so that "Success!" never hides a point lost for that rule?"""
    nb = _learner_notebook(breaker.assignment, {breaker.cell: breaker.source})
    failed = validator(nb, tmp_path)
    assert breaker.fails in failed, (f"{breaker.rule!r}: Validate passed {breaker.fails}; "
                                     f"failed: {sorted(failed)}")


def _rounds() -> list[tuple[str, dict[str, str], list[str]]]:
    """Alternatives grouped into notebooks: one answer per cell per notebook."""
    rounds: list[tuple[str, dict[str, str], list[str]]] = []
    for alt in ALTERNATIVES:
        for name, answers, whys in rounds:
            if name == alt.assignment and alt.cell not in answers:
                answers[alt.cell] = alt.source
                whys.append(alt.why)
                break
        else:
            rounds.append((alt.assignment, {alt.cell: alt.source}, [alt.why]))
    return rounds


ROUNDS = _rounds()


@pytest.mark.parametrize("round_", ROUNDS, ids=lambda r: f"{r[0]}:{'+'.join(r[2])}")
def test_correct_answers_written_differently_pass_validation(round_, validator, tmp_path):
    """Does Validate pass every correct answer that differs from the instructor's?"""
    name, answers, whys = round_
    failed = validator(_learner_notebook(name, answers), tmp_path)
    assert not failed, f"{whys}: {failed}"


@pytest.fixture(scope="module")
def graded_alternatives(tmp_path_factory):
    """details.csv rows of one `actlab grade` run over every round of alternatives."""
    import csv

    from actlab.grading import cli
    from actlab.grading.sandbox import bwrap_available

    root = tmp_path_factory.mktemp("alternatives")
    for index, (name, answers, _) in enumerate(ROUNDS):
        folder = root / "submitted" / f"round{index}" / name
        folder.mkdir(parents=True)
        nbformat.write(_learner_notebook(name, answers), folder / f"{name}.ipynb")
    flags = [] if bwrap_available() else ["--no-sandbox"]
    code = cli.main([str(root / "submitted"), "--course", str(REPO), "--out", str(root / "out"),
                     "--workers", "2", "--quiet", "--no-gradebook", *flags])
    assert code == 0
    with open(root / "out" / "details.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.xdist_group("graded-alternatives")  # one worker grades them all, once
@pytest.mark.parametrize("index", range(len(ROUNDS)), ids=lambda i: f"{ROUNDS[i][0]}:{'+'.join(ROUNDS[i][2])}")
def test_correct_answers_written_differently_keep_every_point_when_graded(index, graded_alternatives):
    """Does `actlab grade` give every autograded point to correct answers written differently?"""
    name, _, whys = ROUNDS[index]
    rows = [r for r in graded_alternatives
            if r["student_id"] == f"round{index}" and r["assignment"] == name]
    assert rows, f"round{index} was not graded"
    lost = {r["grade_id"]: (r["score"], r["max_score"]) for r in rows
            if r["score"] != "" and float(r["score"]) < float(r["max_score"])
            and not r["grade_id"].startswith("choosing")}
    if set(lost) == {"test_custom_activation_trains"} and importlib.util.find_spec(
            "actlab.grading.judge") is None:
        # Issue 11: inside the sandbox joblib prints a warning to stderr while the network
        # trains, and nbgrader zeroes any test cell with stderr output. The judge (which scores
        # outside the kernel) fixes it; once it is installed this branch is never taken.
        pytest.xfail("issue 11: joblib's stderr line costs the training cell its points")
    assert not lost, f"{whys} lost points: {lost}"


def test_validation_settings_without_a_checkout_are_the_courses(monkeypatch, tmp_path):
    """Without the course's folder (the LMS bundle installs actlab as a wheel), does validation
    use exactly the values of nbgrader_config.py that validating depends on?"""
    from actlab import validate
    from actlab.grading.course import load_course

    course = load_course(REPO).config
    for (section, name), value in validate.VALIDATION_SETTINGS.items():
        assert course[section][name] == value, f"{section}.{name}"
    monkeypatch.setattr(validate, "REPO_ROOT", tmp_path / "site-packages")
    config = validate.course_config(tmp_path / "Downloads" / "ps1_nonlinearity.ipynb")
    for (section, name), value in validate.VALIDATION_SETTINGS.items():
        assert config[section][name] == value
    assert "ClearSolutions" not in config and "NamedStubs" not in config
