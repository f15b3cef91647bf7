"""Feedback never shows a hidden test (``actlab.grading.feedback``).

One submission of problem set 2 that fails only a hidden test is graded with ``actlab
grade`` in a copy of the course (the repository's own ``nbgrader_config.py``); then the
real ``nbgrader generate_feedback`` renders the autograded notebook as formgrader would.
Both feedback pages must name the test, show its points and failure message, and show no
hidden line and no traceback; the instructor's autograded notebook keeps the traceback.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from helpers import answered, nbgrader_cell

from actlab.grading import feedback
from actlab.grading.sandbox import bwrap_available

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("feedback")]

REPO = Path(__file__).resolve().parents[1]
NAME = "ps2_saturation"
STUDENT = "hidden_fail"
# Passes every visible check of saturated_fraction (they use the default tol and tol=1.0);
# a hidden test tries other tolerances.
ONLY_SOME_TOLERANCES = '''def saturated_fraction(z, grad_fn, tol=1e-3):
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        raise ValueError("empty")
    if tol not in (1e-3, 1.0):
        tol = 1e-3
    return float(np.mean(np.asarray(grad_fn(z)) < tol))
'''
MESSAGE = "wrong fraction with tol=0.01"


def _hidden_names(nb) -> set[str]:
    """Identifiers that only hidden tests use (``_z``, ``_tol`` ...)."""
    hidden, visible = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            else:
                (hidden if inside else visible).update(re.findall(r"\b_[a-z]\w*", line))
    return hidden - visible


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from actlab.grading.cli import grade

    course = tmp_path_factory.mktemp("feedback") / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / NAME, course / "solutions" / NAME)
    nb = answered(NAME, {"saturated_fraction": ONLY_SOME_TOLERANCES})
    folder = course / "submitted" / STUDENT / NAME
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{NAME}.ipynb")
    out = course / "grading-work" / "grades"
    with warnings.catch_warnings():
        # nbgrader's own session handling trips SQLAlchemy's autoflush warnings; not ours.
        warnings.simplefilter("ignore")
        grade(course / "submitted", course_root=course, out=out, workers=1,
              sandbox=bwrap_available(), progress=False)
    env = dict(os.environ,
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", NAME,
                           "--student", STUDENT], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)
    source = nbformat.read(REPO / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    return {"course": course, "out": out, "proc": proc, "hidden": _hidden_names(source)}


def _pages(graded) -> dict[str, str]:
    nbgrader_page = graded["course"] / "grading-work" / "feedback" / STUDENT / NAME / f"{NAME}.html"
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    return {"actlab grade":
            (graded["out"] / "feedback" / STUDENT / NAME / f"{NAME}.html").read_text(),
            "nbgrader generate_feedback": nbgrader_page.read_text()}


@pytest.mark.parametrize("which", ["actlab grade", "nbgrader generate_feedback"])
def test_feedback_shows_the_failing_test_and_its_message_but_no_hidden_line(graded, which):
    """Does the student's feedback page name the failed test with its score and message,
    while no identifier of the hidden tests and no traceback appears anywhere in it?"""
    page = _pages(graded)[which]
    text = html.unescape(page)
    assert "test_saturated_fraction" in text and "Score: 0.0 / 2.0" in text
    assert MESSAGE in text
    assert graded["hidden"], "the notebook has hidden tests to look for"
    leaked = sorted(name for name in graded["hidden"] if re.search(rf"\b{name}\b", text))
    assert leaked == [], leaked
    assert "most recent call last" not in text and "<test test_" not in text
    assert "BEGIN HIDDEN TESTS" not in text


def test_the_instructors_autograded_copy_keeps_the_traceback(graded):
    """Does the autograded notebook (the instructor's) keep the failing test's traceback,
    hidden line included, and details.csv give the reason?"""
    # Where the course's config puts it, so that nbgrader's own commands find it.
    autograded = graded["course"] / "grading-work" / "autograded" / STUDENT / NAME / f"{NAME}.ipynb"
    nb = nbformat.read(autograded, as_version=4)
    cell = next(c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "test_saturated_fraction")
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert "_tol" in "\n".join(error.traceback)
    with open(graded["out"] / "details.csv", newline="") as fh:
        rows = {r["grade_id"]: r for r in csv.DictReader(fh)}
    assert rows["test_saturated_fraction"]["score"] == "0"
    assert MESSAGE in rows["test_saturated_fraction"]["reason"]
    assert rows["test_sigmoid"]["score"] == "3" and rows["test_sigmoid"]["reason"] == ""


def test_hide_test_details_keeps_one_verdict_per_test_cell():
    """On a notebook with a passed and a failed test cell (with prints and a traceback),
    does HideTestDetails keep exactly the verdict line and the error without traceback, and
    leave other cells' outputs alone?"""
    
    passed = nbgrader_cell("x", "t_pass", grade=True, points=1)
    passed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="printed by the test\n"),
                      nbformat.v4.new_output("stream", name="stdout", text="t_pass: passed\n")]
    failed = nbgrader_cell("y", "t_fail", grade=True, points=1)
    failed.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="x" * 900,
                                             traceback=["Traceback ...", "secret_hidden_line()"])]
    student = nbformat.v4.new_code_cell("print(1)")
    student.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="mine",
                                              traceback=["my own traceback"])]
    nb = feedback.student_copy(nbformat.v4.new_notebook(cells=[passed, failed, student]))
    assert [o.text for o in nb.cells[0].outputs] == ["t_pass: passed\n"]
    (error,) = nb.cells[1].outputs
    assert len(error.evalue) <= feedback.MAX_MESSAGE_CHARS + 3
    assert error.traceback == [f"AssertionError: {error.evalue}"]
    assert nb.cells[2].outputs[0].traceback == ["my own traceback"]


def test_a_missing_name_cites_the_error_of_the_cell_above():
    """When a test fails because a name is missing, does its reason cite the last error of
    the notebook's own cells above (here a refused import), marked as a delegation?"""
    answer = nbformat.v4.new_code_cell("from actlab.activations import tanh_grad")
    answer.outputs = [nbformat.v4.new_output(
        "error", ename="ImportError", traceback=[],
        evalue="actlab.activations is not available in this problem set")]
    test = nbgrader_cell("tanh_grad(1)", "test_tanh_grad", grade=True, points=2)
    test.outputs = [nbformat.v4.new_output("error", ename="NameError", traceback=[],
                                           evalue="name 'tanh_grad' is not defined")]
    other = nbgrader_cell("f(1)", "test_other", grade=True, points=1)
    other.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong",
                                            traceback=[])]
    reasons = feedback.test_reasons(nbformat.v4.new_notebook(cells=[answer, test, other]))
    assert reasons["test_tanh_grad"] == (
        "uses a course reference this problem set does not allow: NameError: name 'tanh_grad' is "
        "not defined (a cell above failed: ImportError: actlab.activations is not available in "
        "this problem set)")
    assert reasons["test_other"] == "AssertionError: wrong"
