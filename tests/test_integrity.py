"""The tampering scan (``actlab.grading.integrity``): each way of patching the tests is
flagged however it is spelled; ordinary course code and the instructor solutions are not."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from actlab.grading import integrity

REPO_SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def _scan(source: str, locked: bool = False) -> list:
    cell = nbformat.v4.new_code_cell(source)
    if locked:
        cell.metadata["nbgrader"] = {"locked": True, "grade_id": "t", "grade": True, "points": 1}
    return integrity.scan(nbformat.v4.new_notebook(cells=[cell]))


TAMPERING = {
    "numpy_alias": "import numpy as n\nn.allclose = lambda *a, **k: True",
    "numpy_testing_from_import": "from numpy import testing as t\nt.assert_allclose = print",
    "setattr_on_numpy": "import numpy\nsetattr(numpy, 'isclose', lambda *a: True)",
    "numpy_dict": "import numpy as np\nnp.__dict__['allclose'] = len",
    "builtins_module": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "dunder_builtins": "__builtins__.abs = lambda x: 0",
    "shadowed_builtin": "def isinstance(a, b):\n    return True",
    "showtraceback": "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None",
    "ast_transformers": "get_ipython().ast_transformers.append(object())",
    "input_transformers": "get_ipython().input_transformers_cleanup.insert(0, lambda l: l)",
    "events": "get_ipython().events.register('pre_run_cell', print)",
    "always_true_eq": "class A:\n    def __eq__(self, other):\n        return True",
    "ndarray_subclass": "import numpy as np\nclass B(np.ndarray):\n    pass",
    "ndarray_from_import": "from numpy import ndarray as base\nclass C(base):\n    pass",
    "sys_exit": "import sys\nsys.exit(0)",
    "os_exit": "import os as o\no._exit(0)",
    "raise_system_exit": "raise SystemExit",
    "sys_modules": "import sys\nsys.modules['numpy'] = None",
    "rebound_numpy": "import numpy as np\nnp = object()",
    "exec_hidden": "exec('import numpy as np; np.allclose = lambda *a: True')",
    "frame_walk": "import sys\nsys._getframe(1).f_globals",
    "ctypes": "import ctypes\nctypes.memset(0, 0, 1)",
    "magic_then_patch": "%matplotlib inline\nimport numpy as np\nnp.testing.assert_allclose = None",
}


@pytest.mark.parametrize("source", TAMPERING.values(), ids=TAMPERING.keys())
def test_scan_flags_each_tampering_technique(source):
    """Does the AST scan flag each way of tampering with tests, however it is spelled?"""
    assert integrity.scan(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]))


HONEST_SOURCES = {
    "sigmoid": "import numpy as np\ndef sigmoid(x):\n    x = np.asarray(x, dtype=float)\n"
               "    return 1 / (1 + np.exp(-x))",
    "plot": "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
            "plt.plot([0, 1], [0, 1])\nplt.show()",
    "local_names": "import numpy as np\nx = np.linspace(-3, 3, 7)\ny = np.maximum(x, 0)\n"
                   "assert np.allclose(y[-1], 3)",
    "class_without_dunders": "class Layer:\n    def forward(self, x):\n        return x",
    "actlab_use": "from actlab import activations as A\nprint(A.relu([1.0, -1.0]))",
}


@pytest.mark.parametrize("source", HONEST_SOURCES.values(), ids=HONEST_SOURCES.keys())
def test_scan_leaves_ordinary_student_code_alone(source):
    """Is ordinary course code (numpy maths, plots, classes, actlab) free of findings?"""
    assert _scan(source) == []


def test_scan_ignores_locked_instructor_cells_but_learns_their_imports():
    """Are locked (instructor) cells exempt from the scan while their import aliases still
    resolve a later student patch?"""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy.testing as npt\n"
                                  "npt.assert_allclose = npt.assert_allclose"),
        nbformat.v4.new_code_cell("npt.assert_allclose = lambda *a, **k: None"),
    ])
    nb.cells[0].metadata["nbgrader"] = {"locked": True, "grade_id": "setup"}
    findings = integrity.scan(nb)
    assert [f.cell for f in findings] == [1]
    assert "numpy.testing.assert_allclose" in str(findings[0])


def test_scan_rejects_things_that_are_not_notebooks():
    """Does scan say clearly that it wants a notebook when given something else?"""
    with pytest.raises(TypeError, match="notebook"):
        integrity.scan("np.allclose = None")


@pytest.mark.parametrize("path", sorted(REPO_SOLUTIONS.glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_scan_finds_nothing_in_the_course_solutions(path):
    """Do the course's own instructor solutions pass the tampering scan (no false alarms
    for an honest student who writes the model answer)?"""
    assert integrity.scan(nbformat.read(path, as_version=4)) == []
