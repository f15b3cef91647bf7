"""What grading writes (``actlab.grading.report``): grades.csv, details.csv, feedback pages,
the course gradebook.

Most questions are asked of the files that one ``actlab grade`` run over the demo class wrote
(conftest's ``graded_demo``); the fractional-points test writes reports from records alone.
"""

from __future__ import annotations

import pytest
from helpers import DEMO_ASSIGNMENT, DEMO_STUDENTS, read_csv_rows, sandbox_flag

from actlab.grading import cli
from actlab.grading.course import AssignmentTemplate, GradeCellInfo, load_course
from actlab.grading.job import GradeRow, JobResult, NotebookResult
from actlab.grading.report import fmt_score, write_csvs

A = DEMO_ASSIGNMENT


def test_fractional_points_are_reported_as_such_not_rounded_to_whole_points(tmp_path):
    """Does a submission that earns half a point and a third of a point keep those fractions
    in grades.csv and details.csv (to six significant digits), and whole scores print bare?"""
    cells = (GradeCellInfo("nb", "half", 1.5), GradeCellInfo("nb", "third", 2.0))
    template = AssignmentTemplate("ps_frac", "course", ("nb",), cells, archive=b"")
    grades = [GradeRow("half", 0.5, 1.5, 0.5, False), GradeRow("third", 1 / 3, 2.0, 1 / 3, False)]
    result = JobResult("ada", "ps_frac", "graded", [NotebookResult("nb", "graded", grades=grades)],
                       {})
    write_csvs([result], {"ps_frac": template}, tmp_path)

    [row] = read_csv_rows(tmp_path / "grades.csv")
    assert (row["score"], row["max_score"]) == ("0.833333", "3.5")
    details = [(r["grade_id"], r["score"],
                r["max_score"]) for r in read_csv_rows(tmp_path / "details.csv")]
    assert details == [("half", "0.5", "1.5"), ("third", "0.333333", "2")]
    assert [fmt_score(x) for x in (3.0, 2.5, 0.1 + 0.2, 1e-7)] == ["3", "2.5", "0.3", "0"]


@pytest.mark.grading
@pytest.mark.xdist_group("grading_cli")
def test_details_csv_scores_each_graded_cell_in_notebook_order(graded_demo):
    """Does details.csv give every graded cell of every submission its own score, in notebook
    order?"""
    rows = read_csv_rows(graded_demo.out / "details.csv")
    assert list(rows[0]) == ["student_id", "assignment", "notebook", "grade_id", "score",
                             "max_score",
                             "reason"]
    by_student = {}
    for r in rows:
        by_student.setdefault(r["student_id"],
                              []).append((r["grade_id"], r["score"], r["max_score"]))
    assert by_student["ada"] == [("test_leaky_positive", "1", "1"),
                                 ("test_leaky_negative", "2", "2")]
    # max(x, 0) is right for positive inputs only
    assert by_student["ben"] == [("test_leaky_positive", "1", "1"),
                                 ("test_leaky_negative", "0", "2")]
    assert sorted(by_student) == sorted(DEMO_STUDENTS)
    assert all(len(cells) == 2 for cells in by_student.values())


@pytest.mark.grading
@pytest.mark.xdist_group("grading_cli")
def test_feedback_html_exists_for_every_student_and_assignment(graded_demo):
    """Is there a feedback page per student and assignment, nbgrader's own for graded work?"""
    out = graded_demo.out
    for student in DEMO_STUDENTS:
        page = out / "feedback" / student / A / f"{A}.html"
        assert page.is_file(), page
    ada = (out / "feedback" / "ada" / A / f"{A}.html").read_text()
    assert "test_leaky_negative" in ada and "<html" in ada.lower()
    eve = (out / "feedback" / "eve" / A / f"{A}.html").read_text()
    assert "quarantined" in eve


@pytest.mark.grading
@pytest.mark.xdist_group("grading_cli")
def test_scores_are_recorded_in_the_course_gradebook(graded_demo):
    """Does the parent record each score in the course's nbgrader gradebook, as autograde would?"""
    from nbgrader.api import Gradebook, MissingEntry

    course = load_course(graded_demo.course)
    with Gradebook(course.db_url, course.course_id) as gb:
        scores = {s: gb.find_submission(A, s).score for s in ("ada", "ben", "cy", "eve")}
        assert gb.find_submission(A, "ada").needs_manual_grade is False
        with pytest.raises(MissingEntry):
            gb.find_submission(A, "fay")  # handed nothing in: no submission, as in nbgrader
    assert scores == {"ada": 3.0, "ben": 1.0, "cy": 0.0, "eve": 0.0}


@pytest.mark.grading
@pytest.mark.xdist_group("grading_cli")
def test_regrading_the_same_folder_gives_identical_csvs(graded_demo, tmp_path):
    """Does grading the same folder again write byte-identical CSVs?"""
    course, submitted, out = graded_demo.course, graded_demo.submitted, graded_demo.out
    again = tmp_path / "again"
    code = cli.main([str(submitted), "--course", str(course), "--out", str(again),
                     "--workers", "2", "--quiet", "--no-gradebook", *sandbox_flag()])
    assert code == 0
    for name in ("grades.csv", "details.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
