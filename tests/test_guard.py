"""The import guard ``actlab.guard.allow_actlab``: what a notebook's code may import.

The guard acts only inside a Jupyter kernel, so each behaviour is tried in a real kernel: a
notebook whose cells try imports and print what happened, one JSON line per cell.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from actlab import guard
from actlab.grading.sandbox import Limits, execute_notebook

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("judge")]

TRY = ("import json, importlib\n"
       "def attempt(fn):\n"
       "    try:\n        fn()\n        return 'ok'\n"
       "    except ImportError as exc:\n        return str(exc)\n")

CELLS = [
    # 0: ps5's declaration
    TRY + "from actlab.guard import allow_actlab\n"
    "allow_actlab('actlab.gradcheck', 'actlab.nn', 'actlab.data', "
    "hide=['actlab.gradcheck.check_activation'])\n"
    "print(json.dumps('declared'))",
    # 1: what the notebook's own code may and may not do
    "import actlab.gradcheck, actlab.nn, actlab.data\n"
    "print(json.dumps({\n"
    "  'import activations': attempt(lambda: __import__('actlab.activations')),\n"
    "  'from actlab import activations': attempt(lambda: exec('from actlab import activations')),\n"
    "  'import_module': attempt(lambda: importlib.import_module('actlab.plotting')),\n"
    "  'allowed gradcheck': attempt(lambda: exec('from actlab.gradcheck import check_grad')),\n"
    "  'helpers': attempt(lambda: exec('from actlab.assignments import quiet')),\n"
    "  'hidden name gone': not hasattr(actlab.gradcheck, 'check_activation'),\n"
    "  'nn trains (imports activations itself)': type(actlab.nn.SoftmaxCrossEntropy()).__name__,\n"
    "  'activations already loaded, still refused': attempt(lambda: exec('import "
    "actlab.activations')),\n"
    "}))",
    # 2: a student function that delegates
    "def sigmoid(x):\n    from actlab import activations\n    return activations.sigmoid(x)\n"
    "print(json.dumps(attempt(lambda: sigmoid(0.0))))",
    # 3: the instructor's hidden tests may import the reference (stock nbgrader runs them here),
    #    but a student function called from there still may not
    "### BEGIN HIDDEN TESTS\n"
    "from actlab import activations as _ref\n"
    "print(json.dumps([_ref.sigmoid(0.0).item(), attempt(lambda: sigmoid(0.0))]))\n"
    "### END HIDDEN TESTS",
    # 4: outside hidden tests again
    "print(json.dumps(attempt(lambda: exec('import actlab.activations as A'))))",
]


@pytest.fixture(scope="module")
def reports():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    out, outcome = execute_notebook(nb, None, Limits(cell_timeout=60, notebook_timeout=120),
                                    sandbox=False)
    assert outcome["status"] == "ok", outcome
    lines = []
    for cell in out.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        lines.append(json.loads(text.strip().splitlines()[-1]))
    return lines


def test_undeclared_course_modules_are_refused_with_a_reason(reports):
    """Do `import`, `from actlab import ...` and importlib all refuse an undeclared actlab
    module, with a message naming it and what is allowed?"""
    got = reports[1]
    for key in ("import activations", "from actlab import activations", "import_module"):
        assert "is not available in this problem set" in got[key], (key, got[key])
        assert "allowed here: actlab.data, actlab.gradcheck, actlab.nn" in got[key]
    assert "actlab.plotting" in got["import_module"]
    assert got["activations already loaded, still refused"] != "ok"


def test_declared_modules_and_helpers_work_and_hidden_names_are_gone(reports):
    """Do declared modules and the learner helpers import, does an allowed module that needs
    an undeclared one internally still work, and is the hidden function removed?"""
    got = reports[1]
    assert got["allowed gradcheck"] == "ok" and got["helpers"] == "ok"
    assert got["hidden name gone"] is True
    assert got["nn trains (imports activations itself)"] == "SoftmaxCrossEntropy"


def test_a_function_that_delegates_fails_when_called(reports):
    """Does a student function that imports the course reference fail with the guard's
    message when it is called, also when called from a hidden-test cell?"""
    assert "actlab.activations is not available" in reports[2]
    value, from_hidden = reports[3]
    assert value == 0.5
    assert "actlab.activations is not available" in from_hidden
    assert "is not available" in reports[4]


def test_outside_a_kernel_the_declaration_does_nothing():
    """In plain Python (the judge, scripts, in-process tests) is allow_actlab a no-op?"""
    import builtins

    before = builtins.__import__
    guard.allow_actlab()
    import actlab.activations  # noqa: F401

    assert builtins.__import__ is before


@pytest.mark.parametrize("args, kwargs", [(("gradcheck",), {}), ((), {"hide": ["actlab.nn.mlp"]}),
                                          (("actlab.nn",), {"hide": ["check_activation"]})])
def test_malformed_declarations_are_refused(args, kwargs):
    """Are short module names and hidden names outside the declared modules refused?"""
    with pytest.raises(ValueError, match="allow_actlab|hide"):
        guard.allow_actlab(*args, **kwargs)
