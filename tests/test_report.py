"""What grading writes (``actlab.grading.report``): grades.csv, details.csv, feedback pages,
the course gradebook."""

from __future__ import annotations

import pytest
from helpers import read_csv_rows

from actlab.grading.course import AssignmentTemplate, GradeCellInfo
from actlab.grading.job import GradeRow, JobResult, NotebookResult
from actlab.grading.report import fmt_score, write_csvs


def test_fractional_points_are_reported_as_such_not_rounded_to_whole_points(tmp_path):
    """Does a submission that earns half a point and a third of a point keep those fractions
    in grades.csv and details.csv (to six significant digits), and whole scores print bare?"""
    cells = (GradeCellInfo("nb", "half", 1.5), GradeCellInfo("nb", "third", 2.0))
    template = AssignmentTemplate("ps_frac", "course", ("nb",), cells, archive=b"")
    grades = [GradeRow("half", 0.5, 1.5, 0.5, False), GradeRow("third", 1 / 3, 2.0, 1 / 3, False)]
    result = JobResult("ada", "ps_frac", "graded", [NotebookResult("nb", "graded", grades=grades)], {})
    write_csvs([result], {"ps_frac": template}, tmp_path)

    [row] = read_csv_rows(tmp_path / "grades.csv")
    assert (row["score"], row["max_score"]) == ("0.833333", "3.5")
    details = [(r["grade_id"], r["score"], r["max_score"]) for r in read_csv_rows(tmp_path / "details.csv")]
    assert details == [("half", "0.5", "1.5"), ("third", "0.333333", "2")]
    assert [fmt_score(x) for x in (3.0, 2.5, 0.1 + 0.2, 1e-7)] == ["3", "2.5", "0.3", "0"]
