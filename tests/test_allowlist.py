"""The grader's side of the declaration (``actlab.grading.allowlist``): read it from the
instructor's notebook, and give the sandbox only the modules it allows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import nbgrader_cell

from actlab.grading import allowlist, sandbox
from actlab.grading.allowlist import Declaration, DeclarationError, read_declaration

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
    ("ps5_custom", ("actlab.gradcheck", "actlab.nn", "actlab.data"),
     ("actlab.gradcheck.check_activation",)),
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


def test_an_allowed_module_brings_what_it_imports_and_hidden_functions_do_not(tmp_path):
    """Does allowing actlab.nn bring actlab.activations (nn needs it)? And in a package whose
    module imports another only inside one function, does hiding that function leave the
    other module out, at any depth of nesting?"""
    assert "actlab.activations" in allowlist.sandbox_modules(Declaration(("actlab.nn",)))
    (tmp_path / "a.py").write_text("import os\n\ndef f():\n    def g():\n"
                                   "        from pkg import b\n"
                                   "    return g\n\ndef h():\n    return 1\n")
    (tmp_path / "b.py").write_text("from pkg import c\n")
    (tmp_path / "c.py").write_text("")
    files = {f"pkg.{n}": tmp_path / f"{n}.py" for n in "abc"}
    assert allowlist.closure({"pkg.a"}, files=files) == {"pkg.a", "pkg.b", "pkg.c"}
    assert allowlist.closure({"pkg.a"}, hide=["pkg.a.f"], files=files) == {"pkg.a"}
    assert (allowlist.closure({"pkg.a"}, hide=["pkg.a.h"], files=files)
            == {"pkg.a", "pkg.b", "pkg.c"})


PROBE = ("import json, importlib\n"
         "out = {}\n"
         "for m in ('actlab.data', 'actlab.gradcheck', 'actlab.activations', 'actlab.nn'):\n"
         "    try:\n        mod = importlib.import_module(m); out[m] = mod.__file__\n"
         "    except ImportError as exc:\n        out[m] = type(exc).__name__\n"
         "if out['actlab.gradcheck'] != 'ModuleNotFoundError':\n"
         "    g = importlib.import_module('actlab.gradcheck')\n"
         "    out['check_grad'], out['check_activation'] = "
         "hasattr(g, 'check_grad'), hasattr(g, 'check_activation')\n"
         "print(json.dumps(out))")


def _import_from_copy(declaration, folder):
    """What a fresh Python that sees only the filtered copy can import."""
    allowlist.filtered_package(declaration, folder / "actlab")
    site = [p for p in sys.path if p.endswith("site-packages")]
    # -S: no site-packages .pth, so the editable install cannot point back at the real package;
    # run from the copy's folder, not the repository's.
    proc = subprocess.run([sys.executable, "-S", "-c", PROBE], capture_output=True, text=True,
                          env={"PYTHONPATH": ":".join([str(folder)] + site)}, cwd=folder,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_filtered_package_holds_only_allowed_modules_without_hidden_names(tmp_path):
    """Imported by a fresh Python that sees only the filtered copy: with actlab.data allowed,
    is data there (from the copy) and gradcheck, activations and nn absent? With gradcheck
    allowed and its check_activation hidden, is check_grad there and check_activation gone?"""
    (tmp_path / "data").mkdir()
    got = _import_from_copy(Declaration(("actlab.data",)), tmp_path / "data")
    assert got["actlab.data"].startswith(str(tmp_path / "data"))
    assert ({got[m] for m in ("actlab.gradcheck", "actlab.activations", "actlab.nn")}
            == {"ModuleNotFoundError"})
    (tmp_path / "grad").mkdir()
    got = _import_from_copy(Declaration(("actlab.gradcheck",),
                                        ("actlab.gradcheck.check_activation",)),
                            tmp_path / "grad")
    assert got["check_grad"] is True and got["check_activation"] is False
    assert got["actlab.nn"] == "ModuleNotFoundError"


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
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    out, outcome = sandbox.execute_notebook(nb, None,
                                            sandbox.Limits(cell_timeout=60, notebook_timeout=120),
                                            declaration=Declaration())
    assert outcome["status"] == "ok", outcome
    text = "".join(o.get("text", "") for o in out.cells[1].outputs if o.get("name") == "stdout")
    assert json.loads(text.strip().splitlines()[-1]) == "ModuleNotFoundError"
