"""``actlab collect``: turn an LMS bulk download into nbgrader's submitted layout.

    actlab collect EXPORT --lms canvas|moodle --assignment NAME --into SUBMITTED
                   [--worksheet GRADING_WORKSHEET.csv --due DATETIME] [--course DIR] [--force]

EXPORT is the zip the LMS gives for "download all submissions" (or the folder it unpacks
to). Every student becomes ``SUBMITTED/<lms id>/<assignment>/<notebook>.ipynb``, under the
course's notebook name whatever the student called the file, and one row of
``SUBMITTED/collect_<assignment>.csv`` (:data:`MANIFEST_COLUMNS`) says what was done:
``collected``, or why not (``no_notebook``, ``several_notebooks``, ``quarantined``), whether
the work was late, and what the LMS needs to take feedback back. ``actlab grade`` reads that
file, so a student whose download held no notebook or several still gets a row.

The LMS file names are parsed by nbgrader's own ``zip_collect`` plugin type
(:class:`CanvasCollector`, :class:`MoodleCollector`, both ``FileNameCollectorPlugin``
subclasses that also work with ``nbgrader zip_collect --collector=...``). The unpacking is
not nbgrader's: its extractor has no bound, while this one checks every entry's name and
declared size before anything is written, caps each file at intake's limit and the whole
export at :data:`MAX_EXPORT_BYTES`, and never writes outside ``--into``.

Layouts (from the LMSs' documentation):

* Canvas: one flat zip of ``<sortablename>_[LATE_]<user_id>_<attachment_id>_<uploaded name>``;
  a file uploaded again under the same name gets ``-1``, ``-2``, ... before its extension.
* Moodle: one folder per student and submission plugin,
  ``<Full Name>_<participant id>_assignsubmission_file_/<uploaded name>`` (or the same prefix
  glued to the file name, without folders). Lateness comes from the "Last modified
  (submission)" column of the assignment's offline grading worksheet, compared with ``--due``.

Exit status: 0 once every student has a row, 2 for usage errors and refused exports.
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import re
import shutil
import stat
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path, PurePosixPath

from traitlets import Unicode

from ..util import progress, unknown_name, write_csv
from .course import CourseError, add_course_argument, load_course
from .intake import MAX_NOTEBOOK_BYTES
from .lms import LMS_NAMES

#: The whole unpacked export may not exceed this (a zip bomb is refused before extracting).
MAX_EXPORT_BYTES = 4 * 1024**3
#: Nor may it hold more entries than this.
MAX_EXPORT_ENTRIES = 50_000
#: Per file: intake's cap, so nothing is unpacked that intake would refuse to read.
MAX_FILE_BYTES = MAX_NOTEBOOK_BYTES

MANIFEST_COLUMNS = ("student_id", "assignment", "status", "reason", "late", "name",
                    "submitted_at", "uploaded_as", "lms_key")
#: Collect outcomes that leave nothing to grade; ``actlab grade`` reports them as statuses.
UNGRADABLE = ("no_notebook", "several_notebooks", "quarantined")
QUARANTINE = ".quarantine"
_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|\._|Thumbs\.db$|desktop\.ini$)")
_REUPLOAD = re.compile(r"^(?P<base>.*?)(?:-(?P<n>\d+))?(?P<ext>\.[^.]+)$")


class CollectError(Exception):
    """A refused export or bad arguments: one line, exit status 2."""


# ----------------------------------------------------------------------------------------
# File names: nbgrader's collector plugins, one per LMS.
#
# nbgrader takes most of a second to import (its package loads its Jupyter server
# extensions), and `actlab grade` imports this module for its manifest reader. The plugin
# classes, the only part that needs nbgrader, are therefore made on first use, so that
# `actlab grade --help` and usage errors answer at once; module attribute access
# (`actlab.grading.collect.CanvasCollector`, as `nbgrader zip_collect --collector=` names
# them) reaches them through __getattr__.

@functools.cache
def collectors() -> dict[str, type]:
    """{LMS name: its nbgrader ``FileNameCollectorPlugin`` subclass}."""
    from nbgrader.plugins import FileNameCollectorPlugin

    class CanvasCollector(FileNameCollectorPlugin):
        """Canvas bulk-download names:
        ``<sortablename>_[LATE_]<user_id>_<attachment_id>_<name>``.

        ``collect(path)`` looks at the file name only (so absolute paths from
        ``nbgrader zip_collect`` work too) and returns ``student_id`` (Canvas user id),
        ``file_id`` (the uploaded name), ``name`` (sortable name), ``late`` ('yes'/'no'),
        ``lms_key`` (the name prefix Canvas's "re-upload submissions" matches feedback on).
        Unlike the base class it reports files of every extension: a download that holds
        only a PDF must still say so.
        """

        named_regexp = Unicode(
            r"^(?P<lms_key>(?P<name>[^_]*)_(?P<late>LATE_)?(?P<student_id>\d+)"
            r"_(?P<attachment_id>\d+))_(?P<file_id>.+)$").tag(config=True)

        def collect(self, submitted_file: str) -> dict | None:
            info = self._match(PurePosixPath(str(submitted_file).replace(os.sep, "/")).name)
            if not info:
                return None
            info["late"] = "yes" if info.get("late") else "no"
            return info

    class MoodleCollector(FileNameCollectorPlugin):
        """Moodle download names:
        ``<Full Name>_<participant id>_assignsubmission_<plugin>_/<name>``.

        Works on the last two path components (folder layout) or the file name alone (the
        flat layout Moodle writes when "download submissions in folders" is off). Returns
        ``student_id`` (participant id), ``file_id``, ``name`` (full name), ``plugin``
        (``file``, ``onlinetext``, ...) and ``lms_key`` (the student's folder name, which
        Moodle's "upload feedback files in a zip" matches on).
        """

        named_regexp = Unicode(
            r"^(?P<name>.+?)_(?P<student_id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<sep>/?)"
            r"(?P<file_id>[^/].*)$").tag(config=True)

        def collect(self, submitted_file: str) -> dict | None:
            parts = PurePosixPath(str(submitted_file).replace(os.sep, "/")).parts
            info = None
            if len(parts) >= 2:
                info = self._match("/".join(parts[-2:]))
            if not info or not info.get("sep"):
                info = self._match(parts[-1]) if parts else None
            if not info:
                return None
            info["lms_key"] = f"{info['name']}_{info['student_id']}_assignsubmission_file_"
            return info

    return {"canvas": CanvasCollector, "moodle": MoodleCollector}


def __getattr__(name: str):
    lms = {"CanvasCollector": "canvas", "MoodleCollector": "moodle"}.get(name)
    if lms is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return collectors()[lms]


def _quiet(plugin):
    """The plugin's 'did not match' warnings are our quarantine reasons, not log noise."""
    plugin.log.setLevel("ERROR")
    return plugin


# ----------------------------------------------------------------------------------------
# Reading the export without trusting it.

@dataclass
class Entry:
    """One file of the export: its path inside (POSIX, as the LMS wrote it) and its bytes
    (``None`` when refused, with ``refused`` saying why)."""

    path: str
    size: int
    data: bytes | None = None
    refused: str = ""


def _fix_zip_name(info: zipfile.ZipInfo) -> str:
    """Entry names flagged as UTF-8 are already right; others were decoded as cp437 by
    zipfile, while most LMSs (and every modern zip tool) wrote UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _safe_relpath(name: str) -> str:
    """``name`` as a relative POSIX path, or :class:`CollectError` when it could escape."""
    name = name.replace("\\", "/")
    pure = PurePosixPath(name)
    if (name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in pure.parts
            or "\x00" in name):
        raise CollectError(f"refused: the export holds an entry that escapes its folder: {name!r}")
    return str(PurePosixPath(*[p for p in pure.parts if p not in ("", ".")]))


def read_export(export: Path, progress_bar: bool | None = None) -> list[Entry]:
    """Every file of ``export`` (a zip or a folder), checked before a byte is unpacked.

    Refused with :class:`CollectError`: not a zip nor a folder, an entry escaping the folder,
    more than :data:`MAX_EXPORT_ENTRIES` entries or :data:`MAX_EXPORT_BYTES` in total
    (declared sizes, read before extracting). A file above :data:`MAX_FILE_BYTES` is kept
    as an entry with ``refused`` set and no data.
    """
    export = Path(export)
    if export.is_dir():
        return _read_folder(export, progress_bar)
    if not export.is_file():
        raise CollectError(f"export {export} does not exist")
    if not zipfile.is_zipfile(export):
        raise CollectError(f"refused: {export} is not a zip file (give the LMS's download, "
                           "or the folder it unpacks to)")
    try:
        archive = zipfile.ZipFile(export)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CollectError(f"refused: {export} is not a readable zip file ({exc})") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_EXPORT_ENTRIES:
            raise CollectError(f"refused: {export} holds {len(infos)} files, more than "
                               f"{MAX_EXPORT_ENTRIES}")
        total = sum(i.file_size for i in infos)
        if total > MAX_EXPORT_BYTES:
            raise CollectError(f"refused: {export} would unpack to {total / 2**30:.1f} GiB, more "
                               f"than {MAX_EXPORT_BYTES / 2**30:.0f} GiB (a zip bomb?)")
        named = [(_safe_relpath(_fix_zip_name(i)), i) for i in infos]
        entries = []
        for path, info in progress(named, enabled=progress_bar, desc="unpacking", unit="file"):
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                entries.append(Entry(path, info.file_size, refused="symbolic link in the export"))
                continue
            if info.file_size > MAX_FILE_BYTES:
                entries.append(Entry(path, info.file_size, refused=_too_large(info.file_size)))
                continue
            try:
                with archive.open(info) as fh:
                    # Never more than the cap, whatever the entry's header claims.
                    data = fh.read(MAX_FILE_BYTES + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                entries.append(Entry(path, info.file_size,
                                     refused=f"unreadable in the zip ({exc})"))
                continue
            if len(data) > MAX_FILE_BYTES:
                entries.append(Entry(path, len(data), refused=_too_large(len(data))))
                continue
            entries.append(Entry(path, len(data), data))
    return entries


def _too_large(size: int) -> str:
    return f"file too large ({size / 2**20:.0f} MiB > {MAX_FILE_BYTES / 2**20:.0f} MiB)"


def _read_folder(folder: Path, progress_bar) -> list[Entry]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    if len(files) > MAX_EXPORT_ENTRIES:
        raise CollectError(f"refused: {folder} holds {len(files)} files, more than "
                           f"{MAX_EXPORT_ENTRIES}")
    entries, total = [], 0
    for path in progress(files, enabled=progress_bar, desc="reading", unit="file"):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            entries.append(Entry(rel, 0, refused="symbolic link in the export"))
            continue
        size = path.stat().st_size
        total += size
        if total > MAX_EXPORT_BYTES:
            raise CollectError(f"refused: {folder} holds more than "
                               f"{MAX_EXPORT_BYTES / 2**30:.0f} GiB")
        if size > MAX_FILE_BYTES:
            entries.append(Entry(rel, size, refused=_too_large(size)))
            continue
        entries.append(Entry(rel, size, path.read_bytes()))
    return entries


# ----------------------------------------------------------------------------------------
# Grouping per student and choosing the notebook.

@dataclass
class Collected:
    """One row of ``collect_<assignment>.csv``: what collect did for one student."""

    student_id: str
    assignment: str
    status: str
    reason: str = ""
    late: str = ""
    name: str = ""
    submitted_at: str = ""
    uploaded_as: str = ""
    lms_key: str = ""
    # Not written to the manifest: the (entry, info) pairs of the student's files, and the
    # {notebook name: (entry, info)} chosen for grading.
    files: list = field(default_factory=list, repr=False)
    chosen: dict | None = field(default=None, repr=False)


def _reupload(file_id: str) -> tuple[str, int]:
    """('ps1.ipynb', 2) for 'ps1-2.ipynb': the name before re-upload numbering, and the number."""
    m = _REUPLOAD.match(file_id)
    if not m:
        return file_id, 0
    return m["base"] + m["ext"], int(m["n"] or 0)


def _choose(row: Collected, notebooks: tuple[str, ...]) -> tuple[str, dict | None, list]:
    """(status, {notebook name: entry}, notes) for one student's files."""
    nbs = [(e, i) for e, i in row.files if e.path.lower().endswith(".ipynb")]
    others = [i["file_id"] for e, i in row.files if not e.path.lower().endswith(".ipynb")]
    refused = [(e, i) for e, i in nbs if e.refused]
    if refused:
        e, _ = refused[0]
        return "quarantined", None, [f"{refused[0][1]['file_id']}: {e.refused}"]
    if not nbs:
        what = ", ".join(others) or "nothing"
        return "no_notebook", None, [f"download holds no notebook ({what})"]
    groups: dict[str, list] = {}
    for e, i in nbs:
        base, n = _reupload(i["file_id"])
        groups.setdefault(unicodedata.normalize("NFC", base), []).append((n, e, i))
    if len(notebooks) == 1:
        if len(groups) > 1:
            names = ", ".join(sorted(i["file_id"] for _, i in nbs))
            return "several_notebooks", None, [f"download holds {len(groups)} notebooks: {names}"]
        (versions,) = groups.values()
        n, e, i = max(versions, key=lambda v: v[0])
        notes = [f"stored '{i['file_id']}' as {notebooks[0]}.ipynb"]
        if len(versions) > 1:
            notes.append(f"latest of {len(versions)} uploads")
        return "collected", {notebooks[0]: (e, i)}, notes
    # Several notebooks expected: each upload must be one of them (re-upload numbers aside).
    chosen, unknown = {}, []
    for base, versions in groups.items():
        stem = PurePosixPath(base).stem
        if stem in notebooks:
            n, e, i = max(versions, key=lambda v: v[0])
            chosen[stem] = (e, i)
        else:
            unknown.append(base)
    if unknown:
        return "several_notebooks", None, ["notebooks not part of the assignment: "
                                           f"{', '.join(sorted(unknown))}"]
    return "collected", chosen, [f"stored {', '.join(sorted(chosen))}"]


def _moodle_times(worksheet: Path) -> dict[str, str]:
    """participant id -> 'Last modified (submission)' text, from Moodle's grading worksheet."""
    rows = read_csv(worksheet)
    if not rows or "Identifier" not in rows[0]:
        raise CollectError(f"{worksheet} is not a Moodle grading worksheet "
                           "(no 'Identifier' column)")
    column = next((c for c in rows[0] if c.lower().startswith("last modified (submission)")), None)
    if column is None:
        raise CollectError(f"{worksheet} has no 'Last modified (submission)' column")
    times = {}
    for r in rows:
        pid = re.sub(r"\D", "", r["Identifier"] or "")
        if pid:
            times[pid] = (r.get(column) or "").strip()
    return times


def parse_time(text: str) -> datetime | None:
    """A Moodle date such as 'Tuesday, 6 March 2018, 11:38 AM' (or ISO); None for '-' or ''."""
    from dateutil import parser as dateparser

    text = (text or "").strip()
    if text in ("", "-"):
        return None
    try:
        return dateparser.parse(text).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV file as dicts; LMS exports may start with a byte-order mark."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def collect(export: Path, lms: str, assignment: str, into: Path, *, course_root: Path | None = None,
            worksheet: Path | None = None, due: str | None = None, force: bool = False,
            progress_bar: bool | None = None) -> list[Collected]:
    """Collect one assignment from an LMS export into ``into``; return one row per student.

    Raises :class:`CollectError` for refused exports and bad arguments; in that case
    nothing has been written.
    """
    if lms not in LMS_NAMES:
        raise CollectError(str(unknown_name("LMS", lms, LMS_NAMES)))
    try:
        course = load_course(course_root)
        course.check_assignment(assignment)
    except CourseError as exc:
        raise CollectError(str(exc)) from exc
    notebooks = tuple(sorted(p.stem for p in (course.source_dir / assignment).glob("*.ipynb")))
    due_at = None
    if due is not None:
        due_at = parse_time(due)
        if due_at is None:
            raise CollectError(f"--due {due!r} is not a date and time (e.g. 2026-03-01T23:59)")
    if (worksheet is None) != (due is None) and lms == "moodle":
        raise CollectError("--worksheet and --due go together: lateness is the worksheet's "
                           "submission time against the due date")
    if lms == "canvas" and (worksheet or due):
        raise CollectError("Canvas marks late files itself (LATE_ in the name); "
                           "--worksheet and --due are for Moodle")
    times = _moodle_times(worksheet) if worksheet else {}

    into = Path(into)
    manifest = into / f"collect_{assignment}.csv"
    if manifest.exists() and not force:
        raise CollectError(f"{manifest} exists: this assignment was collected into {into} already; "
                           "pass --force to collect it again")

    entries = read_export(export, progress_bar)
    plugin = _quiet(collectors()[lms]())
    students: dict[str, Collected] = {}
    unmatched = []
    for entry in entries:
        if _JUNK.search(entry.path):
            continue
        info = plugin.collect(entry.path)
        if not info:
            unmatched.append(entry)
            continue
        sid = info["student_id"]
        row = students.setdefault(sid, Collected(sid, assignment, "", name=info.get("name", ""),
                                                 lms_key=info.get("lms_key", "")))
        row.files.append((entry, info))
        if lms == "canvas" and info["late"] == "yes":
            row.late = "yes"
    if not students:
        example = next((e.path for e in unmatched), "(empty)")
        raise CollectError(f"refused: {export} is not a {lms.capitalize()} submissions download "
                           f"(no file follows its naming, e.g. {example!r})")

    rows = []
    for sid in sorted(students, key=lambda s: (len(s), s)):
        row = students[sid]
        row.status, chosen, notes = _choose(row, notebooks)
        row.reason = "; ".join(notes)
        if chosen:
            row.uploaded_as = "; ".join(i["file_id"] for _, (e, i) in sorted(chosen.items()))
            if lms == "canvas":
                # Feedback is matched on the attachment that was graded.
                row.lms_key = next(iter(chosen.values()))[1]["lms_key"]
        if lms == "canvas":
            row.late = row.late or "no"
        elif sid in times:
            row.submitted_at = times[sid]
            when = parse_time(times[sid])
            row.late = "" if when is None or due_at is None else ("yes" if when > due_at else "no")
        row.chosen = chosen
        rows.append(row)

    _write(into, assignment, rows, unmatched, force)
    return rows


def _write(into: Path, assignment: str, rows: list[Collected], unmatched: list[Entry], force: bool):
    """Lay out the submitted folder, the quarantine and the manifest (only inside ``into``)."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    quarantine = into / QUARANTINE / assignment
    if force:
        _forget(into, assignment)
    for row in rows:
        if row.chosen:
            folder = into / row.student_id / assignment
            for name, (entry, _) in sorted(row.chosen.items()):
                _write_inside(root, folder / f"{name}.ipynb", entry.data)
        else:
            for entry, info in row.files:
                if entry.data is not None:
                    _write_inside(root, quarantine / row.student_id / _flat(entry.path), entry.data)
    reasons = [(f"{r.student_id}/{_flat(e.path)}", r.reason) for r in rows if not r.chosen
               for e, _ in r.files]
    for entry in unmatched:
        reason = entry.refused or "file name does not follow the LMS's naming"
        if entry.data is not None:
            _write_inside(root, quarantine / "unmatched" / _flat(entry.path), entry.data)
        reasons.append((f"unmatched/{_flat(entry.path)}", reason))
    if reasons:
        write_csv(quarantine / "reasons.csv", ("file", "reason"), sorted(reasons))
    write_csv(into / f"collect_{assignment}.csv", MANIFEST_COLUMNS,
              ([getattr(r, c) for c in MANIFEST_COLUMNS] for r in rows))


def _flat(path: str) -> str:
    """A file name for the quarantine that keeps the LMS's folder in it."""
    return path.replace("/", "__")


def _write_inside(root: Path, dest: Path, data: bytes) -> None:
    # Every name written is built from LMS ids, course names and checked entry names; this
    # is the last guard that nothing lands outside --into.
    if root not in dest.resolve().parents:
        raise CollectError(f"refused to write outside {root}: {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def _forget(into: Path, assignment: str) -> None:
    """Remove what an earlier collect of ``assignment`` wrote (its manifest lists it)."""
    manifest = into / f"collect_{assignment}.csv"
    if manifest.exists():
        for row in read_csv(manifest):
            sid = row.get("student_id", "")
            if re.fullmatch(r"\d+", sid or ""):
                shutil.rmtree(into / sid / assignment, ignore_errors=True)
                if (into / sid).is_dir() and not any((into / sid).iterdir()):
                    (into / sid).rmdir()
        manifest.unlink()
    shutil.rmtree(into / QUARANTINE / assignment, ignore_errors=True)


# ----------------------------------------------------------------------------------------
# What grading reads back.

@dataclass(frozen=True)
class CollectRecord:
    """One manifest row as ``actlab grade`` uses it."""

    student_id: str
    assignment: str
    status: str
    reason: str
    late: str
    name: str
    submitted_at: str
    uploaded_as: str
    lms_key: str


def read_manifests(submitted: Path) -> dict[tuple[str, str], CollectRecord]:
    """{(student id, assignment): record} from every ``collect_*.csv`` in ``submitted``
    (empty when the folder was not made by ``actlab collect``)."""
    records = {}
    names = [f.name for f in fields(CollectRecord)]
    for path in sorted(Path(submitted).glob("collect_*.csv")):
        for row in read_csv(path):
            rec = CollectRecord(**{n: row.get(n, "") or "" for n in names})
            records[(rec.student_id, rec.assignment)] = rec
    return records


# ----------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actlab collect",
        description="Unpack an LMS's 'download all submissions' zip into SUBMITTED/<lms id>/"
                    "<assignment>/<notebook>.ipynb, ready for actlab grade.")
    p.add_argument("export", type=Path, help="the LMS's zip (or the folder it unpacks to)")
    p.add_argument("--lms", required=True, choices=LMS_NAMES, help="which LMS made the download")
    p.add_argument("--assignment", required=True,
                   help="the course's assignment these submissions are for")
    p.add_argument("--into", required=True, type=Path, help="the submitted folder to fill")
    p.add_argument("--worksheet", type=Path,
                   help="Moodle: the assignment's offline grading worksheet (CSV), for "
                        "submission times")
    p.add_argument("--due", help="Moodle: the due date and time, e.g. 2026-03-01T23:59; "
                                 "later submissions are marked late")
    add_course_argument(p)
    p.add_argument("--force", action="store_true",
                   help="replace an earlier collect of this assignment")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``actlab collect``; ``argv`` is everything after ``collect``."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        rows = collect(args.export, args.lms, args.assignment, args.into, course_root=args.course,
                       worksheet=args.worksheet, due=args.due, force=args.force,
                       progress_bar=False if args.quiet else None)
    except CollectError as exc:
        print(f"actlab collect: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        counts = Counter(r.status for r in rows)
        late = sum(r.late == "yes" for r in rows)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"{len(rows)} student(s): {summary}; {late} late. "
              f"Manifest: {Path(args.into) / f'collect_{args.assignment}.csv'}")
        if any(r.status != "collected" for r in rows):
            print(f"Files not collected are kept, with the reason, in "
                  f"{Path(args.into) / QUARANTINE / args.assignment}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
