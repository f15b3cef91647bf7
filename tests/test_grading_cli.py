"""`actlab grade` end to end on a small course built in a temporary folder.

One module-level run grades six students (correct, partial, blank, wrong answer, broken
JSON, nothing handed in) through the real CLI entry point; the tests then ask questions
of the files it wrote. Runs under the bubblewrap sandbox when the machine has it.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DEMO_ASSIGNMENT, demo_submission, write_demo_course

from actlab.grading import cli
from actlab.grading.course import load_course, unpack_folder

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_cli")]

REPO = Path(__file__).resolve().parents[1]
A = DEMO_ASSIGNMENT
# student -> what they hand in; None: no folder at all.
STUDENTS = {"ada": "correct", "ben": "partial", "cy": "blank", "dee": "wrong",
            "eve": "broken", "fay": None, "gus": "symlink"}
EXPECTED = {  # student -> (score, status); max_score is 3 (1 + 2 points)
    "ada": ("3", "graded"), "ben": ("1", "graded"), "cy": ("0", "graded"),
    "dee": ("0", "graded"), "eve": ("0", "quarantined"), "fay": ("0", "missing"),
    "gus": ("0", "quarantined"),
}


def _sandbox_flag() -> list[str]:
    try:
        from actlab.grading.sandbox import bwrap_available
    except ImportError:
        return ["--no-sandbox"]
    return [] if bwrap_available() else ["--no-sandbox"]


def make_course(root: Path, students: dict):
    """A demo course under ``root`` and a submitted folder holding ``students``; returns
    (course folder, submitted folder, the assignment's template)."""
    course = write_demo_course(root / "course")
    template = load_course(course).build_template(A)
    release = root / "release"
    unpack_folder(template.archive, release)
    release_nb = release / "release" / A / f"{A}.ipynb"
    submitted = root / "submitted"
    submitted.mkdir()
    for student, kind in students.items():
        folder = submitted / student
        if kind is None:
            folder.mkdir()
            continue
        (folder / A).mkdir(parents=True)
        target = folder / A / f"{A}.ipynb"
        if kind == "symlink":  # points at the instructor's notebook, answers and all
            target.symlink_to(course / "source" / A / f"{A}.ipynb")
            continue
        data = b'{"cells": [ this is not JSON' if kind == "broken" else demo_submission(release_nb, kind)
        target.write_bytes(data)
    return course, submitted, template


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, submitted, out, exit code) of one full `actlab grade` run."""
    root = tmp_path_factory.mktemp("grade_cli")
    course, submitted, _ = make_course(root, STUDENTS)
    out = root / "out"
    code = cli.main([str(submitted), "--course", str(course), "--out", str(out),
                     "--workers", "2", "--quiet", *_sandbox_flag()])
    return course, submitted, out, code


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_grading_a_folder_with_broken_and_missing_work_exits_zero(graded):
    """Does the batch finish with exit status 0 when some submissions are broken or missing?"""
    assert graded[3] == 0


def test_every_student_gets_the_expected_score_and_status(graded):
    """Do correct, partial, blank, wrong, broken-JSON and missing submissions get the right score and status?"""
    rows = _rows(graded[2] / "grades.csv")
    assert list(rows[0]) == ["student_id", "assignment", "score", "max_score", "status"]
    got = {r["student_id"]: (r["score"], r["status"]) for r in rows}
    assert got == EXPECTED
    assert {r["assignment"] for r in rows} == {A}
    assert {r["max_score"] for r in rows} == {"3"}


def test_a_notebook_symlinked_to_the_answer_key_is_refused_unread(graded):
    """Is a submitted notebook that is a symlink (here to the instructor's copy) quarantined, not graded?"""
    rows = {r["student_id"]: r for r in _rows(graded[2] / "grades.csv")}
    assert rows["gus"]["status"] == "quarantined" and rows["gus"]["score"] == "0"
    page = (graded[2] / "feedback" / "gus" / A / f"{A}.html").read_text()
    assert "symbolic link" in page


def test_details_csv_scores_each_graded_cell_in_notebook_order(graded):
    """Does details.csv give every graded cell of every submission its own score, in notebook order?"""
    rows = _rows(graded[2] / "details.csv")
    assert list(rows[0]) == ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]
    by_student = {}
    for r in rows:
        by_student.setdefault(r["student_id"], []).append((r["grade_id"], r["score"], r["max_score"]))
    assert by_student["ada"] == [("test_leaky_positive", "1", "1"), ("test_leaky_negative", "2", "2")]
    # max(x, 0) is right for positive inputs only
    assert by_student["ben"] == [("test_leaky_positive", "1", "1"), ("test_leaky_negative", "0", "2")]
    assert sorted(by_student) == sorted(STUDENTS)
    assert all(len(cells) == 2 for cells in by_student.values())


def test_feedback_html_exists_for_every_student_and_assignment(graded):
    """Is there a feedback page per student and assignment, nbgrader's own for graded work?"""
    out = graded[2]
    for student in STUDENTS:
        page = out / "feedback" / student / A / f"{A}.html"
        assert page.is_file(), page
    ada = (out / "feedback" / "ada" / A / f"{A}.html").read_text()
    assert "test_leaky_negative" in ada and "<html" in ada.lower()
    eve = (out / "feedback" / "eve" / A / f"{A}.html").read_text()
    assert "quarantined" in eve


@pytest.mark.parametrize("with_image", [False, True])
def test_fast_feedback_exporter_renders_what_nbconvert_renders(with_image):
    """Is our feedback page nbconvert's HTMLExporter page, differing at most in HTML serialisation?"""
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from actlab.grading.job import _feedback_exporter

    fast = _feedback_exporter()
    stock = HTMLExporter(config=fast.config)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Leaky ReLU\nWrite `leaky`."),
        nbformat.v4.new_code_cell("assert leaky(2.0) == 2.0", outputs=[
            nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["boom"])]),
    ])
    if with_image:  # a 1x1 PNG output: the case where nbconvert adds alt text
        png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        nb.cells.append(nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png})]))
    resources = {"nbgrader": {"score": 1.0, "max_score": 3.0, "late_penalty": 0, "notebook": "demo"}}
    ours, _ = fast.from_notebook_node(nb, resources=dict(resources))
    theirs, _ = stock.from_notebook_node(nb, resources=dict(resources))
    assert str(BeautifulSoup(ours, "html.parser")) == theirs
    assert ("No description has been provided" in ours) == with_image


def test_scores_are_recorded_in_the_course_gradebook(graded):
    """Does the parent record each score in the course's nbgrader gradebook, as autograde would?"""
    from nbgrader.api import Gradebook, MissingEntry

    course = load_course(graded[0])
    with Gradebook(course.db_url, course.course_id) as gb:
        scores = {s: gb.find_submission(A, s).score for s in ("ada", "ben", "cy", "eve")}
        assert gb.find_submission(A, "ada").needs_manual_grade is False
        with pytest.raises(MissingEntry):
            gb.find_submission(A, "fay")  # handed nothing in: no submission, as in nbgrader
    assert scores == {"ada": 3.0, "ben": 1.0, "cy": 0.0, "eve": 0.0}


def test_regrading_the_same_folder_gives_identical_csvs(graded, tmp_path):
    """Does grading the same folder again write byte-identical CSVs?"""
    course, submitted, out, _ = graded
    again = tmp_path / "again"
    code = cli.main([str(submitted), "--course", str(course), "--out", str(again),
                     "--workers", "2", "--quiet", "--no-gradebook", *_sandbox_flag()])
    assert code == 0
    for name in ("grades.csv", "details.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_a_25_mib_notebook_is_refused_where_it_is_first_seen_with_intakes_reason(tmp_path):
    """Is a 25 MiB notebook (over the one notebook cap, intake.MAX_NOTEBOOK_BYTES) quarantined
    before it is read or sent to a worker, with the reason intake itself gives?"""
    from actlab.grading.intake import MAX_NOTEBOOK_BYTES, IntakeError, load_checked

    course = write_demo_course(tmp_path / "course")
    huge = tmp_path / "submitted" / "hal" / A / f"{A}.ipynb"
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as fh:
        fh.truncate(25 * 2**20)  # sparse: 25 MiB on paper, nothing on disk
    assert 20 * 2**20 == MAX_NOTEBOOK_BYTES < huge.stat().st_size
    run = cli.grade(tmp_path / "submitted", course_root=course, out=tmp_path / "out",
                    sandbox=False, gradebook=False, progress=False)
    [result] = run.results
    with pytest.raises(IntakeError) as intake_says:
        load_checked(huge)
    assert str(intake_says.value) == "file too large (25 MiB > 20 MiB)"
    assert (result.status, result.notebooks[0].reason) == ("quarantined", str(intake_says.value))
    assert result.timings == {} and result.worker == ""  # no job ever ran for it
    page = (tmp_path / "out" / "feedback" / "hal" / A / f"{A}.html").read_text()
    assert "file too large (25 MiB &gt; 20 MiB)" in page


def test_missing_submitted_folder_is_a_usage_error(tmp_path, capsys):
    """Does a submitted folder that does not exist give exit status 2 and a one-line reason?"""
    course = write_demo_course(tmp_path / "course")
    code = cli.main([str(tmp_path / "nope"), "--course", str(course), "--no-sandbox"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_assignment_is_a_usage_error_naming_the_valid_ones(tmp_path, capsys):
    """Does --assignment with a name the course lacks give exit status 2 and list valid names?"""
    course = write_demo_course(tmp_path / "course")
    (tmp_path / "sub").mkdir()
    code = cli.main([str(tmp_path / "sub"), "--course", str(course), "--assignment", "ps9", "--no-sandbox"])
    assert code == 2
    err = capsys.readouterr().err
    assert "ps9" in err and A in err


@pytest.mark.parametrize("args", [["--workers", "0"], ["--scheduler", "localhost:8786"], ["--bogus"]])
def test_bad_options_are_usage_errors(tmp_path, args):
    """Do a zero worker count, a scheduler without a scheme and an unknown option exit with 2?"""
    course = write_demo_course(tmp_path / "course")
    (tmp_path / "sub").mkdir()
    assert cli.main([str(tmp_path / "sub"), "--course", str(course), "--no-sandbox", *args]) == 2


def test_in_process_alembic_head_matches_nbgrader_command(tmp_path):
    """Is the schema version we stamp into new gradebooks the one `alembic heads` gives nbgrader?"""
    import nbgrader
    from actlab.grading.course import _alembic_head

    ini = (Path(nbgrader.__file__).parent / "alembic.ini").read_text()
    ini = ini.replace("{alembic_dir}", str(Path(nbgrader.__file__).parent / "alembic"))
    ini = ini.replace("{db_url}", f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "alembic.ini").write_text(ini)
    alembic = Path(sys.executable).parent / "alembic"
    out = subprocess.run([str(alembic), "-c", str(tmp_path / "alembic.ini"), "heads"],
                         capture_output=True, text=True, check=True).stdout
    assert _alembic_head() == out.split()[0]


def test_problem_set_one_solution_scores_full_marks_and_its_release_scores_zero(tmp_path):
    """Graded against the real ps1, does the instructor's notebook get full marks and the blank release 0?"""
    name = "ps1_nonlinearity"
    template = load_course(REPO).build_template(name)
    unpack_folder(template.archive, tmp_path / "tpl")
    submitted = tmp_path / "submitted"
    for student, source in [("instructor", tmp_path / "tpl" / "source"),
                            ("blank", tmp_path / "tpl" / "release")]:
        (submitted / student / name).mkdir(parents=True)
        nb = source / name / f"{name}.ipynb"
        (submitted / student / name / f"{name}.ipynb").write_bytes(nb.read_bytes())
    out = tmp_path / "out"
    code = cli.main([str(submitted), "--course", str(REPO), "--out", str(out), "--workers", "2",
                     "--quiet", "--no-gradebook", *_sandbox_flag()])
    assert code == 0
    rows = {r["student_id"]: r for r in _rows(out / "grades.csv")}
    assert float(rows["instructor"]["max_score"]) == template.max_score > 0
    assert rows["instructor"]["status"] == "graded"
    assert float(rows["instructor"]["score"]) == template.max_score
    assert float(rows["blank"]["score"]) == 0.0
