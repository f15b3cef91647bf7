"""`actlab collect`: LMS downloads (built here as Canvas and Moodle write them) into the
submitted layout, and the exports it must refuse.

Canvas's bulk download is one flat zip of ``<sortablename>_[LATE_]<user_id>_<attachment_id>_
<uploaded name>`` with ``-1``, ``-2`` on re-uploads; Moodle's has one folder per student,
``<Full Name>_<participant id>_assignsubmission_file_/<uploaded name>``, and its grading
worksheet gives the submission times.
"""

from __future__ import annotations

import csv
import struct
import zipfile
from pathlib import Path

import pytest

from helpers import DEMO_ASSIGNMENT, write_demo_course

from actlab.grading import collect as col

A = DEMO_ASSIGNMENT
NB = f"{A}.ipynb"


def _nb(tag: str) -> bytes:
    """A small notebook whose bytes say which upload it was."""
    return ('{"cells": [], "metadata": {"tag": "%s"}, "nbformat": 4, "nbformat_minor": 5}'
            % tag).encode()


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


CANVAS = {
    "smithjohn_1001_5001_my final version.ipynb": _nb("john"),
    "leeann_LATE_1002_5002_ps0_demo.ipynb": _nb("ann-0"),
    "leeann_LATE_1002_5004_ps0_demo-2.ipynb": _nb("ann-2"),
    "leeann_LATE_1002_5003_ps0_demo-1.ipynb": _nb("ann-1"),
    "zoë_1003_5005_ps1 (1).ipynb": _nb("zoe"),
    "李雷_1004_5006_作业.ipynb": _nb("li"),
    "nobook_1005_5007_report.pdf": b"%PDF-1.4",
    "twice_1006_5008_a.ipynb": _nb("a"),
    "twice_1006_5009_b.ipynb": _nb("b"),
}

MOODLE = {
    "Zoë Ångström_12_assignsubmission_file_/ps1 (1).ipynb": _nb("zoe"),
    "李 雷_13_assignsubmission_file_/作业 v2.ipynb": _nb("li"),
    "李 雷_13_assignsubmission_onlinetext_/onlinetext.html": b"<p>see notebook</p>",
    "Pat Doe_14_assignsubmission_onlinetext_/onlinetext.html": b"<p>I forgot</p>",
    "Sam Roe_15_assignsubmission_file_ps0_demo.ipynb": _nb("sam"),  # flat layout
}

WORKSHEET = [
    ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
     "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
     "Feedback comments"),
    ("Participant 12", "Zoë Ångström", "zoe@example.org", "Submitted for grading", "", "3.00",
     "Yes", "Sunday, 1 March 2026, 11:00 PM", "-", ""),
    ("Participant 13", "李 雷", "li@example.org", "Submitted for grading", "", "3.00", "Yes",
     "Monday, 2 March 2026, 9:15 AM", "-", ""),
    ("Participant 14", "Pat Doe", "pat@example.org", "Submitted for grading", "", "3.00", "Yes",
     "Sunday, 1 March 2026, 8:00 PM", "-", ""),
    ("Participant 15", "Sam Roe", "sam@example.org", "Submitted for grading", "", "3.00", "Yes",
     "-", "-", ""),
]


@pytest.fixture
def course(tmp_path):
    return write_demo_course(tmp_path / "course")


def _run(course, export, lms, into, *extra):
    return col.main([str(export), "--lms", lms, "--assignment", A, "--into", str(into),
                     "--course", str(course), "--quiet", *extra])


def _manifest(into: Path) -> dict[str, dict]:
    with open(into / f"collect_{A}.csv", newline="", encoding="utf-8") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def _tree(folder: Path) -> set[str]:
    return ({p.relative_to(folder).as_posix() for p in folder.rglob("*")} if folder.exists()
            else set())


def test_canvas_download_lands_under_the_course_notebook_name(course, tmp_path):
    """Is every Canvas upload stored as SUBMITTED/<user id>/<assignment>/<course notebook>.ipynb,
    whatever the student called it, non-ASCII names included?"""
    into = tmp_path / "submitted"
    assert _run(course, _zip(tmp_path / "canvas.zip", CANVAS), "canvas", into) == 0
    assert (into / "1001" / A / NB).read_bytes() == _nb("john")
    assert (into / "1003" / A / NB).read_bytes() == _nb("zoe")
    assert (into / "1004" / A / NB).read_bytes() == _nb("li")
    rows = _manifest(into)
    assert rows["1001"]["uploaded_as"] == "my final version.ipynb"
    assert rows["1004"]["uploaded_as"] == "作业.ipynb"
    assert rows["1003"]["name"] == "zoë"
    assert all(list(p.iterdir()) == [p / A] for p in into.iterdir() if p.name.isdigit())


def test_canvas_highest_reupload_suffix_wins_and_late_is_marked(course, tmp_path):
    """Of ps0_demo, ps0_demo-1 and ps0_demo-2, is -2 collected, and does LATE_ make the row late?"""
    into = tmp_path / "submitted"
    assert _run(course, _zip(tmp_path / "canvas.zip", CANVAS), "canvas", into) == 0
    assert (into / "1002" / A / NB).read_bytes() == _nb("ann-2")
    rows = _manifest(into)
    assert rows["1002"]["status"] == "collected" and rows["1002"]["late"] == "yes"
    assert rows["1002"]["uploaded_as"] == "ps0_demo-2.ipynb"
    assert rows["1002"]["lms_key"] == "leeann_LATE_1002_5004"  # the attachment graded
    assert rows["1001"]["late"] == "no"


def test_downloads_with_no_notebook_or_several_get_a_row_with_a_reason(course, tmp_path):
    """Do a PDF-only download and a two-notebook download get rows saying why, with their files
    quarantined inside --into and no submitted folder?"""
    into = tmp_path / "submitted"
    assert _run(course, _zip(tmp_path / "canvas.zip", CANVAS), "canvas", into) == 0
    rows = _manifest(into)
    assert rows["1005"]["status"] == "no_notebook" and "report.pdf" in rows["1005"]["reason"]
    assert rows["1006"]["status"] == "several_notebooks"
    assert "a.ipynb" in rows["1006"]["reason"] and "b.ipynb" in rows["1006"]["reason"]
    assert not (into / "1005").exists() and not (into / "1006").exists()
    kept = _tree(into / col.QUARANTINE / A)
    assert {"1005/nobook_1005_5007_report.pdf", "1006/twice_1006_5008_a.ipynb",
            "1006/twice_1006_5009_b.ipynb", "reasons.csv"} <= kept


def test_moodle_folders_and_flat_names_with_lateness_from_the_worksheet(course, tmp_path):
    """Are Moodle's per-student folders (and its flat layout) collected, non-ASCII names intact,
    online-text-only work reported, and lateness read from the worksheet against --due?"""
    into = tmp_path / "submitted"
    sheet = tmp_path / "worksheet.csv"
    with open(sheet, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows(WORKSHEET)
    code = _run(course, _zip(tmp_path / "moodle.zip", MOODLE), "moodle", into,
                "--worksheet", str(sheet), "--due", "2026-03-01T23:59")
    assert code == 0
    assert (into / "12" / A / NB).read_bytes() == _nb("zoe")
    assert (into / "13" / A / NB).read_bytes() == _nb("li")
    assert (into / "15" / A / NB).read_bytes() == _nb("sam")
    rows = _manifest(into)
    assert rows["14"]["status"] == "no_notebook" and "onlinetext.html" in rows["14"]["reason"]
    assert {s: rows[s]["late"] for s in rows} == {"12": "no", "13": "yes", "14": "no", "15": ""}
    assert rows["12"]["lms_key"] == "Zoë Ångström_12_assignsubmission_file_"
    assert rows["13"]["submitted_at"] == "Monday, 2 March 2026, 9:15 AM"


def test_an_unpacked_folder_is_collected_like_its_zip(course, tmp_path):
    """Given the folder the zip unpacks to instead of the zip, is the result the same?"""
    folder = tmp_path / "unpacked"
    for name, data in CANVAS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    a, b = tmp_path / "from_zip", tmp_path / "from_folder"
    assert _run(course, _zip(tmp_path / "canvas.zip", CANVAS), "canvas", a) == 0
    assert _run(course, folder, "canvas", b) == 0
    assert _tree(a) == _tree(b)
    assert (a / f"collect_{A}.csv").read_bytes() == (b / f"collect_{A}.csv").read_bytes()


def test_collecting_twice_needs_force_and_force_replaces(course, tmp_path):
    """Is a second collect of the same assignment refused (exit 2) unless --force, which replaces
    it?"""
    into = tmp_path / "submitted"
    export = _zip(tmp_path / "canvas.zip", CANVAS)
    assert _run(course, export, "canvas", into) == 0
    assert _run(course, export, "canvas", into) == 2
    smaller = _zip(tmp_path / "again.zip", {"smithjohn_1001_5011_ps0_demo.ipynb": _nb("john-2")})
    assert _run(course, smaller, "canvas", into, "--force") == 0
    assert (into / "1001" / A / NB).read_bytes() == _nb("john-2")
    assert not (into / "1002").exists()
    assert list(_manifest(into)) == ["1001"]


# ----------------------------------------------------------------------------------------
# Refused exports: exit 2, a one-line reason, nothing written.

def _refused(course, tmp_path, export, lms, capsys) -> str:
    into = tmp_path / "into"
    before = _tree(tmp_path)
    assert _run(course, export, lms, into) == 2
    assert _tree(tmp_path) == before  # not even --into was created
    err = capsys.readouterr().err
    assert err.startswith("actlab collect: error: ") and err.count("\n") == 1
    return err


def test_zip_entry_escaping_the_folder_is_refused(course, tmp_path, capsys):
    """Is a zip with '../../x.ipynb' refused before anything is written?"""
    export = _zip(tmp_path / "evil.zip", {"smithjohn_1001_5001_ok.ipynb": _nb("ok"),
                                          "../../smithjohn_1001_5002_x.ipynb": _nb("x")})
    assert "escapes" in _refused(course, tmp_path, export, "canvas", capsys)


def test_zip_bomb_is_refused_from_its_declared_sizes(course, tmp_path, capsys):
    """Is a zip whose entries declare more than MAX_EXPORT_BYTES refused before extracting?"""
    export = _zip(tmp_path / "bomb.zip", {"a_1_1_x.ipynb": b"x" * 10, "b_2_2_y.ipynb": b"y" * 10})
    data = bytearray(export.read_bytes())
    # Declare 3 GiB for each entry in the central directory (uncompressed size at offset 24).
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        data[pos + 24:pos + 28] = struct.pack("<I", 3 * 2**30)
        pos = data.find(b"PK\x01\x02", pos + 4)
    export.write_bytes(bytes(data))
    assert "zip bomb" in _refused(course, tmp_path, export, "canvas", capsys)


def test_a_file_over_intakes_cap_is_quarantined_not_unpacked(course, tmp_path, monkeypatch):
    """Is a notebook larger than intake's cap left packed, its student quarantined with the
    reason?"""
    monkeypatch.setattr(col, "MAX_FILE_BYTES", 1000)
    export = _zip(tmp_path / "big.zip",
                  {"bigbob_1007_5010_ps0_demo.ipynb": b"{" + b" " * 100_000 + b"}",
                   "smithjohn_1001_5001_ps0_demo.ipynb": _nb("john")})
    into = tmp_path / "submitted"
    assert _run(course, export, "canvas", into) == 0
    row = _manifest(into)["1007"]
    assert row["status"] == "quarantined" and "too large" in row["reason"]
    assert not (into / "1007").exists()
    assert all(p.stat().st_size < 1000 for p in into.rglob("*")
               if p.is_file() and p.suffix != ".csv")


def test_a_file_that_is_not_a_zip_is_refused(course, tmp_path, capsys):
    """Is a text file given as the export refused with exit 2?"""
    export = tmp_path / "grades.zip"
    export.write_text("not a zip at all")
    assert "not a zip" in _refused(course, tmp_path, export, "canvas", capsys)


@pytest.mark.parametrize("lms, files", [("canvas", {"homework.ipynb": _nb("h")}),
                                        ("canvas", MOODLE), ("moodle", CANVAS)])
def test_an_unknown_layout_is_refused(course, tmp_path, capsys, lms, files):
    """Is a zip that does not follow the LMS's naming (or is the other LMS's) refused with exit
    2?"""
    export = _zip(tmp_path / "x.zip", files)
    assert (f"not a {lms.capitalize()} submissions download"
            in _refused(course, tmp_path, export, lms, capsys))


def test_unmatched_files_in_a_real_download_are_quarantined_with_the_reason(course, tmp_path):
    """Is a stray file in an otherwise Canvas-shaped zip kept aside with its reason, not dropped?"""
    into = tmp_path / "submitted"
    export = _zip(tmp_path / "c.zip",
                  {**CANVAS, "notes from the TA.txt": b"hi", "__MACOSX/._x": b""})
    assert _run(course, export, "canvas", into) == 0
    with open(into / col.QUARANTINE / A / "reasons.csv", newline="", encoding="utf-8") as fh:
        reasons = {r["file"]: r["reason"] for r in csv.DictReader(fh)}
    assert "naming" in reasons["unmatched/notes from the TA.txt"]
    assert not any("MACOSX" in f for f in reasons)


@pytest.mark.parametrize("args, message", [
    (["--assignment", "ps9"], "unknown assignment 'ps9'"),
    (["--due", "2026-03-01"], "--worksheet and --due go together"),
])
def test_bad_arguments_are_usage_errors(course, tmp_path, capsys, args, message):
    """Do an unknown assignment and --due without a worksheet exit with 2 and say why?"""
    export = _zip(tmp_path / "m.zip", MOODLE)
    argv = [str(export), "--lms", "moodle", "--assignment", A, "--into", str(tmp_path / "i"),
            "--course", str(course), *args]
    assert col.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_collectors_are_nbgrader_filename_plugins(tmp_path):
    """Are the LMS parsers nbgrader zip_collect plugins that read absolute paths as zip_collect
    passes them?"""
    from nbgrader.plugins import FileNameCollectorPlugin

    canvas = col.CanvasCollector().collect(
        str(tmp_path / "extracted" / "leeann_LATE_1002_5004_ps0_demo-2.ipynb"))
    assert isinstance(col.CanvasCollector(), FileNameCollectorPlugin)
    assert ((canvas["student_id"], canvas["file_id"], canvas["late"])
            == ("1002", "ps0_demo-2.ipynb", "yes"))
    moodle = col.MoodleCollector().collect(
        str(tmp_path / "extracted" / "Zoë Ångström_12_assignsubmission_file_" / "ps1 (1).ipynb"))
    assert ((moodle["student_id"], moodle["file_id"], moodle["name"])
            == ("12", "ps1 (1).ipynb", "Zoë Ångström"))
