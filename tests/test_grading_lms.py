"""From an LMS download to the LMS's import file: collect, grade, fill in the LMS's own export.

One module-level run collects a Canvas download (built here as Canvas writes it), grades it
with ``--lms canvas --lms-template`` (a Canvas gradebook export, also built here) and a roster,
then regrades after one student's notebook changed. Moodle's worksheet and feedback zip are
checked on the same kind of rows without a second grading run.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from helpers import DEMO_ASSIGNMENT, demo_submission
from helpers import make_course, sandbox_flag

from actlab.grading import cli
from actlab.grading import collect as col
from actlab.grading.course import load_course
from actlab.grading.lms import HandBackError, hand_back, read_roster
from actlab.grading.report import SubmissionGrade

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_lms")]

A = DEMO_ASSIGNMENT
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (777)",
                 "Essay 1 (778)", "Current Score", "Unposted Current Score", "Final Score"]
CANVAS_ROWS = [
    ["    Points Possible", "", "", "", "", "6.00", "10.00", "(read only)", "(read only)",
     "(read only)"],
    ["Smith, John", "1001", "S1001", "jsmith", "Section A", "", "9.00", "90", "90", "90"],
    ["Lee, Ann", "1002", "S1002", "alee", "Section A", "", "7.00", "70", "70", "70"],
    ["Nobook, Nat", "1005", "S1005", "nnobook", "Section B", "", "5.00", "50", "50", "50"],
    ["Twice, Tom", "1006", "S1006", "ttwice", "Section B", "", "", "", "", ""],
    ["Absent, Al", "1009", "S1009", "aabsent", "Section B", "", "8.00", "80", "80", "80"],
]
ROSTER = [("id", "name", "email"), ("1001", "John Smith", "john@example.org"),
          ("1002", "Ann Lee", "ann@example.org"), ("1005", "Nat Nobook", "nat@example.org")]


def _csv(path: Path, rows, bom=False) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _canvas_zip(path: Path, release_nb: Path, answers: dict[str, str]) -> Path:
    """A Canvas bulk download: John's correct notebook under a name of his own, Ann's three
    uploads (late; the last one is `answers['ann']`), a PDF, two notebooks."""
    files = {
        "smithjohn_1001_5001_my final version.ipynb": demo_submission(release_nb, "correct"),
        "leeann_LATE_1002_5002_ps0_demo.ipynb": demo_submission(release_nb, "wrong"),
        "leeann_LATE_1002_5003_ps0_demo-1.ipynb": demo_submission(release_nb, "wrong"),
        "leeann_LATE_1002_5004_ps0_demo-2.ipynb": demo_submission(release_nb, answers["ann"]),
        "nobooknat_1005_5007_report.pdf": b"%PDF-1.4",
        "twicetom_1006_5008_a.ipynb": demo_submission(release_nb, "correct"),
        "twicetom_1006_5009_b.ipynb": demo_submission(release_nb, "partial"),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _grade(course, submitted, out, *extra) -> int:
    return cli.main([str(submitted), "--course", str(course), "--out", str(out), "--workers", "2",
                     "--quiet", "--lms", "canvas", "--lms-template",
                     str(out.parent / "gradebook.csv"),
                     "--roster", str(out.parent / "roster.csv"), *sandbox_flag(), *extra])


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """Collect, grade, give a score by hand, change Ann's upload, collect again, regrade.

    Returns a dict of the folders and the exit codes."""
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("lms_loop")
    course, _, _ = make_course(root, {})
    release_nb = root / "release" / "release" / A / f"{A}.ipynb"
    _csv(root / "gradebook.csv", [CANVAS_HEADER, *CANVAS_ROWS], bom=True)
    _csv(root / "roster.csv", ROSTER)
    submitted = root / "submitted"
    codes = {"collect": col.main([str(_canvas_zip(root / "dl1.zip", release_nb,
                                                  {"ann": "partial"})),
                                  "--lms", "canvas", "--assignment", A, "--into", str(submitted),
                                  "--course", str(course), "--quiet"])}
    first = root / "first"
    codes["grade"] = _grade(course, submitted, first)

    # The instructor overrides one autograded cell by hand in formgrader.
    loaded = load_course(course)
    with Gradebook(loaded.db_url, loaded.course_id) as gb:
        gb.find_grade("test_leaky_positive", A, A, "1002").manual_score = 0.5
        gb.db.commit()
    # Ann uploads a corrected notebook; the class is downloaded, collected and graded again.
    codes["recollect"] = col.main([str(_canvas_zip(root / "dl2.zip", release_nb,
                                                   {"ann": "correct"})),
                                   "--lms", "canvas", "--assignment", A, "--into", str(submitted),
                                   "--course", str(course), "--quiet", "--force"])
    second = root / "second"
    codes["regrade"] = _grade(course, submitted, second)
    return {"course": course, "submitted": submitted, "first": first, "second": second,
            "codes": codes}


def test_the_loop_runs_with_exit_status_zero(loop):
    """Do collect, grade, collect --force and the regrade all exit with 0?"""
    assert loop["codes"] == {"collect": 0, "grade": 0, "recollect": 0, "regrade": 0}


def test_grades_csv_has_a_row_for_every_download_with_late_and_roster_columns(loop):
    """Does grades.csv give the PDF-only and the two-notebook downloads their own statuses, mark
    Ann late, and carry the roster's names and e-mails?"""
    with open(loop["first"] / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(rows.values()))) == ["student_id", "assignment", "score", "max_score",
                                               "status", "late", "name", "email"]
    got = {s: (r["score"], r["status"], r["late"], r["name"], r["email"]) for s, r in rows.items()}
    assert got == {
        "1001": ("3", "graded", "no", "John Smith", "john@example.org"),
        "1002": ("1", "graded", "yes", "Ann Lee", "ann@example.org"),
        "1005": ("0", "no_notebook", "no", "Nat Nobook", "nat@example.org"),
        "1006": ("0", "several_notebooks", "no", "", ""),
    }


def test_canvas_import_keeps_the_export_identity_columns_and_fills_the_assignment(loop):
    """Is the import file the Canvas export's identity columns plus the graded assignment's
    'Name (id)' column, Points Possible kept, scores scaled to Canvas's 6 points, and the student
    who handed nothing in left as he was?"""
    rows = _rows(loop["first"] / "lms" / "canvas_import.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (777)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "6.00"]
    assert rows[2:] == [
        ["Smith, John", "1001", "S1001", "jsmith", "Section A", "6"],
        ["Lee, Ann", "1002", "S1002", "alee", "Section A", "2"],
        ["Nobook, Nat", "1005", "S1005", "nnobook", "Section B", "0"],
        ["Twice, Tom", "1006", "S1006", "ttwice", "Section B", "0"],
        ["Absent, Al", "1009", "S1009", "aabsent", "Section B", ""],
    ]


def test_feedback_is_packaged_per_lms_id_and_as_canvas_reupload_zip(loop):
    """Is there one feedback file per student named by Canvas id, and a re-upload zip whose names
    carry the graded attachment, both holding exactly the pages the grader wrote?"""
    out = loop["first"]
    per_id = out / "lms" / "feedback" / A
    assert (sorted(p.name for p in per_id.iterdir())
            == ["1001.html", "1002.html", "1005.html", "1006.html"])
    for sid in ("1001", "1002"):
        assert ((per_id / f"{sid}.html").read_bytes()
                == (out / "feedback" / sid / A / f"{A}.html").read_bytes())
    with zipfile.ZipFile(out / "lms" / f"canvas_feedback_{A}.zip") as zf:
        names = sorted(zf.namelist())
        assert "smithjohn_1001_5001_ps0_demo_feedback.html" in names
        assert "leeann_LATE_1002_5004_ps0_demo_feedback.html" in names
        page = zf.read("leeann_LATE_1002_5004_ps0_demo_feedback.html")
    assert page == (per_id / "1002.html").read_bytes()


def test_autograded_copies_land_in_the_courses_autograded_directory(loop):
    """Are the autograded notebooks where the course's nbgrader config says (formgrader's place)?"""
    course = load_course(loop["course"])
    folder = Path(course.config.CourseDirectory.get("autograded_directory", "autograded"))
    assert (loop["course"] / folder / "1001" / A / f"{A}.ipynb").is_file()
    assert not (loop["first"] / "autograded").exists()


def test_regrade_keeps_the_manual_score_and_lists_the_changed_autograded_scores(loop):
    """After Ann's corrected upload is regraded, is the score given by hand kept, and does
    changes.csv list exactly the autograded score that changed?"""
    from nbgrader.api import Gradebook

    assert not (loop["first"] / "changes.csv").exists()
    assert _rows(loop["second"] / "changes.csv") == [
        ["student_id", "assignment", "notebook", "grade_id", "old_score", "new_score"],
        ["1002", A, A, "test_leaky_negative", "0", "2"]]
    course = load_course(loop["course"])
    with Gradebook(course.db_url, course.course_id) as gb:
        pos = gb.find_grade("test_leaky_positive", A, A, "1002")
        neg = gb.find_grade("test_leaky_negative", A, A, "1002")
        assert (pos.manual_score, pos.auto_score, pos.score) == (0.5, 1.0, 0.5)
        assert (neg.auto_score, neg.score) == (2.0, 2.0)
        assert gb.find_submission(A, "1002").score == 2.5


@pytest.mark.filterwarnings("ignore:.*not in session")  # nbgrader 0.9's own session handling
def test_a_regrade_never_sets_back_needs_manual_grade_on_a_marked_cell(tmp_path):
    """When a regrade reports a cell as needing a human, but one has already marked it, does the
    merge keep the mark and leave needs_manual_grade False?"""
    from nbgrader.api import Gradebook

    from actlab.grading.job import GradeRow, JobResult, NotebookResult
    from actlab.grading.report import merge_into_gradebook

    course_dir, _, template = make_course(tmp_path, {})
    course = load_course(course_dir)
    rows = [GradeRow("test_leaky_positive", 0.0, 1.0, None, True),
            GradeRow("test_leaky_negative", 2.0, 2.0, 2.0, False)]
    result = JobResult("s1", A, "graded", [NotebookResult(A, "graded", grades=rows)], {})
    merge_into_gradebook(course.db_url, course.course_id, {A: template}, [result])
    with Gradebook(course.db_url, course.course_id) as gb:
        assert gb.find_grade("test_leaky_positive", A, A, "s1").needs_manual_grade is True
        gb.find_grade("test_leaky_positive", A, A, "s1").manual_score = 1.0
        gb.db.commit()
    merge_into_gradebook(course.db_url, course.course_id, {A: template}, [result])
    with Gradebook(course.db_url, course.course_id) as gb:
        grade = gb.find_grade("test_leaky_positive", A, A, "s1")
        assert (grade.manual_score, grade.needs_manual_grade) == (1.0, False)
        assert gb.find_submission(A, "s1").score == 3.0


# ----------------------------------------------------------------------------------------
# Moodle, on rows (no grading run needed)

MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                 "Feedback comments"]


def _moodle_sheet(path: Path) -> Path:
    return _csv(path, [MOODLE_HEADER,
                       ["Participant 12", "Zoë Ångström", "zoe@example.org", "Submitted", "",
                        "3.00", "Yes",
                        "Sunday, 1 March 2026, 11:00 PM", "-", ""],
                       ["Participant 13", "李 雷", "li@example.org", "Submitted", "", "3.00", "Yes",
                        "Monday, 2 March 2026, 9:15 AM", "-", ""],
                       ["Participant 14", "Pat Doe", "pat@example.org", "No submission", "", "3.00",
                        "No",
                        "-", "-", ""],
                       ["Participant 16", "Kim Poe", "kim@example.org", "No submission", "", "3.00",
                        "Yes",
                        "-", "-", ""]], bom=True)


def test_moodle_worksheet_is_filled_on_its_identifier_column(tmp_path):
    """Is Moodle's worksheet written back with every column, Grade filled by Identifier, a
    comment for work that could not be graded, a locked grade left alone, and others untouched?"""
    handback = hand_back("moodle", _moodle_sheet(tmp_path / "sheet.csv"), None)
    grades = [SubmissionGrade("12", A, 3.0, 3.0, "graded"),
              SubmissionGrade("13", A, 0.0, 3.0, "several_notebooks",
                                                                "download holds 2 notebooks"),
              SubmissionGrade("14", A, 1.0, 3.0, "graded")]
    notes = handback.write(grades, tmp_path / "out", {})
    rows = _rows(tmp_path / "out" / "lms" / "moodle_grading_worksheet.csv")
    assert rows[0] == MOODLE_HEADER
    assert [r[4] for r in rows[1:]] == ["3", "0", "", ""]
    assert rows[2][9] == "several_notebooks: download holds 2 notebooks"
    assert rows[1][1] == "Zoë Ångström" and rows[1][7] == "Sunday, 1 March 2026, 11:00 PM"
    assert any("cannot be changed" in n and "14" in n for n in notes)


def test_moodle_feedback_zip_has_one_folder_per_participant(tmp_path):
    """Does the Moodle bundle put each page in '<Full name>_<participant
    id>_assignsubmission_file_/'?"""
    handback = hand_back("moodle", _moodle_sheet(tmp_path / "sheet.csv"), None)
    feedback = tmp_path / "out" / "feedback"
    for sid in ("12", "13"):
        (feedback / sid / A).mkdir(parents=True)
        (feedback / sid / A / f"{A}.html").write_text(f"<html>{sid}</html>", encoding="utf-8")
    grades = [SubmissionGrade("12", A, 3.0, 3.0, "graded"),
              SubmissionGrade("13", A, 1.0, 3.0, "graded")]
    handback.write(grades, tmp_path / "out", {}, feedback_root=feedback)
    with zipfile.ZipFile(tmp_path / "out" / "lms" / f"moodle_feedback_{A}.zip") as zf:
        assert sorted(zf.namelist()) == [
            f"Zoë Ångström_12_assignsubmission_file_/{A}_feedback.html",
            f"李 雷_13_assignsubmission_file_/{A}_feedback.html"]
        assert (zf.read(f"李 雷_13_assignsubmission_file_/{A}_feedback.html")
                == "<html>13</html>".encode())
    assert (tmp_path / "out" / "lms" / "feedback" / A / "12.html").read_text() == "<html>12</html>"


@pytest.mark.parametrize("lms, header, message", [
    ("canvas", ["Student", "ID", "Section", "Essay 1 (778)"], "no column for assignment"),
    ("canvas", ["Name", "Score"], "not a Canvas gradebook export"),
    ("moodle", ["Name", "Score"], "not a Moodle grading worksheet"),
])
def test_templates_that_do_not_fit_are_usage_errors(tmp_path, lms, header, message):
    """Does a template without the assignment's column, or of the wrong kind, stop before
    grading?"""
    template = _csv(tmp_path / "t.csv", [header, ["x"] * len(header)])
    with pytest.raises(HandBackError, match=message):
        hand_back(lms, template, None).check([A])


def test_grade_refuses_a_template_without_the_assignment_before_grading(tmp_path, capsys):
    """Does `actlab grade --lms canvas` exit 2 at once when the export has no column for it?"""
    course, submitted, _ = make_course(tmp_path, {"s1": "correct"})
    template = _csv(tmp_path / "t.csv", [["Student", "ID", "Section", "Essay 1 (778)"]])
    code = cli.main([str(submitted), "--course", str(course), "--no-sandbox", "--no-gradebook",
                     "--lms", "canvas", "--lms-template", str(template), "--out",
                     str(tmp_path / "o")])
    assert code == 2
    assert "no column for assignment" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_roster_reads_names_emails_and_moodle_identifiers(tmp_path):
    """Does the roster accept its usual headers, Moodle's 'Participant N' ids, and split names?"""
    roster = _csv(tmp_path / "r.csv", [("Identifier", "Full name", "Email address"),
                                        ("Participant 12", "Zoë Ångström", "zoe@example.org"),
                                        ("Participant 13", "李雷", "")])
    people = read_roster(roster)
    assert people["12"].first_name == "Zoë" and people["12"].last_name == "Ångström"
    assert people["12"].name == "Zoë Ångström" and people["12"].email == "zoe@example.org"
    assert people["13"].name == "李雷"


def test_export_before_anything_was_graded_is_a_usage_error(tmp_path, capsys):
    """Does `actlab export` on a course whose gradebook holds no grades exit 2 and say why?"""
    from actlab.grading import export

    course, _, _ = make_course(tmp_path, {})
    assert export.main(["--course", str(course), "--out", str(tmp_path / "final")]) == 2
    assert "run actlab grade first" in capsys.readouterr().err
