"""``actlab validate FILE``, and the promise behind it: Validate tells the truth.

The command tests run the real ``actlab validate`` in a fresh process, from a folder outside the
repository, on a notebook saved outside the repository, as a learner who downloaded the notebook
from the book's problem-set page would. The zoo (``tests/stated_rules.py``: the instructor's
answers, answers that each break one rule the notebook states, correct answers written
differently) is validated with :class:`actlab.validate.CourseValidator` (what the command and
the Lab's Validate button run: the tests judged apart from the notebook's code, as when
graded) and graded with ``actlab grade``, once per test run: each broken rule must fail in the
test cell that states it, each correct answer must pass and keep every point, and every test
cell of every zoo notebook must get the same verdict from Validate and from grading.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import answered
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
    nb = answered(NAME, answers)
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
    """Does one wrong answer make the command exit 1 and show the failing test's message first,
    then the line of the test cell that failed, and none of the grader's own frames?"""
    wrong = ("def xor_net(x):\n    x = np.asarray(x)\n"
             "    return (x[:, 0] | x[:, 1]).astype(np.int64)\n")
    proc = _validate(_filled(tmp_path, {"xor_net": wrong}), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)!" in proc.stdout
    error = proc.stdout.split("The error was:", 1)[1].strip().splitlines()
    assert error[0].strip() == "AssertionError: xor_net([1, 1]) predicted 1, XOR is 0", error
    assert 'File "<test test_xor_net>"' in proc.stdout
    assert "predicted {p}, XOR is {want}" in proc.stdout
    assert "actlab/grading" not in proc.stdout and "Traceback" not in proc.stdout


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
# Validate tells the truth: the zoo of answers, validated and graded
# --------------------------------------------------------------------------------------------


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
PROBLEM_SETS = sorted({b.assignment for b in RULE_BREAKS} | {r[0] for r in ROUNDS})

#: Every notebook of the zoo: id -> (problem set, answers that replace the instructor's).
ZOO: dict[str, tuple[str, dict[str, str]]] = {
    **{f"instructor:{name}": (name, {}) for name in PROBLEM_SETS},
    **{f"breaks:{b.id}": (b.assignment, {b.cell: b.source}) for b in RULE_BREAKS},
    **{f"alternatives:{name}:{'+'.join(whys)}": (name, answers) for name, answers, whys in ROUNDS},
}


def _test_cells(nb) -> dict[str, str]:
    """grade_id -> source of the autograded test cells of ``nb``."""
    from actlab.grading.feedback import is_test_cell

    return {c.metadata["nbgrader"]["grade_id"]: c.source.strip()
            for c in nb.cells if is_test_cell(c)}


def _printed(nb) -> dict[str, list[list[str]]]:
    """grade_id -> the outputs of each test cell of an executed ``nb``, as [type, text] pairs
    (a stream's name, or ``error``)."""
    from actlab.grading.feedback import is_test_cell

    return {c.metadata["nbgrader"]["grade_id"]: [[o.get("name", o.output_type), o.get("text", "")]
                                                  for o in c.outputs]
            for c in nb.cells if is_test_cell(c)}


def _validate_all(base: Path) -> dict[str, dict]:
    """Validate every zoo notebook in this process, as the command and the Validate button do
    (two at a time, each with its own kernel and warm judge). Per notebook: ``failed``
    (grade_id -> the error text Validate shows) and ``changed`` (cells Validate says changed)."""
    from concurrent.futures import ThreadPoolExecutor

    from actlab.grading.course import ensure_tools_on_path
    from actlab.validate import CourseValidator, course_config

    ensure_tools_on_path()
    config = course_config()

    def one(index: int, key: str) -> dict:
        name, answers = ZOO[key]
        nb = answered(name, answers)
        path = base / "validated" / f"z{index:03d}" / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        check = CourseValidator(config=config)
        check.stream = io.StringIO()
        try:
            check.validate_and_print(str(path))
        except Exception as exc:  # reported by the test that reads it
            return {"error": f"{type(exc).__name__}: {exc}", "failed": {}, "changed": []}
        by_source = {source: gid for gid, source in _test_cells(nb).items()}
        return {"failed": {by_source.get(c["source"], c["source"][:60]): c["raw_error"]
                           for c in check.results.get("failed", [])},
                "changed": [c["source"][:60] for key in ("changed", "type_changed")
                            for c in check.results.get(key, [])],
                "report": check.stream.getvalue(),
                "outputs": _printed(check.notebook) if check.notebook is not None else {}}

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(one, range(len(ZOO)), ZOO)
        return dict(zip(ZOO, done))


def _grade_all(base: Path) -> dict[str, dict]:
    """Grade every zoo notebook with one `actlab grade` run (two workers, the sandbox where
    the machine has it): notebook id -> ``scores`` ({grade_id: [score, max_score]}) and
    ``outputs`` (the autograded notebook's test cells, as :func:`_printed`)."""
    from actlab.grading import cli
    from actlab.grading.sandbox import bwrap_available

    for index, (name, answers) in enumerate(ZOO.values()):
        folder = base / "submitted" / f"z{index:03d}" / name
        folder.mkdir(parents=True)
        nbformat.write(answered(name, answers), folder / f"{name}.ipynb")
    flags = [] if bwrap_available() else ["--no-sandbox"]
    code = cli.main([str(base / "submitted"), "--course", str(REPO), "--out", str(base / "out"),
                     "--workers", "2", "--quiet", "--no-gradebook", *flags])
    assert code == 0, f"actlab grade exited {code}"
    import csv

    with open(base / "out" / "details.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    graded: dict[str, dict] = {}
    for index, (key, (name, _)) in enumerate(ZOO.items()):
        student = f"z{index:03d}"
        autograded = base / "out" / "autograded" / student / name / f"{name}.ipynb"
        graded[key] = {
            "scores": {r["grade_id"]: [float(r["score"] or 0), float(r["max_score"])]
                       for r in rows if r["student_id"] == student},
            "outputs": (_printed(nbformat.read(autograded, as_version=4))
                        if autograded.is_file() else {})}
    return graded


@pytest.fixture(scope="session")
def zoo(run_once) -> dict[str, dict]:
    """Every zoo notebook validated and graded, once per test run: id -> ``validated`` (see
    :func:`_validate_all`) and ``graded`` (grade_id -> [score, max_score])."""
    def compute(base: Path) -> dict:
        import shutil

        root = base / "validate_zoo"
        shutil.rmtree(root, ignore_errors=True)
        graded = _grade_all(root)
        validated = _validate_all(root)
        return {key: {"validated": validated[key], "graded": graded[key]} for key in ZOO}

    return run_once("validate_zoo", compute)


@pytest.mark.parametrize("name", PROBLEM_SETS)
def test_the_instructors_answers_pass_validation(name, zoo):
    """Does Validate, judging as grading does, pass every problem set answered with the
    instructor's own answers?"""
    validated = zoo[f"instructor:{name}"]["validated"]
    assert not validated.get("error") and not validated["changed"], validated
    assert not validated["failed"], validated["failed"]
    assert "Success! Your notebook passes all the tests." in validated["report"]


@pytest.mark.parametrize("name", PROBLEM_SETS)
def test_a_passing_test_cell_shows_its_one_line_when_validated_and_graded(name, zoo):
    """The judge runs the test cells, so their print reaches the notebook from the judge's
    stdout: does every passing test cell of the instructor's answers carry its one course line
    (``✓ sigmoid: 6 checks passed``), and nothing on stderr, in Validate's run and in the
    autograded notebook?"""
    for where in ("validated", "graded"):
        outputs = zoo[f"instructor:{name}"][where]["outputs"]
        assert outputs, f"no test cell outputs from {where}"
        for gid, shown in outputs.items():
            assert all(kind == "stdout" for kind, _ in shown), (where, gid, shown)
            lines = "".join(text for _, text in shown).splitlines()
            course = [line for line in lines if line.startswith("✓ ")]
            assert len(course) == 1, (where, gid, lines)
            assert lines[-1] == f"{gid}: passed", (where, gid, lines)


@pytest.mark.parametrize("breaker", RULE_BREAKS, ids=lambda b: b.id)
def test_an_answer_breaking_a_stated_rule_fails_validation(breaker, zoo):
    """Does Validate fail an answer that breaks one rule the notebook states, in the test cell
    that states it (with the message the learner needs), so that "Success!" never hides a point
    lost for that rule?"""
    validated = zoo[f"breaks:{breaker.id}"]["validated"]
    assert not validated.get("error"), validated["error"]
    failed = validated["failed"]
    assert breaker.fails in failed, (f"{breaker.rule!r}: Validate passed {breaker.fails}; "
                                     f"failed: {sorted(failed)}")
    # The course's message first (the exception as the test raised it), never a traceback.
    assert re.match(r"[A-Za-z]+: \S", failed[breaker.fails]), failed[breaker.fails]
    # Validate wraps long lines of the message to the report's width.
    message = failed[breaker.fails]
    assert " ".join(breaker.says.split()) in " ".join(message.split()), message


@pytest.mark.parametrize("round_", ROUNDS, ids=lambda r: f"{r[0]}:{'+'.join(r[2])}")
def test_correct_answers_written_differently_pass_validation(round_, zoo):
    """Does Validate pass every correct answer that differs from the instructor's?"""
    name, _, whys = round_
    validated = zoo[f"alternatives:{name}:{'+'.join(whys)}"]["validated"]
    assert not validated.get("error") and not validated["changed"], validated
    assert not validated["failed"], f"{whys}: {validated['failed']}"


@pytest.mark.parametrize("round_", ROUNDS, ids=lambda r: f"{r[0]}:{'+'.join(r[2])}")
def test_correct_answers_written_differently_keep_every_point_when_graded(round_, zoo):
    """Does `actlab grade` give every autograded point to correct answers written differently?"""
    name, _, whys = round_
    graded = zoo[f"alternatives:{name}:{'+'.join(whys)}"]["graded"]["scores"]
    assert graded, "not graded"
    lost = {gid: score for gid, score in graded.items()
            if gid in _test_cells(answered(name, {})) and score[0] < score[1]}
    assert not lost, f"{whys} lost points: {lost}"


@pytest.mark.parametrize("key", list(ZOO))
def test_validate_and_grading_give_every_test_cell_the_same_verdict(key, zoo):
    """For every notebook of the zoo (the instructor's answers, each broken rule, each round of
    alternatives), does each test cell pass Validate exactly when it keeps all its points
    under `actlab grade`?"""
    name, _ = ZOO[key]
    validated, graded = zoo[key]["validated"], zoo[key]["graded"]["scores"]
    assert not validated.get("error") and not validated["changed"], validated
    tests = _test_cells(answered(name, {}))
    assert set(tests) <= set(graded), f"not graded: {sorted(set(tests) - set(graded))}"
    fails_validate = {gid for gid in tests if gid in validated["failed"]}
    loses_points = {gid for gid in tests if graded[gid][0] < graded[gid][1]}
    assert fails_validate == loses_points, {
        "fail Validate, keep their points": sorted(fails_validate - loses_points),
        "pass Validate, lose points": sorted(loses_points - fails_validate)}


def test_a_failure_says_the_message_first_then_why_a_name_is_missing_then_where():
    """On an executed notebook, does each failing test's text start with its exception and
    message, explain a missing name by the test cell that binds it (before any failed cell
    above) or else by the refused import above, keep every line within the report's width,
    and end with the test's frames?"""
    from helpers import nbgrader_cell

    from actlab.validate import explain_failures

    def error(ename, evalue, frames=()):
        return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[
            "Traceback (most recent call last):", *frames, f"{ename}: {evalue}"])

    answer = nbgrader_cell("from actlab.activations import sigmoid", "sigmoid", solution=True)
    refused = ("actlab.activations is not available in this problem set: write this yourself "
               "instead of calling the course's reference (allowed here: no actlab module).")
    answer.outputs = [error("ImportError", refused)]
    uses_expit = nbgrader_cell("from scipy.special import expit\nassert f(1) == expit(1)", "test_f",
                               grade=True, points=1)
    uses_expit.outputs = [error(
        "NameError", "name 'expit' is not defined",
        ['  File "<test test_f>", line 2, in <module>\n    assert f(1) == expit(1)'])]
    needs_sigmoid = nbgrader_cell("assert sigmoid(0) == 0.5", "test_sigmoid", grade=True, points=1)
    needs_sigmoid.outputs = [error("NameError", "name 'sigmoid' is not defined")]
    passes = nbgrader_cell("assert True", "test_ok", grade=True, points=1)
    passes.outputs = [nbformat.v4.new_output("stream", name="stdout", text="test_ok: passed\n")]
    nb = nbformat.v4.new_notebook(cells=[answer, uses_expit, needs_sigmoid, passes])
    explained = explain_failures(nb, width=60)
    assert set(explained) == {"test_f", "test_sigmoid"}
    expit_text = explained["test_f"].splitlines()
    assert expit_text[0] == "NameError: name 'expit' is not defined"
    assert "exists only because a test cell imports" in " ".join(expit_text)
    assert "cell above" not in " ".join(expit_text) and "course module" not in " ".join(expit_text)
    assert expit_text[-2:] == ['  File "<test test_f>", line 2, in <module>',
                               "    assert f(1) == expit(1)"]
    sigmoid_text = explained["test_sigmoid"].splitlines()
    assert sigmoid_text[0] == "NameError: name 'sigmoid' is not defined"
    assert " ".join(refused.split()) in " ".join(" ".join(sigmoid_text).split())
    assert sigmoid_text[1].startswith("Your code imports a course module")
    assert all(len(line) <= 60 for text in explained.values() for line in text.splitlines())


def test_only_names_a_test_cell_binds_at_its_top_level_are_blamed_on_the_tests():
    """Is a missing name explained as a test cell's when the cell binds it at its top level
    (in a block, after a lambda too), and not when it is local to a function there?"""
    from helpers import nbgrader_cell

    from actlab.validate import explain_failures

    setup = nbgrader_cell("with np.errstate(all='ignore'):\n    check = lambda v: v\n"
                          "    tol = 1e-6\ndef helper():\n    scale = 2",
                          "test_setup", grade=True, points=1)
    failing = {}
    for name in ("tol", "scale"):
        cell = nbgrader_cell(f"assert f() < {name}", f"test_{name}", grade=True, points=1)
        cell.outputs = [nbformat.v4.new_output(
            "error", ename="NameError", evalue=f"name '{name}' is not defined",
            traceback=[f"NameError: name '{name}' is not defined"])]
        failing[name] = cell
    explained = explain_failures(nbformat.v4.new_notebook(cells=[setup, *failing.values()]))
    assert "exists only because a test cell" in explained["test_tol"]
    assert "exists only because a test cell" not in explained["test_scale"]


def test_validate_and_grading_tell_the_kernel_which_of_them_runs_it():
    """Does Validate's execution give the kernel NBGRADER_EXECUTION='validate', and grading's
    'autograde', as nbgrader's Validator and autograder do?"""
    from actlab.grading.sandbox import SandboxedExecute
    from actlab.validate import JudgedExecute

    cell = "import os; print(os.environ.get('NBGRADER_EXECUTION'))"
    for execute, expected in ((JudgedExecute(), "validate"),
                              (SandboxedExecute(use_sandbox=False), "autograde")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
        out, resources = execute.preprocess(nb, {})
        assert resources["actlab"]["sandbox"]["status"] == "ok"
        assert out.cells[0].outputs[0]["text"] == f"{expected}\n"


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
