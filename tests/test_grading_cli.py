"""`actlab grade` end to end on a small course built in a temporary folder.

One run per test run (conftest's ``graded_demo``) grades seven students (correct, partial,
blank, wrong answer, broken JSON, nothing handed in, a symlink to the answer key) through the
real CLI entry point; the tests here ask about exit status, scores and statuses, and the
usage errors (``tests/test_report.py`` asks about the reports it wrote). Runs under the
bubblewrap sandbox when the machine has it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DEMO_ASSIGNMENT, read_csv_rows, sandbox_flag, write_demo_course

from actlab.grading import cli
from actlab.grading.course import load_course, unpack_folder

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_cli")]

REPO = Path(__file__).resolve().parents[1]
A = DEMO_ASSIGNMENT
EXPECTED = {  # student -> (score, status); max_score is 3 (1 + 2 points)
    "ada": ("3", "graded"), "ben": ("1", "graded"), "cy": ("0", "graded"),
    "dee": ("0", "graded"), "eve": ("0", "quarantined"), "fay": ("0", "missing"),
    "gus": ("0", "quarantined"),
}


def test_grading_a_folder_with_broken_and_missing_work_exits_zero(graded_demo):
    """Does the batch finish with exit status 0 when some submissions are broken or missing?"""
    assert graded_demo.code == 0


def test_every_student_gets_the_expected_score_and_status(graded_demo):
    """Do correct, partial, blank, wrong, broken-JSON and missing submissions get the right score
    and status?"""
    rows = read_csv_rows(graded_demo.out / "grades.csv")
    assert list(rows[0]) == ["student_id", "assignment", "score", "max_score", "status"]
    got = {r["student_id"]: (r["score"], r["status"]) for r in rows}
    assert got == EXPECTED
    assert {r["assignment"] for r in rows} == {A}
    assert {r["max_score"] for r in rows} == {"3"}


def test_a_notebook_symlinked_to_the_answer_key_is_refused_unread(graded_demo):
    """Is a submitted notebook that is a symlink (here to the instructor's copy) quarantined, not
    graded?"""
    rows = {r["student_id"]: r for r in read_csv_rows(graded_demo.out / "grades.csv")}
    assert rows["gus"]["status"] == "quarantined" and rows["gus"]["score"] == "0"
    page = (graded_demo.out / "feedback" / "gus" / A / f"{A}.html").read_text()
    assert "symbolic link" in page


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
    code = cli.main([str(tmp_path / "sub"), "--course", str(course), "--assignment", "ps9",
                     "--no-sandbox"])
    assert code == 2
    err = capsys.readouterr().err
    assert "ps9" in err and A in err


@pytest.mark.parametrize("args",
                         [["--workers", "0"], ["--scheduler", "localhost:8786"], ["--bogus"]])
def test_bad_options_are_usage_errors(tmp_path, args):
    """Do a zero worker count, a scheduler without a scheme and an unknown option exit with 2?"""
    course = write_demo_course(tmp_path / "course")
    (tmp_path / "sub").mkdir()
    assert cli.main([str(tmp_path / "sub"), "--course", str(course), "--no-sandbox", *args]) == 2


@pytest.mark.parametrize("argv", [["grade", "--help"], ["grade", "no-such-folder"],
                                  ["grade", ".", "--workers", "0"], ["collect", "--help"],
                                  ["export", "--help"]], ids=" ".join)
def test_help_and_usage_errors_answer_without_importing_nbgrader(argv):
    """Do `actlab grade --help` and its usage errors (and collect's and export's help) answer
    without importing nbgrader, which takes most of a second to import?"""
    script = ("import sys\nfrom actlab.cli import main\ncode = main(sys.argv[1:])\n"
              "print('nbgrader imported:', 'nbgrader' in sys.modules)\nsys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == (0 if "--help" in argv else 2), proc.stderr
    assert proc.stdout.splitlines()[-1] == "nbgrader imported: False", proc.stdout[-500:]


def test_problem_set_one_solution_scores_full_marks_and_its_release_scores_zero(tmp_path):
    """Graded against the real ps1, does the instructor's notebook get full marks and the blank
    release 0?"""
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
                     "--quiet", "--no-gradebook", *sandbox_flag()])
    assert code == 0
    rows = {r["student_id"]: r for r in read_csv_rows(out / "grades.csv")}
    assert float(rows["instructor"]["max_score"]) == template.max_score > 0
    assert rows["instructor"]["status"] == "graded"
    assert float(rows["instructor"]["score"]) == template.max_score
    assert float(rows["blank"]["score"]) == 0.0
