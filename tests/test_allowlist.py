"""The grader's side of the declaration (``actlab.grading.allowlist``): read it from the
instructor's notebook, and give the sandbox only the modules it allows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from actlab.grading import allowlist, sandbox
from actlab.grading.allowlist import Declaration, DeclarationError, read_declaration
from actlab.grading.course import nbgrader_cell

REPO = Path(__file__).resolve().parents[1]
REFERENCES = {"actlab.activations", "actlab.gradcheck", "actlab.nn", "actlab.data",
              "actlab.plotting", "actlab.experiment"}


def _setup(source: str, locked=True):
    cell = nbgrader_cell(source, "setup")
    cell.metadata["nbgrader"]["locked"] = locked
    return nbformat.v4.new_notebook(cells=[cell])


@pytest.mark.parametrize("name, modules, hide", [
    ("ps1_nonlinearity", (), ()), ("ps2_saturation", (), ()), ("ps3_relu", (), ()),
    ("ps4_variants", (), ()),
    ("ps5_custom", ("actlab.gradcheck", "actlab.nn", "actlab.data"), ("actlab.gradcheck.check_activation",)),
])
def test_each_problem_set_declares_its_modules(name, modules, hide):
    """Does every instructor notebook declare the actlab modules its answers may use?"""
    nb = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
    assert read_declaration(nb) == Declaration(modules, hide)


@pytest.mark.parametrize("source, message", [
    ("allow_actlab(MODULES)", "literal"),
    ("allow_actlab('actlab.nn', hide=[name])", "literal"),
    ("allow_actlab()\nallow_actlab('actlab.nn')", "more than once"),
    ("allow_actlab('actlab.nope')", "valid names: actlab"),
    ("allow_actlab('actlab.nn', extra=1)", "no argument"),
])
def test_declarations_that_cannot_be_read_are_refused(source, message):
    """Is a declaration that is not literal strings, repeated, names an unknown module or
    takes an unknown argument refused with a message saying which?"""
    with pytest.raises(DeclarationError, match=message):
        read_declaration(_setup(source))


def test_only_the_instructors_locked_cells_count():
    """Is an allow_actlab call in a cell the student may edit ignored?"""
    assert read_declaration(_setup("allow_actlab('actlab.nn')", locked=False)) is None


def test_the_learner_helpers_need_no_course_reference():
    """Does the sandbox of a problem set that allows nothing hold no course reference at all
    (the helpers every notebook imports must not pull one in, even inside a function)?"""
    present = allowlist.sandbox_modules(Declaration())
    assert present & REFERENCES == set(), present
    assert {"actlab", "actlab.guard", "actlab.grading.agent", "actlab.grading.wire"} <= present


def test_an_allowed_module_brings_what_it_imports_and_hidden_functions_do_not():
    """Does allowing actlab.nn bring actlab.activations (nn needs it), while allowing
    gradcheck with check_activation hidden does not (only that function imports it)?"""
    assert "actlab.activations" in allowlist.sandbox_modules(Declaration(("actlab.nn",)))
    hidden = Declaration(("actlab.gradcheck",), ("actlab.gradcheck.check_activation",))
    assert "actlab.activations" not in allowlist.sandbox_modules(hidden)
    assert "actlab.activations" in allowlist.sandbox_modules(Declaration(("actlab.gradcheck",)))


def test_the_filtered_package_holds_only_allowed_modules_without_hidden_names(tmp_path):
    """Imported by a fresh Python that sees only the filtered copy, does the package have
    gradcheck without check_activation, and no activations or nn at all?"""
    hidden = Declaration(("actlab.gradcheck",), ("actlab.gradcheck.check_activation",))
    allowlist.filtered_package(hidden, tmp_path / "actlab")
    site = [p for p in sys.path if p.endswith("site-packages")]
    probe = ("import json, importlib, actlab.gradcheck as g\n"
             "out = {'file': g.__file__, 'check_grad': hasattr(g, 'check_grad'),\n"
             "       'check_activation': hasattr(g, 'check_activation')}\n"
             "for m in ('actlab.activations', 'actlab.nn'):\n"
             "    try:\n        importlib.import_module(m); out[m] = 'imported'\n"
             "    except ImportError as exc:\n        out[m] = type(exc).__name__\n"
             "print(json.dumps(out))")
    # -S: no site-packages .pth, so the editable install cannot point back at the real package;
    # run from the copy's folder, not the repository's.
    proc = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                          env={"PYTHONPATH": ":".join([str(tmp_path)] + site)}, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["file"].startswith(str(tmp_path))
    assert got["check_grad"] and not got["check_activation"]
    assert got["actlab.activations"] == got["actlab.nn"] == "ModuleNotFoundError"


@pytest.mark.grading
@pytest.mark.xdist_group("judge")
@pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap is not usable here")
def test_in_the_sandbox_removing_the_guard_does_not_bring_the_reference_back():
    """A notebook that declares nothing, removes the kernel's import guard and then imports
    actlab.activations: does the import still fail inside the sandbox, because the module
    is not there?"""
    cells = [
        "from actlab.guard import allow_actlab\nallow_actlab()",
        "import builtins, sys, json, actlab.guard as g\n"
        "builtins.__import__ = g._State.real_import\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if f is not g._FINDER]\n"
        "try:\n    import actlab.activations\n    result = 'imported'\n"
        "except ImportError as exc:\n    result = type(exc).__name__\n"
        "print(json.dumps(result))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out, outcome = sandbox.execute_notebook(nb, None, sandbox.Limits(cell_timeout=60, notebook_timeout=120),
                                            declaration=Declaration())
    assert outcome["status"] == "ok", outcome
    text = "".join(o.get("text", "") for o in out.cells[1].outputs if o.get("name") == "stdout")
    assert json.loads(text.strip().splitlines()[-1]) == "ModuleNotFoundError"
