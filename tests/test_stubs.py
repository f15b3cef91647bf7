"""Student stubs that name the function to write (actlab.grading.stubs)."""

from __future__ import annotations

import nbformat
import pytest
from helpers import nbgrader_cell

from actlab.grading.stubs import NamedStubs, enclosing_name, with_named_stubs

STUB = {"python": 'raise NotImplementedError("write {name} here, then delete this line")'}


def _cleared(source: str, cell_type: str = "code") -> str:
    cell = nbgrader_cell(source, "answer", cell_type=cell_type, solution=True)
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    NamedStubs(code_stub=STUB).preprocess(nb, {})
    return nb.cells[0].source


def test_a_function_stub_names_the_function_and_keeps_its_docstring():
    """Does the body of `def sigmoid` become one raise that names sigmoid, docstring kept?"""
    source = ('def sigmoid(x):\n    """Logistic sigmoid."""\n    ### BEGIN SOLUTION\n'
              '    return 1 / (1 + np.exp(-x))\n    ### END SOLUTION')
    assert _cleared(source) == ('def sigmoid(x):\n    """Logistic sigmoid."""\n'
                                '    raise NotImplementedError('
                                '"write sigmoid here, then delete this line")')


def test_each_method_of_a_class_gets_its_own_stub_and_the_class_still_defines():
    """Do two regions in two methods give two stubs named Class.method, so that running the
    cell on a blank notebook defines the class instead of failing?"""
    source = ("class Act:\n    def forward(self, x):\n"
              "        ### BEGIN SOLUTION\n        return x\n"
              "        ### END SOLUTION\n\n    def backward(self,\n                 x, g):\n"
              "        ### BEGIN SOLUTION\n        return g\n        ### END SOLUTION")
    cleared = _cleared(source)
    assert 'NotImplementedError("write Act.forward here' in cleared
    assert 'NotImplementedError("write Act.backward here' in cleared
    namespace: dict = {}
    exec(cleared, namespace)
    with pytest.raises(NotImplementedError, match="write Act.backward here"):
        namespace["Act"]().backward(1, 2)


def test_a_region_outside_any_function_is_refused():
    """Is a solution region in a class body or at the top of a cell an error, since its stub
    would fail the cell before the learner starts?"""
    with pytest.raises(RuntimeError, match="outside any function"):
        _cleared("class Act:\n    ### BEGIN SOLUTION\n    slope = 0.1\n    ### END SOLUTION")
    with pytest.raises(RuntimeError, match="outside any function"):
        _cleared("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")


def test_written_answers_keep_the_text_stub():
    """Does a markdown answer still become nbgrader's text stub?"""
    assert _cleared("### BEGIN SOLUTION\nReLU.\n### END SOLUTION", cell_type="markdown") == (
        "YOUR ANSWER HERE")


def test_enclosing_name_is_the_innermost_function_with_its_classes():
    """Does enclosing_name give Outer.method for a line in a method and None outside functions?"""
    lines = ["class Outer:", "    def method(self):", "        pass", "x = 1"]
    assert enclosing_name(lines, 2) == "Outer.method"
    assert enclosing_name(lines, 3) is None


def test_generate_assignment_gets_named_stubs_in_place_of_clear_solutions():
    """Does with_named_stubs() swap ClearSolutions for NamedStubs and keep every other step?"""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import ClearOutput, ClearSolutions

    default = GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default()
    swapped = with_named_stubs()
    assert len(swapped) == len(default) and ClearSolutions not in swapped
    assert [p for p in swapped if p is not NamedStubs] == [p for p in default
                                                           if p is not ClearSolutions]
    with pytest.raises(ValueError):
        with_named_stubs([ClearOutput])
