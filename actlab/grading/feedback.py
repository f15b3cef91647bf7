"""What a student's feedback may show of a test: its name, points and a capped message.

nbgrader's ``ClearHiddenTests`` removes the hidden-test lines from a test cell's source;
:class:`HideTestDetails` does the same for its outputs: an autograded test cell keeps only
its verdict (the judge's one "passed" line, or one error with its type and a capped
message) and no traceback, whose lines would quote the hidden tests. The instructor's
autograded notebook keeps everything; only the copy rendered for the student goes through
these. ``actlab grade`` renders its feedback pages this way, and ``nbgrader_config.py``
configures ``nbgrader generate_feedback`` (what formgrader runs) to do the same.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Integer

MAX_MESSAGE_CHARS = 500


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_delegation(ename: str, evalue: str) -> bool:
    """Whether an error is the import guard refusing a course module (:mod:`actlab.guard`)."""
    return ename in ("ImportError", "ModuleNotFoundError") and "actlab." in evalue


def reason(ename: str, evalue: str, cause: tuple[str, str] | None = None,
           limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line saying why a test failed (for details.csv); ``cause``: the error of a cell
    above, for a name the test could not find."""
    text = " ".join(f"{ename}: {evalue}".split()) if evalue else ename
    if cause is not None:
        text += " (a cell above failed: " + " ".join(f"{cause[0]}: {cause[1]}".split()) + ")"
    if is_delegation(ename, evalue) or (cause is not None and is_delegation(*cause)):
        text = "uses a course reference this problem set does not allow: " + text
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failed_tests(nb) -> dict[str, tuple[str, str, tuple[str, str] | None]]:
    """``grade_id -> (ename, evalue, cause)`` for every autograded test cell that failed.

    ``cause`` is, for a test that failed on a missing name (``NameError``), the last error
    ``(ename, evalue)`` of the notebook's own cells above it (a delegating import, a typo that
    stopped the definition); otherwise None."""
    out = {}
    above = None
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not is_test_cell(cell):
            if cell.get("cell_type") == "code" and errors:
                above = (str(errors[-1].get("ename", "Error")), str(errors[-1].get("evalue", "")))
            continue
        if errors:
            ename, evalue = str(errors[-1].get("ename", "Error")), str(errors[-1].get("evalue", ""))
            out[cell.metadata["nbgrader"]["grade_id"]] = (
                ename, evalue, above if ename == "NameError" else None)
    return out


def test_reasons(nb) -> dict[str, str]:
    """``grade_id -> why it failed`` for every autograded test cell that failed
    (:func:`failed_tests`, one line each)."""
    return {gid: reason(ename, evalue, cause)
            for gid, (ename, evalue, cause) in failed_tests(nb).items()}


class HideTestDetails(NbGraderPreprocessor):
    """Reduce every autograded test cell's outputs to its verdict, without traceback."""

    max_message_chars = Integer(MAX_MESSAGE_CHARS,
                                help="Longest failure message shown.").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_test_cell(cell):
            return cell, resources
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            error = errors[-1]
            evalue = str(error.get("evalue", ""))
            if len(evalue) > self.max_message_chars:
                evalue = evalue[:self.max_message_chars] + "..."
            error["evalue"] = evalue
            error["traceback"] = [f"{error.get('ename', 'Error')}: {evalue}"]
            cell.outputs = [error]
        else:
            # The judge's verdict is the last line it wrote; prints of the test code go.
            verdict = [o for o in outputs if o.get("output_type") == "stream"
                       and o.get("name") == "stdout"]
            cell.outputs = verdict[-1:]
        return cell, resources


def student_copy(nb, resources=None):
    """``nb`` as a student may see it: hidden tests and test tracebacks removed (a copy)."""
    import copy

    nb = copy.deepcopy(nb)
    resources = {} if resources is None else resources
    nb, resources = ClearHiddenTests()(nb, resources)
    nb, resources = HideTestDetails()(nb, resources)
    return nb
