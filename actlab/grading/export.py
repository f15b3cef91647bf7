"""``actlab export``: the final grades, autograded plus marked by hand, for the record and the LMS.

    actlab export [--out DIR] [--grades DIR] [--assignment NAME] [--course DIR]
                  [--lms canvas|moodle --lms-template EXPORT.csv] [--roster CSV]

After ``actlab grade`` and marking in formgrader, the course gradebook holds every score:
nbgrader's ``Submission.score`` is the autograded score of each cell unless someone gave it a
score by hand. This command reads the gradebook through nbgrader's API and writes
``DIR/grades.csv`` (default ``grading-work/final``) with the columns of ``actlab grade``'s
(status and ``late`` come from that run's ``grades.csv``, ``--grades``, default
``grading-work/grades``), and with ``--lms`` the LMS's import file in ``DIR/lms/``
(:mod:`actlab.grading.lms`). Submissions that still wait for a hand-marked score are named
on stderr. Exit status 0, or 2 for usage errors.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from .course import CourseError, add_course_argument, load_course, silence_nbgrader_warnings
from .lms import HandBackError, hand_back, print_notes
from .report import SubmissionGrade, write_grades


class ExportError(Exception):
    """Bad arguments or folders: one line, exit status 2."""


def final_grades(db_url: str, course_id: str, assignments: list[str] | None = None,
                 previous: dict | None = None
                 ) -> tuple[list[SubmissionGrade], list[tuple[str, str]]]:
    """(rows, waiting): one :class:`SubmissionGrade` per student and assignment in the gradebook,
    and the (student, assignment) pairs with a cell still waiting for a score by hand.

    ``previous`` ({(student, assignment): grades.csv row}) supplies the status; submissions
    the gradebook lacks (nothing handed in) keep the previous row's score, which is 0.
    """
    from nbgrader.api import Gradebook, MissingEntry

    previous = previous or {}
    rows, waiting = [], []
    with Gradebook(db_url, course_id) as gb:
        names = [a.name for a in gb.assignments if not assignments or a.name in assignments]
        for name in sorted(names):
            assignment = gb.find_assignment(name)
            for student in sorted(s.id for s in gb.students):
                before = previous.get((student, name), {})
                try:
                    sub = gb.find_submission(name, student)
                except MissingEntry:
                    if before:
                        rows.append(SubmissionGrade(student, name, float(before.get("score") or 0),
                                                    float(assignment.max_score),
                                                    before.get("status", "missing")))
                    continue
                if sub.needs_manual_grade:
                    waiting.append((student, name))
                rows.append(SubmissionGrade(student, name, float(sub.score), float(sub.max_score),
                                            before.get("status", "graded")))
    return rows, waiting


def _previous(grades_dir: Path) -> tuple[dict, list[str]]:
    path = grades_dir / "grades.csv"
    if not path.is_file():
        return {}, []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = {(r["student_id"], r["assignment"]): r for r in reader}
        return rows, list(reader.fieldnames or [])


def export(course_root: Path | None = None, out: Path | None = None, grades: Path | None = None,
           assignment: str | None = None, lms: str | None = None, lms_template: Path | None = None,
           roster: Path | None = None) -> tuple[Path, list[SubmissionGrade], list, list[str]]:
    """Write the final grades; return (out folder, rows, waiting, notes)."""
    try:
        course = load_course(course_root)
        if assignment is not None:
            course.check_assignment(assignment)
        handback = hand_back(lms, lms_template, roster)
    except (CourseError, HandBackError) as exc:
        raise ExportError(str(exc)) from exc
    out = Path(out) if out else course.root / "grading-work" / "final"
    previous, columns = _previous(Path(grades) if grades
                                  else course.root / "grading-work" / "grades")
    rows, waiting = final_grades(course.db_url, course.course_id,
                                 [assignment] if assignment else None,
                                 previous)
    if not rows:
        raise ExportError(f"the gradebook ({course.db_url.split('://')[0]}) holds no grades"
                          + (f" for {assignment}" if assignment else "")
                          + "; run actlab grade first")
    try:
        handback.check(sorted({r.assignment for r in rows}))
    except HandBackError as exc:
        raise ExportError(str(exc)) from exc

    keys = [(r.student_id, r.assignment) for r in rows]
    extra = handback.columns({}, keys)
    if "late" in columns:
        extra = {"late": {k: previous.get(k, {}).get("late", "") for k in keys}, **extra}
    write_grades(out / "grades.csv", rows, extra)
    notes = handback.write(rows, out, {})
    return out, rows, waiting, notes


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``actlab export``; ``argv`` is everything after ``export``."""
    p = argparse.ArgumentParser(
        prog="actlab export",
        description="Write the final grades (autograded plus marked by hand in formgrader) from "
                    "the course gradebook to grades.csv and, with --lms, to the LMS's import "
                    "file.")
    p.add_argument("--out", type=Path,
                   help="where grades.csv (and lms/) go (default: grading-work/final)")
    p.add_argument("--grades", type=Path,
                   help="the actlab grade reports to take statuses from (default: "
                        "grading-work/grades)")
    p.add_argument("--assignment", help="export only this assignment (default: every one graded)")
    add_course_argument(p)
    p.add_argument("--lms", choices=("canvas", "moodle"), help="also write the LMS's import file")
    p.add_argument("--lms-template", type=Path,
                   help="the LMS's own export to fill in (Canvas gradebook export, Moodle "
                        "grading worksheet)")
    p.add_argument("--roster", type=Path, help="CSV mapping LMS ids to names and e-mails")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    silence_nbgrader_warnings()
    try:
        out, rows, waiting, notes = export(args.course, args.out, args.grades, args.assignment,
                                           args.lms, args.lms_template, args.roster)
    except ExportError as exc:
        print(f"actlab export: error: {exc}", file=sys.stderr)
        return 2
    print_notes("actlab export", notes)
    if waiting:
        listed = ", ".join(f"{s} ({a})" for s, a in waiting)
        print(f"actlab export: {len(waiting)} submission(s) still wait for a score by hand in "
              f"formgrader: {listed}", file=sys.stderr)
    print(f"{len(rows)} final grade(s) written to {out / 'grades.csv'}"
          + (f" and {out / 'lms'}" if args.lms else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
