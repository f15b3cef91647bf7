"""Checks on a student's folder before anything in it is executed.

:func:`inspect_submission` compares what a student handed in with the released version of
the assignment and returns, per expected notebook, whether it can be graded, a short
reason, and a cleaned :class:`nbformat.NotebookNode`:

* refused (``ok=False``, the notebook is quarantined, the batch goes on): file larger than
  ``max_bytes`` (:data:`MAX_NOTEBOOK_BYTES`), not UTF-8 JSON (e.g. an HTML page saved as
  ``.ipynb``), not nbformat 4, failing nbformat's schema, not handed in at all;
* repaired (``ok=True``, ``notes`` say what was done): graded cells that were deleted
  (restored from the release; nbgrader's ``OverwriteCells`` then puts back the full test
  source, hidden tests included, from the gradebook), nbgrader metadata that was deleted or
  edited (restored from the release, matching cells by grade_id, else by nbformat cell id),
  changed cell types, duplicated graded cells (later copies lose their nbgrader metadata,
  so they are not graded twice), edited locked/test cells, a changed kernelspec;
* renamed notebooks: an unexpected notebook whose graded cells match an expected notebook
  that is missing is graded under the expected name (``renamed_from`` says so); other
  unexpected notebooks are listed in ``IntakeReport.extra`` and not graded.

Outputs are always cleared here (they would be re-created by execution anyway), so forged
outputs in a submission can never reach the gradebook.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: The largest notebook file that is read at all, wherever it is first seen (``actlab grade``
#: checks it before reading a submitted folder, so an oversized notebook never reaches a
#: worker). The course's notebooks are tens of KiB; outputs are cleared on intake anyway.
MAX_NOTEBOOK_BYTES = 20 * 2**20


@dataclass
class NotebookIntake:
    """The intake verdict for one expected notebook.

    ``name``: notebook name without ``.ipynb``; ``ok``: may be graded; ``reason``: short
    phrase (why it was refused, or what was repaired); ``notebook``: the cleaned
    NotebookNode (nbformat 4) when ``ok``; ``notes``: every repair made;
    ``renamed_from``: file name it was handed in under, when renamed.
    """

    name: str
    ok: bool
    reason: str = ""
    notebook: object | None = None
    notes: list = field(default_factory=list)
    renamed_from: str | None = None
    path: str | None = None


@dataclass
class IntakeReport:
    """All verdicts for one student folder. ``notebooks`` maps expected name -> verdict;
    ``extra`` lists notebook files that are not part of the assignment (not graded)."""

    notebooks: dict
    extra: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(entry.ok for entry in self.notebooks.values())


class IntakeError(ValueError):
    """A notebook that cannot be graded; the message is the short quarantine reason."""


def _grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def unreadable_reason(path: str | os.PathLike, max_bytes: int = MAX_NOTEBOOK_BYTES) -> str | None:
    """Why the notebook file at ``path`` must not even be read, or None.

    A symbolic link could point at solutions/ or the gradebook, read with the grader's rights;
    a file over ``max_bytes`` would be read into memory and shipped to a worker. Looks only at
    the link and the size, never at the content.
    """
    path = Path(path)
    if path.is_symlink():
        return "notebook is a symbolic link"
    size = path.stat().st_size
    if size > max_bytes:
        return f"file too large ({size / 2**20:.0f} MiB > {max_bytes / 2**20:.0f} MiB)"
    return None


def load_checked(path: str | os.PathLike, max_bytes: int = MAX_NOTEBOOK_BYTES):
    """Read and validate one notebook file; raise :class:`IntakeError` with a short reason."""
    path = Path(path)
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    reason = unreadable_reason(path, max_bytes)
    if reason:
        raise IntakeError(reason)
    size = path.stat().st_size
    if size == 0:
        raise IntakeError("empty file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError:
        head = text.lstrip()[:200].lower()
        if head.startswith("<!doctype html") or head.startswith("<html"):
            raise IntakeError("not a notebook (an HTML page saved as .ipynb)") from None
        raise IntakeError("not valid JSON") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise IntakeError("JSON but not a notebook")
    major = data.get("nbformat")
    if major != 4:
        raise IntakeError(f"nbformat {major} notebook; nbformat 4 required")
    try:
        # reads() also joins multi-line sources, which from_dict() would leave as lists.
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        message = str(exc).strip().splitlines()[0][:120]
        raise IntakeError(f"invalid notebook ({message})") from None
    except Exception as exc:  # malformed structures make the validator itself trip
        raise IntakeError(f"invalid notebook ({type(exc).__name__})") from None
    return nb


def _graded_ids(nb) -> list[str]:
    return [gid for gid in (_grade_id(c) for c in nb.cells) if gid]


def clean_against_release(nb, release_nb) -> tuple[object, list[str]]:
    """Repair ``nb`` against the released notebook; return (cleaned copy, notes)."""
    nb = copy.deepcopy(nb)
    notes: list[str] = []
    release_by_gid = {_grade_id(c): c for c in release_nb.cells if _grade_id(c)}
    release_by_cell_id = {c.get("id"): c for c in release_nb.cells if c.get("id") and _grade_id(c)}

    # Outputs are re-created by execution; anything handed in is discarded (nbgrader's
    # ClearOutput step is this preprocessor). nbconvert is imported here, not with this module,
    # which `actlab grade` needs before its arguments are checked.
    from nbconvert.preprocessors import ClearOutputPreprocessor

    nb, _ = ClearOutputPreprocessor().preprocess(nb, {})

    # Deleted nbgrader metadata: recognise the cell by its nbformat id.
    present = set(_graded_ids(nb))
    for cell in nb.cells:
        if _grade_id(cell):
            continue
        ref = release_by_cell_id.get(cell.get("id"))
        if ref is not None and _grade_id(ref) not in present:
            cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
            present.add(_grade_id(ref))
            notes.append(f"restored nbgrader metadata of '{_grade_id(ref)}'")

    # Duplicates: only the first copy of a grade_id stays graded.
    seen: set[str] = set()
    for cell in nb.cells:
        gid = _grade_id(cell)
        if not gid:
            continue
        if gid in seen:
            del cell.metadata["nbgrader"]
            notes.append(f"duplicate of '{gid}' ignored")
            continue
        seen.add(gid)
        ref = release_by_gid.get(gid)
        if ref is None:
            # A grade_id the release does not have: invented, so not graded.
            del cell.metadata["nbgrader"]
            notes.append(f"unknown graded cell '{gid}' ignored")
            continue
        if cell.cell_type != ref.cell_type:
            notes.append(f"cell type of '{gid}' restored to {ref.cell_type}")
            source = cell.source
            cell.clear()
            cell.update(copy.deepcopy(ref))
            if not ref.metadata["nbgrader"].get("locked"):
                cell.source = source
        if cell.metadata["nbgrader"] != ref.metadata["nbgrader"]:
            cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
            notes.append(f"nbgrader metadata of '{gid}' restored")
        if ref.metadata["nbgrader"].get("locked") and cell.source != ref.source:
            cell.source = ref.source
            notes.append(f"edited locked cell '{gid}' restored")

    # Deleted graded cells: put the released cell back after its released predecessor.
    order = [_grade_id(c) for c in release_nb.cells if _grade_id(c)]
    for position, gid in enumerate(order):
        if gid in seen:
            continue
        restored = copy.deepcopy(release_by_gid[gid])
        insert_at = 0
        for previous in reversed(order[:position]):
            idx = next((i for i, c in enumerate(nb.cells) if _grade_id(c) == previous), None)
            if idx is not None:
                insert_at = idx + 1
                break
        nb.cells.insert(insert_at, restored)
        seen.add(gid)
        notes.append(f"deleted cell '{gid}' restored")

    if nb.metadata.get("kernelspec") != release_nb.metadata.get("kernelspec"):
        nb.metadata["kernelspec"] = copy.deepcopy(release_nb.metadata.get("kernelspec", {}))
        notes.append("kernelspec restored")
    # Cells restored from the release carry its ids; a duplicate id is invalid nbformat.
    ids: set = set()
    for cell in nb.cells:
        if "id" in cell and cell.id in ids:
            cell.id = nbformat.v4.new_code_cell().id
        ids.add(cell.get("id"))
    nbformat.validate(nb)
    return nb, notes


def inspect_submission(student_assignment_dir, release_assignment_dir,
                       max_bytes: int = MAX_NOTEBOOK_BYTES) -> IntakeReport:
    """Check every notebook of one student's assignment folder against the release.

    ``student_assignment_dir``: folder with the student's ``*.ipynb`` files.
    ``release_assignment_dir``: the released assignment (``exercises/NAME``), whose
    ``*.ipynb`` names are the expected notebooks. Never raises for a bad submission.
    """
    student_dir = Path(student_assignment_dir)
    release_dir = Path(release_assignment_dir)
    if not release_dir.is_dir():
        raise FileNotFoundError(f"release folder not found: {release_dir}")
    releases = {p.stem: nbformat.read(p, as_version=4) for p in sorted(release_dir.glob("*.ipynb"))}
    handed_in = sorted(p for p in student_dir.glob("*.ipynb")
                       if p.is_file() or p.is_symlink()) if student_dir.is_dir() else []

    verdicts: dict[str, NotebookIntake] = {}
    loaded: dict[str, object] = {}
    extra: list[str] = []
    for path in handed_in:
        if path.stem in releases:
            try:
                loaded[path.stem] = load_checked(path, max_bytes)
            except IntakeError as exc:
                verdicts[path.stem] = NotebookIntake(path.stem, False, str(exc), path=str(path))
        else:
            extra.append(path.name)

    # A notebook that is expected but missing may have been handed in under another name.
    for name, release_nb in releases.items():
        if name in verdicts or name in loaded:
            continue
        wanted = set(_graded_ids(release_nb))
        for candidate in list(extra):
            try:
                nb = load_checked(student_dir / candidate, max_bytes)
            except IntakeError:
                continue
            if wanted and len(wanted & set(_graded_ids(nb))) >= max(1, len(wanted) // 2):
                loaded[name] = nb
                extra.remove(candidate)
                verdicts[name] = NotebookIntake(name, True, f"renamed from '{candidate}'",
                                                renamed_from=candidate,
                                                path=str(student_dir / candidate))
                break

    for name, release_nb in releases.items():
        if name not in loaded:
            verdicts.setdefault(name, NotebookIntake(name, False, "not handed in"))
            continue
        try:
            cleaned, notes = clean_against_release(loaded[name], release_nb)
        except Exception as exc:
            verdicts[name] = NotebookIntake(name, False,
                                            f"cannot be repaired ({type(exc).__name__})")
            continue
        entry = verdicts.get(name) or NotebookIntake(name, True,
                                                     path=str(student_dir / f"{name}.ipynb"))
        entry.notebook = cleaned
        entry.notes = notes
        if notes and not entry.reason:
            entry.reason = "; ".join(notes)[:300]
        verdicts[name] = entry
    return IntakeReport(notebooks=verdicts, extra=extra)
