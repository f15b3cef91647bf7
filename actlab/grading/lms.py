"""Hand grades and feedback back to the LMS: fill in its own export, package the feedback.

``actlab grade ... --lms canvas|moodle --lms-template EXPORT.csv [--roster roster.csv]`` and
``actlab export`` (final grades after marking by hand) both end here. The LMS's own export
is the template, so the file written is one the LMS imports without a column mapping:

* **Canvas** gradebook export (Grades → Export): identity columns ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID`` (and ``Integration ID``), ``Section``, then one column per
  assignment named ``<name> (<assignment id>)``, a ``Points Possible`` row, and read-only
  totals. The import file keeps the identity columns, the rows that are not students, and
  only the graded assignments' columns (an old copy of another assignment's column would be
  imported as changes). An assignment's column is the one whose name, before the id in
  brackets, is the nbgrader assignment name. Feedback: Canvas's "re-upload submissions"
  zip, in which each file name starts with the download's ``<name>_<user id>_<attachment id>``.
* **Moodle** offline grading worksheet (one assignment): ``Identifier`` ("Participant 12"),
  ``Full name``, ``Email address``, ``Status``, ``Grade``, ``Maximum Grade``,
  ``Grade can be changed``, ..., ``Feedback comments``. Every column is kept; ``Grade`` is
  filled in. Feedback: Moodle's "upload multiple feedback files in a zip", one folder per
  student named like the download's (``<Full name>_<participant id>_assignsubmission_file_``).

Scores are scaled to the LMS's points when they differ from the assignment's (said on
stderr). Besides the bundle, ``lms/feedback/<assignment>/<lms id>.html`` holds one file per
student named by LMS id. The feedback pages are those the grader wrote, unchanged.
"""

from __future__ import annotations

import csv
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..util import unknown_name, write_csv, zip_entry
from .report import SubmissionGrade, fmt_score

LMS_NAMES = ("canvas", "moodle")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
_CANVAS_COLUMN = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")
# Moodle worksheets sometimes carry this zero-width prefix in front of a name.
_PARTICIPANT = re.compile(r"(\d+)\s*$")


class HandBackError(Exception):
    """Bad LMS options or a template that does not fit: a usage error (exit status 2)."""


def autograded_directory(course) -> Path:
    """The course's ``CourseDirectory.autograded_directory`` (where formgrader looks)."""
    cd = course.config.CourseDirectory
    return Path(course.root) / cd.get("autograded_directory", "autograded")


def _read(path: Path, required: tuple[str, ...] = (), kind: str = "",
          how: str = "") -> tuple[list[str], list[list[str]]]:
    """The header and rows of the CSV file at ``path``; a header without the ``required``
    columns is refused as not being ``kind``, with ``how`` to get the right file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise HandBackError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise HandBackError(f"{path} is empty")
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise HandBackError(f"{path} is not {kind} (no {', '.join(missing)} column); {how}")
    return rows[0], rows[1:]


def _scaled(row: SubmissionGrade, lms_points: str, notes: list) -> str:
    try:
        points = float(lms_points)
    except (TypeError, ValueError):
        return fmt_score(row.score)
    if points <= 0 or row.max_score <= 0 or abs(points - row.max_score) < 1e-9:
        return fmt_score(row.score)
    note = (f"{row.assignment}: scores out of {fmt_score(row.max_score)} scaled to the LMS's "
            f"{fmt_score(points)} points")
    if note not in notes:
        notes.append(note)
    return fmt_score(row.score * points / row.max_score)


# ----------------------------------------------------------------------------------------
# Canvas

@dataclass
class CanvasGradebook:
    """A Canvas gradebook export: its header, rows and assignment columns {index: (name, id)}."""

    path: Path
    header: list
    rows: list
    assignments: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "CanvasGradebook":
        header, rows = _read(path, ("Student", "ID"), "a Canvas gradebook export",
                             "export it from Grades → Export → Export Entire Gradebook")
        assignments = {}
        for i, name in enumerate(header):
            m = _CANVAS_COLUMN.match(name.strip())
            if m and name not in CANVAS_IDENTITY:
                assignments[i] = (m["name"], m["id"])
        return cls(Path(path), header, rows, assignments)

    def column_for(self, assignment: str) -> int:
        def norm(text):
            return re.sub(r"[\s_\-]+", "_", text.strip().lower())

        hits = [i for i, (name, _) in self.assignments.items() if norm(name) == norm(assignment)]
        if len(hits) != 1:
            listed = "; ".join(self.header[i] for i in self.assignments) or "(none)"
            what = "no column" if not hits else "several columns"
            raise HandBackError(
                f"{self.path} has {what} for assignment {assignment!r}: name the Canvas assignment "
                f"{assignment!r}, or edit the header to '{assignment} (<its Canvas id>)'. "
                f"Assignment columns: {listed}")
        return hits[0]

    def fill(self, grades: list[SubmissionGrade], assignments: list[str],
             notes: list) -> tuple[list, list]:
        """(header, rows) of the import file: identity columns and the graded assignments."""
        columns = [self.column_for(a) for a in assignments]
        first = min(self.assignments) if self.assignments else len(self.header)
        identity = [i for i in range(first) if self.header[i] not in ("",)]
        id_col = self.header.index("ID")
        by_key = {(g.student_id, g.assignment): g for g in grades}
        points_row = next((r for r in self.rows if r and r[0].strip() == "Points Possible"), None)
        out, seen = [], set()
        for row in self.rows:
            row = row + [""] * (len(self.header) - len(row))
            cells = [row[i] for i in identity]
            sid = row[id_col].strip()
            for col, name in zip(columns, assignments):
                g = by_key.get((sid, name))
                if g is None or not sid:
                    cells.append(row[col])
                    continue
                seen.add((sid, name))
                points = points_row[col] if points_row and col < len(points_row) else ""
                cells.append(_scaled(g, points, notes))
            out.append(cells)
        unknown = sorted({g.student_id for g in grades if g.assignment in assignments} -
                         {s for s, _ in seen})
        if unknown:
            notes.append("not in the Canvas export, so not in the import file: "
                         f"{', '.join(unknown)}")
        return [self.header[i] for i in identity] + [self.header[c] for c in columns], out


# ----------------------------------------------------------------------------------------
# Moodle

@dataclass
class MoodleWorksheet:
    """A Moodle offline grading worksheet: header and rows, keyed on participant id."""

    path: Path
    header: list
    rows: list

    @classmethod
    def read(cls, path: Path) -> "MoodleWorksheet":
        header, rows = _read(path, ("Identifier", "Grade"), "a Moodle grading worksheet",
                             "download it from the assignment's 'Download grading worksheet'")
        return cls(Path(path), header, rows)

    def participant(self, row) -> str:
        m = _PARTICIPANT.search(row[self.header.index("Identifier")])
        return m.group(1) if m else ""

    def folders(self) -> dict[str, str]:
        """participant id -> the folder name Moodle's feedback zip expects."""
        if "Full name" not in self.header:
            return {}
        name = self.header.index("Full name")
        return {self.participant(r): f"{r[name]}_{self.participant(r)}_assignsubmission_file_"
                for r in self.rows if len(r) > name and self.participant(r)}

    def fill(self, grades: list[SubmissionGrade], assignments: list[str],
             notes: list) -> tuple[list, list]:
        if len(assignments) != 1:
            raise HandBackError("a Moodle grading worksheet belongs to one assignment; "
                                "grade one at a time with --assignment NAME")
        h = self.header
        grade_col = h.index("Grade")
        max_col = h.index("Maximum Grade") if "Maximum Grade" in h else None
        lock_col = h.index("Grade can be changed") if "Grade can be changed" in h else None
        comment_col = h.index("Feedback comments") if "Feedback comments" in h else None
        by_id = {g.student_id: g for g in grades if g.assignment == assignments[0]}
        out, seen, locked = [], set(), []
        for row in self.rows:
            row = row + [""] * (len(h) - len(row))
            pid = self.participant(row)
            g = by_id.get(pid)
            if g is not None:
                seen.add(pid)
                if lock_col is not None and row[lock_col].strip().lower() == "no":
                    locked.append(pid)
                else:
                    row[grade_col] = _scaled(g, row[max_col] if max_col is not None else "", notes)
                    if (comment_col is not None and g.status != "graded"
                            and not row[comment_col].strip()):
                        row[comment_col] = f"{g.status}: {g.reason}" if g.reason else g.status
            out.append(row)
        if locked:
            notes.append("Moodle says these grades cannot be changed; left as they were: "
                         f"{', '.join(locked)}")
        unknown = sorted(set(by_id) - seen)
        if unknown:
            notes.append(f"not in the Moodle worksheet, so not in the upload: {', '.join(unknown)}")
        return h, out


TEMPLATES = {"canvas": CanvasGradebook, "moodle": MoodleWorksheet}
IMPORT_NAMES = {"canvas": "canvas_import.csv", "moodle": "moodle_grading_worksheet.csv"}


# ----------------------------------------------------------------------------------------
# Roster

@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def read_roster(path: Path) -> dict[str, Person]:
    """LMS id -> :class:`Person` from a CSV with an id column (``id``, ``lms_id``,
    ``student_id`` or Moodle's ``Identifier``), ``name`` (or ``first_name`` and
    ``last_name``) and ``email``; header names are matched without regard to case."""
    header, rows = _read(path)
    lower = {h.strip().lower(): i for i, h in enumerate(header)}

    def col(*names):
        return next((lower[n] for n in names if n in lower), None)

    idc = col("id", "lms_id", "lms id", "student_id", "identifier")
    if idc is None:
        raise HandBackError(f"{path} has no id column (id, lms_id, student_id or Identifier); "
                            f"its columns: {', '.join(header)}")
    namec, firstc, lastc = col("name", "full name", "student"), col("first_name", "first name"), \
        col("last_name", "last name", "surname")
    emailc = col("email", "email address", "e-mail")
    people = {}
    for r in rows:
        r = r + [""] * (len(header) - len(r))
        raw = r[idc].strip()
        sid = _PARTICIPANT.search(raw).group(1) if raw.lower().startswith("participant") else raw
        if not sid:
            continue
        if firstc is not None or lastc is not None:
            first = r[firstc].strip() if firstc is not None else ""
            last = r[lastc].strip() if lastc is not None else ""
        else:
            full = r[namec].strip() if namec is not None else ""
            first, _, last = full.rpartition(" ")
            first, last = (first, last) if first else ("", last)
        people[sid] = Person(first, last, r[emailc].strip() if emailc is not None else "")
    return people


# ----------------------------------------------------------------------------------------

@dataclass
class HandBack:
    """The LMS options of one run, checked before grading starts."""

    lms: str | None = None
    template: object | None = None
    roster: dict = field(default_factory=dict)

    def check(self, assignments: list[str]) -> None:
        """Raise :class:`HandBackError` now if the template cannot take these assignments."""
        if self.template is None:
            return
        if isinstance(self.template, CanvasGradebook):
            for a in assignments:
                self.template.column_for(a)
        elif len(assignments) != 1:
            raise HandBackError("a Moodle grading worksheet belongs to one assignment; "
                                "grade one at a time with --assignment NAME")

    def columns(self, collected: dict, keys) -> dict:
        """Extra grades.csv columns for the submissions ``keys`` ((student, assignment) pairs):
        ``late`` (after ``actlab collect``), ``name`` and ``email`` (with a roster)."""
        extra = {}
        if collected:
            extra["late"] = {k: r.late for k, r in collected.items()}
        if self.roster:
            people = {k: self.roster[k[0]] for k in keys if k[0] in self.roster}
            extra["name"] = {k: p.name for k, p in people.items()}
            extra["email"] = {k: p.email for k, p in people.items()}
        return extra

    def record_names(self, course) -> None:
        """Put the roster's names and e-mails on the gradebook's students (formgrader shows
        them)."""
        if not self.roster:
            return
        from nbgrader.api import Gradebook

        with Gradebook(course.db_url, course.course_id) as gb:
            known = {s.id for s in gb.students}
            for sid, p in sorted(self.roster.items()):
                if sid in known:
                    gb.update_or_create_student(sid, first_name=p.first_name, last_name=p.last_name,
                                                email=p.email or None)

    def write(self, grades: list[SubmissionGrade], out: Path, collected: dict,
              feedback_root: Path | None = None) -> list[str]:
        """Write the import file and the feedback bundles under ``out/lms``; return notes."""
        notes: list[str] = []
        if self.lms is None:
            return notes
        assignments = sorted({g.assignment for g in grades})
        lms_dir = out / "lms"
        header, rows = self.template.fill(grades, assignments, notes)
        write_csv(lms_dir / IMPORT_NAMES[self.lms], header, rows)
        if feedback_root is not None:
            notes += package_feedback(self.lms, grades, feedback_root, lms_dir, collected,
                                      self.template)
        return notes


def hand_back(lms: str | None, template: Path | None, roster: Path | None) -> HandBack:
    """Check and read the LMS options (:class:`HandBackError` when they do not fit)."""
    if lms is not None and lms not in LMS_NAMES:
        raise HandBackError(str(unknown_name("LMS", lms, LMS_NAMES)))
    if (lms is None) != (template is None):
        raise HandBackError("--lms and --lms-template go together: the LMS's own export is "
                            "the file that gets filled in")
    people = read_roster(Path(roster)) if roster else {}
    if lms is None:
        return HandBack(roster=people)
    return HandBack(lms, TEMPLATES[lms].read(Path(template)), people)


def package_feedback(lms: str, grades: list[SubmissionGrade], feedback_root: Path, lms_dir: Path,
                     collected: dict, template) -> list[str]:
    """One file per student named by LMS id, and the LMS's own bundle.

    ``feedback_root`` holds the grader's pages, ``<student>/<assignment>/<notebook>.html``.
    Canvas: ``canvas_feedback_<assignment>.zip`` with ``<name>_<user id>_<attachment id>_...``
    names (only students whose download ``actlab collect`` read, since Canvas matches on the
    attachment). Moodle: ``moodle_feedback_<assignment>.zip`` with one folder per student.
    """
    notes = []
    folders = template.folders() if isinstance(template, MoodleWorksheet) else {}
    for assignment in sorted({g.assignment for g in grades}):
        per_id = lms_dir / "feedback" / assignment
        per_id.mkdir(parents=True, exist_ok=True)
        bundle = lms_dir / f"{lms}_feedback_{assignment}.zip"
        left_out = []
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
            for g in sorted((g for g in grades if g.assignment == assignment),
                            key=lambda g: g.student_id):
                pages = sorted((feedback_root / g.student_id / assignment).glob("*.html"))
                for page in pages:
                    suffix = "" if len(pages) == 1 else f"_{page.stem}"
                    data = page.read_bytes()
                    (per_id / f"{g.student_id}{suffix}.html").write_bytes(data)
                    record = collected.get((g.student_id, assignment))
                    if lms == "canvas":
                        key = record.lms_key if record else ""
                        if not key:
                            left_out.append(g.student_id)
                            continue
                        arcname = f"{key}_{assignment}_feedback{suffix}.html"
                    else:
                        key = folders.get(g.student_id) or (record.lms_key if record else "")
                        if not key:
                            left_out.append(g.student_id)
                            continue
                        arcname = f"{key}/{assignment}_feedback{suffix}.html"
                    zf.writestr(zip_entry(arcname), data)
        if left_out:
            notes.append(f"{assignment}: no LMS file to attach feedback to for "
                         f"{', '.join(sorted(set(left_out)))}; their pages are in {per_id}")
    return notes


def print_notes(prog: str, notes: list[str]) -> None:
    for note in notes:
        print(f"{prog}: {note}", file=sys.stderr)
