"""``actlab grade``: autograde a folder of submissions, in parallel or on a Dask cluster.

    actlab grade SUBMITTED [--assignment NAME] [--out DIR] [--workers N]
                           [--scheduler tcp://HOST:PORT] [--no-sandbox] [--course DIR]
                           [--lms canvas|moodle --lms-template EXPORT.csv] [--roster CSV]

SUBMITTED holds ``<student_id>/<assignment>/<notebook>.ipynb`` (nbgrader's submitted
layout; ``actlab collect`` makes it from an LMS download, with a ``collect_<assignment>.csv``
that adds a row for every student whose download held nothing gradable). Each student's
copy of an assignment is one job (:mod:`actlab.grading.job`); the parent writes
``DIR/grades.csv``, ``DIR/details.csv``, ``DIR/feedback/...``, records the scores in the course
gradebook (keeping scores given by hand; ``DIR/changes.csv`` lists autograded scores a
regrade changed) and puts the autograded notebooks in the course's ``autograded_directory``.
With ``--lms``, ``DIR/lms/`` gets the LMS's import file and feedback bundle
(:mod:`actlab.grading.lms`). Exit status: 0 once every submission has a status, 1 if grading
could not run (e.g. the cluster is unreachable), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .batch import run_jobs
from .collect import UNGRADABLE, read_manifests
from .course import (AssignmentTemplate, CourseError, add_course_argument, load_course,
                     silence_nbgrader_warnings)
from .intake import unreadable_reason
from .job import JobResult, JobSpec, NotebookResult
from .lms import HandBackError, autograded_directory, hand_back, print_notes
from .report import (merge_into_gradebook, submission_grades, summary_table, write_changes,
                     write_csvs, write_feedback)
from .sandbox import SandboxUnavailableError, require_sandbox

# A student's other files (data, helper modules) larger than this are left behind: not read
# into memory, not shipped to a worker. Notebooks have their own cap, intake.MAX_NOTEBOOK_BYTES;
# the sandbox copies at most sandbox.MAX_COPIED_BYTES of other files in all.
MAX_OTHER_FILE_BYTES = 32 * 2**20


class UsageError(Exception):
    """Bad arguments or folders: reported in one line, exit status 2."""


@dataclass
class GradingRun:
    """What :func:`grade` did: results in (student, assignment) order, templates, output folder."""

    results: list
    templates: dict
    out: Path
    seconds: float
    changes: list = field(default_factory=list)  # autograded scores a regrade changed
    notes: list = field(default_factory=list)  # what the LMS hand-back left out or scaled


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actlab grade",
        description="Autograde submitted notebooks against the instructor versions in solutions/.")
    p.add_argument("submitted", type=Path,
                   help="folder holding <student_id>/<assignment>/<notebook>.ipynb")
    p.add_argument("--assignment", help="grade only this assignment (default: every one found)")
    p.add_argument("--out", type=Path,
                   help="where grades.csv, details.csv and feedback/ go (default: "
                        "grading-work/grades)")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once on this machine (default: number of cores)")
    p.add_argument("--scheduler", help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without the bubblewrap sandbox (trusted notebooks only)")
    add_course_argument(p)
    p.add_argument("--no-gradebook", action="store_true",
                   help="do not record the scores in the course gradebook")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    p.add_argument("--lms", choices=("canvas", "moodle"),
                   help="also write the LMS's import file and feedback bundle "
                        "(needs --lms-template)")
    p.add_argument("--lms-template", type=Path,
                   help="the LMS's own export to fill in: Canvas's gradebook export or "
                        "Moodle's offline grading worksheet (CSV)")
    p.add_argument("--roster", type=Path,
                   help="CSV mapping LMS ids to names and e-mails (columns id, name, email)")
    return p


def discover(submitted: Path, assignments: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Students (sorted), assignments to grade (sorted) and warnings about skipped folders."""
    warnings_ = []
    students = sorted(p.name for p in submitted.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    found = sorted({a.name for s in students for a in (submitted / s).iterdir()
                    if a.is_dir() and not a.name.startswith(".")})
    unknown = [a for a in found if a not in assignments]
    if unknown:
        warnings_.append("skipping folders that are not assignments of this course: "
                         f"{', '.join(unknown)}")
    return students, [a for a in found if a in assignments], warnings_


def _read_submission(folder: Path, template: AssignmentTemplate):
    """(notebooks, extra_files, refusals) for one student's assignment folder.

    Every file is checked before it is read, here where it is first seen: a symbolic link is
    never followed (it could point anywhere on the grading machine); a notebook that intake
    would refuse unread (:func:`intake.unreadable_reason`: a link, or over
    :data:`intake.MAX_NOTEBOOK_BYTES`) is refused with intake's reason; another file over
    :data:`MAX_OTHER_FILE_BYTES` is left behind. Nothing refused is shipped to a worker.
    """
    notebooks, extra, refused = {}, {}, {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (any(part.startswith(".") for part in rel.parts)
                or path.is_dir() and not path.is_symlink()):
            continue
        name = path.stem if path.suffix == ".ipynb" and len(rel.parts) == 1 else None
        if name is not None:
            reason = unreadable_reason(path)
            if reason:
                if name in template.notebooks:
                    refused[name] = reason
                continue
        elif path.is_symlink() or path.stat().st_size > MAX_OTHER_FILE_BYTES:
            continue
        if name in template.notebooks:
            notebooks[name] = path.read_bytes()
        else:
            extra[str(rel)] = path.read_bytes()
    return notebooks, extra, refused


def _check_sandbox(sandbox: bool) -> None:
    """Refuse to run student code unsandboxed unless asked to; warn loudly when asked."""
    # require_sandbox prints its warning to stderr; its duplicate Python warning would be
    # turned into an error by the test suite's filters, so it is silenced here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            require_sandbox(not sandbox)
        except SandboxUnavailableError as exc:
            raise UsageError(str(exc)) from exc


def _hand_back_options(lms, lms_template, roster):
    try:
        return hand_back(lms, lms_template, roster)
    except HandBackError as exc:
        raise UsageError(str(exc)) from exc


def grade(submitted: Path, *, course_root: Path | None = None, assignment: str | None = None,
          out: Path | None = None, workers: int | None = None, scheduler: str | None = None,
          sandbox: bool = True, gradebook: bool = True, progress: bool | None = None,
          lms: str | None = None, lms_template: Path | None = None,
          roster: Path | None = None) -> GradingRun:
    """Grade every submission under ``submitted``; write the reports; return what was done.

    ``progress``: a bar, by default only when stderr is a terminal. Raises :class:`UsageError`
    for bad folders or names.
    """
    t0 = time.perf_counter()
    submitted = Path(submitted)
    if not submitted.is_dir():
        raise UsageError(f"submitted folder {submitted} does not exist or is not a folder")
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise UsageError(f"--scheduler must be an address like tcp://HOST:PORT, not {scheduler!r}")
    try:
        course = load_course(course_root)
        if assignment is not None:
            course.check_assignment(assignment)
    except CourseError as exc:
        raise UsageError(str(exc)) from exc
    handback = _hand_back_options(lms, lms_template, roster)
    _check_sandbox(sandbox)

    known = course.assignments()
    students, names, notes = discover(submitted, [assignment] if assignment else known)
    if assignment is not None:
        names = [assignment]
    # Students whose LMS download held nothing gradable have no folder, only a manifest row.
    collected = {k: v for k, v in read_manifests(submitted).items() if k[1] in known}
    names = sorted({*names, *(a for _, a in collected if assignment in (None, a))})
    students = sorted({*students, *(s for s, a in collected if a in names)})
    for note in notes:
        print(f"actlab grade: {note}", file=sys.stderr)

    try:
        handback.check(names)
    except HandBackError as exc:
        raise UsageError(str(exc)) from exc
    templates = {}
    for name in names:
        try:
            templates[name] = course.build_template(name)
        except CourseError as exc:
            raise UsageError(str(exc)) from exc

    specs, ready = [], {}
    config = course.job_config()
    for student in students:
        for name in names:
            tpl = templates[name]
            folder = submitted / student / name
            record = collected.get((student, name))
            if record is not None and record.status in UNGRADABLE:
                nbs = [NotebookResult(n, record.status, record.reason) for n in tpl.notebooks]
                ready[(student, name)] = JobResult(student, name, record.status, nbs, {})
                continue
            if not folder.is_dir() or folder.is_symlink():
                nbs = [NotebookResult(n, "missing",
                                      "assignment not handed in") for n in tpl.notebooks]
                ready[(student, name)] = JobResult(student, name, "missing", nbs, {})
                continue
            notebooks, extra, refused = _read_submission(folder, tpl)
            if refused:
                nbs = [NotebookResult(n, "quarantined", refused[n]) if n in refused
                       else NotebookResult(n, "quarantined", "another notebook was refused")
                       for n in tpl.notebooks]
                ready[(student, name)] = JobResult(student, name, "quarantined", nbs, {})
                continue
            specs.append(JobSpec(student, name, notebooks, tpl.archive, tpl.notebooks, config,
                                 course.course_id, sandbox, extra))

    # The cores this process may use (a container or taskset may allow fewer than exist).
    n_workers = workers or len(os.sched_getaffinity(0)) or 1
    results = run_jobs(specs, workers=n_workers, scheduler=scheduler, progress=progress)
    results = sorted([*results, *ready.values()], key=lambda r: (r.student_id, r.assignment))

    out = Path(out) if out else course.root / "grading-work" / "grades"
    write_csvs(results, templates, out,
               extra=handback.columns(collected, [(r.student_id, r.assignment) for r in results]))
    # With the scores in the course gradebook, the autograded copies go where the course's
    # nbgrader config says, so formgrader can open them for marking by hand.
    write_feedback(results, templates, out,
                   autograded=autograded_directory(course) if gradebook else None)
    changes = []
    if gradebook:
        changes = merge_into_gradebook(course.db_url, course.course_id, templates, results)
        write_changes(changes, out)
        handback.record_names(course)
    notes = handback.write(submission_grades(results, templates), out, collected,
                           feedback_root=out / "feedback")
    return GradingRun(results, templates, out, time.perf_counter() - t0, changes, notes)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``actlab grade``; ``argv`` is everything after ``grade``."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 for --help
        return int(exc.code or 0)
    silence_nbgrader_warnings()
    try:
        run = grade(args.submitted, course_root=args.course, assignment=args.assignment,
                    out=args.out, workers=args.workers, scheduler=args.scheduler,
                    sandbox=not args.no_sandbox, gradebook=not args.no_gradebook,
                    progress=False if args.quiet else None, lms=args.lms,
                    lms_template=args.lms_template, roster=args.roster)
    except UsageError as exc:
        print(f"actlab grade: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the Dask scheduler cannot be reached
        print(f"actlab grade: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        if run.results:
            print(summary_table(run.results, run.templates))
        print(f"\n{len(run.results)} submission(s) graded in {run.seconds:.1f} s; "
              f"reports in {run.out}")
    print_notes("actlab grade", run.notes)
    if run.changes:
        print(f"actlab grade: {len(run.changes)} autograded score(s) changed since the last "
              f"grading; scores given by hand were kept. See {run.out / 'changes.csv'}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
