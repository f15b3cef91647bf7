"""Write what grading found: grades.csv, details.csv, feedback pages, the gradebook, a summary.

Everything here runs in the parent, serially, after the jobs are done; that is the only
place where the course gradebook is written, so SQLite never sees two writers. Rows are
sorted and carry no timestamps: grading the same folder twice gives byte-identical CSVs.
"""

from __future__ import annotations

import html
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from ..util import write_csv
from .course import AssignmentTemplate, ensure_tools_on_path, unpack_folder
from .job import STATUSES, JobResult

GRADES_COLUMNS = ("student_id", "assignment", "score", "max_score", "status")
DETAILS_COLUMNS = ("student_id", "assignment", "notebook", "grade_id", "score", "max_score",
                   "reason")


def fmt_score(x: float) -> str:
    """A score as text: at most 6 significant digits, no trailing zeros ('3', '2.5')."""
    return format(round(float(x), 6), "g")


@dataclass(frozen=True)
class SubmissionGrade:
    """One row of grades.csv: a student's score on one assignment, with its status and the
    reason for it (what the LMS hand-back and ``actlab export`` need of a submission)."""

    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str
    reason: str = ""


def _sorted(results):
    return sorted(results, key=lambda r: (r.student_id, r.assignment))


def submission_grades(results: list[JobResult], templates: dict[str, AssignmentTemplate]
                      ) -> list[SubmissionGrade]:
    """One :class:`SubmissionGrade` per result, in (student, assignment) order."""
    return [SubmissionGrade(r.student_id, r.assignment, r.score, templates[r.assignment].max_score,
                            r.status, r.reason) for r in _sorted(results)]


def write_grades(path: Path, grades: list[SubmissionGrade], extra: dict | None = None) -> None:
    """Write ``grades`` to ``path`` (grades.csv), in the order given.

    ``extra`` adds columns after ``status``: ``{column: {(student, assignment): value}}``
    (``late`` from ``actlab collect``, ``name`` and ``email`` from a roster); a submission
    without a value gets an empty cell.
    """
    extra = extra or {}
    write_csv(path, (*GRADES_COLUMNS, *extra), [
        (g.student_id, g.assignment, fmt_score(g.score), fmt_score(g.max_score), g.status,
         *(values.get((g.student_id, g.assignment), "") for values in extra.values()))
        for g in grades])


def detail_rows(result: JobResult, template: AssignmentTemplate) -> list[tuple]:
    """One row per graded cell of the assignment, in notebook order, with the reason a test
    lost its points (empty when it passed or is graded by hand).

    A cell the job did not report (its notebook crashed before grading) scores 0.
    """
    got = {(nb.name, g.grade_id): g.score for nb in result.notebooks for g in nb.grades}
    why = {(nb.name, gid): text for nb in result.notebooks
           for gid, text in getattr(nb, "test_reasons", {}).items()}
    status = {nb.name: nb for nb in result.notebooks}
    rows = []
    for c in template.cells:
        reason = why.get((c.notebook, c.grade_id), "")
        nb = status.get(c.notebook)
        if not reason and (c.notebook, c.grade_id) not in got and nb is not None:
            reason = f"{nb.status}: {nb.reason}" if nb.reason else nb.status
        rows.append((result.student_id, result.assignment, c.notebook, c.grade_id,
                     fmt_score(got.get((c.notebook, c.grade_id), 0.0)), fmt_score(c.max_score),
                     reason))
    return rows


def write_csvs(results: list[JobResult], templates: dict[str, AssignmentTemplate], out: Path,
               extra: dict | None = None) -> None:
    """Write ``out/grades.csv`` (one row per submission, :func:`write_grades`, with the
    ``extra`` columns) and ``out/details.csv`` (one row per graded cell)."""
    write_grades(out / "grades.csv", submission_grades(results, templates), extra)
    write_csv(out / "details.csv", DETAILS_COLUMNS, [
        row for r in _sorted(results) for row in detail_rows(r, templates[r.assignment])])


CHANGES_COLUMNS = ("student_id", "assignment", "notebook", "grade_id", "old_score", "new_score")


def write_changes(changes: list[tuple], out: Path) -> None:
    """``out/changes.csv``: the autograded scores a regrade changed (none: no file)."""
    path = out / "changes.csv"
    if not changes:
        path.unlink(missing_ok=True)
        return
    write_csv(path, CHANGES_COLUMNS, sorted(changes))


_PLAIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>Status: <strong>{status}</strong></p><p>{reason}</p>
<p>Score: {score} / {max_score}</p></body></html>
"""


def write_feedback(results: list[JobResult], templates: dict[str, AssignmentTemplate], out: Path,
                   autograded: Path | None = None) -> list[Path]:
    """Feedback HTML at ``out/feedback/<student>/<assignment>/<notebook>.html``.

    Graded notebooks get nbgrader's feedback page; a notebook that could not be graded
    (missing, quarantined, crashed) gets a short page saying why. Autograded notebooks go
    to ``autograded/<student>/<assignment>/`` (default ``out/autograded``; the course's
    ``autograded_directory`` when the scores go to its gradebook, where formgrader looks).
    Returns the feedback paths written.
    """
    autograded = Path(autograded) if autograded else out / "autograded"
    written = []
    for r in _sorted(results):
        folder = out / "feedback" / r.student_id / r.assignment
        folder.mkdir(parents=True, exist_ok=True)
        for nb in r.notebooks:
            page = nb.feedback_html
            if page is None:
                score = sum(g.score for g in nb.grades)
                max_score = sum(c.max_score for c in templates[r.assignment].cells
                                if c.notebook == nb.name)
                page = _PLAIN_PAGE.format(
                    title=html.escape(f"{r.assignment}: {nb.name} ({r.student_id})"),
                    status=html.escape(nb.status), reason=html.escape(nb.reason),
                    score=fmt_score(score), max_score=fmt_score(max_score))
            path = folder / f"{nb.name}.html"
            path.write_text(page, encoding="utf-8")
            written.append(path)
            if nb.autograded is not None:
                ag = autograded / r.student_id / r.assignment
                ag.mkdir(parents=True, exist_ok=True)
                (ag / f"{nb.name}.ipynb").write_bytes(nb.autograded)
    return written


def summary_table(results: list[JobResult], templates: dict[str, AssignmentTemplate]) -> str:
    """A plain-text table: per assignment, submissions, mean score and counts per status."""
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r.assignment].append(r)
    seen = [s for s in STATUSES if any(r.status == s for r in results)]
    rows = []
    for name in sorted(by_assignment):
        rs = by_assignment[name]
        counts = Counter(r.status for r in rs)
        mean = sum(r.score for r in rs) / len(rs)
        rows.append([name, len(rs), f"{fmt_score(mean)} / {fmt_score(templates[name].max_score)}",
                     *[counts.get(s, 0) for s in seen]])
    return tabulate(rows, headers=["assignment", "submissions", "mean score", *seen],
                    tablefmt="simple")


def merge_into_gradebook(db_url: str, course_id: str, templates: dict[str, AssignmentTemplate],
                         results: list[JobResult]) -> list[tuple]:
    """Record every result in the course gradebook (as ``nbgrader autograde`` would).

    Each assignment's structure (notebooks, graded, solution, task and source cells) is
    copied from its template gradebook first, so formgrader can show the submissions.
    A regrade keeps every score given by hand: a cell with a manual score stays marked.
    Returns the autograded scores that changed since the last merge, as rows
    (student, assignment, notebook, grade_id, old score, new score); first grades are not
    changes.
    """
    # nbgrader is imported here, not with this module: `actlab grade --help` must not wait
    # most of a second for it.
    from nbgrader.api import Gradebook

    changes = []
    ensure_tools_on_path()
    with Gradebook(db_url, course_id) as gb:
        for tpl in templates.values():
            _copy_structure(tpl, gb)
        for r in _sorted(results):
            gb.update_or_create_student(r.student_id)
            if r.status == "missing" and not any(nb.grades for nb in r.notebooks):
                continue  # like nbgrader: no folder handed in, no submission recorded
            gb.update_or_create_submission(r.assignment, r.student_id)
            for nb in r.notebooks:
                if not nb.grades:
                    # Refused before grading: every cell scores 0, as nbgrader does for a
                    # notebook that is not there, and nothing waits for manual grading.
                    sub = gb.find_submission_notebook(nb.name, r.assignment, r.student_id)
                    for grade in sub.grades:
                        _record(grade, 0.0, False, changes, r, nb.name)
                for row in nb.grades:
                    grade = gb.find_grade(row.grade_id, nb.name, r.assignment, r.student_id)
                    _record(grade, row.auto_score, row.needs_manual_grade, changes, r, nb.name)
            gb.db.commit()
    return changes


def _record(grade, auto, manual_needed, changes, result, notebook) -> None:
    """Set one cell's autograded score; keep a score given by hand; note a changed score."""
    old = grade.auto_score
    if old is not None and auto is not None and float(old) != float(auto):
        changes.append((result.student_id, result.assignment, notebook, grade.name,
                        fmt_score(old), fmt_score(auto)))
    grade.auto_score = auto
    # A cell someone has marked by hand no longer waits for it, whatever the regrade says.
    grade.needs_manual_grade = bool(manual_needed) and grade.manual_score is None


def _copy_structure(tpl: AssignmentTemplate, gb) -> None:
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="actlab-merge-") as tmp:
        unpack_folder(tpl.archive, Path(tmp))
        with Gradebook(f"sqlite:///{Path(tmp) / 'gradebook.db'}", tpl.course_id) as src:
            a = src.find_assignment(tpl.name)
            gb.update_or_create_assignment(tpl.name)
            for nb in a.notebooks:
                gb.update_or_create_notebook(nb.name, tpl.name)
                for c in nb.grade_cells:
                    gb.update_or_create_grade_cell(c.name, nb.name, tpl.name,
                                                   max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.task_cells:
                    gb.update_or_create_task_cell(c.name, nb.name, tpl.name,
                                                  max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.solution_cells:
                    gb.update_or_create_solution_cell(c.name, nb.name, tpl.name)
                for c in nb.source_cells:
                    gb.update_or_create_source_cell(c.name, nb.name, tpl.name,
                                                    cell_type=c.cell_type,
                                                    locked=c.locked, source=c.source,
                                                    checksum=c.checksum)
