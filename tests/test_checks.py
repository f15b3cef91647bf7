"""The helpers that the problem sets' test cells import (``actlab.checks``)."""

from __future__ import annotations

import numpy as np
import pytest

from actlab import activations, assignments, checks


def test_contract_problems_names_each_kind_of_breach_and_passes_the_library():
    """Does the shared contract check flag dtype, shape, mutation, warnings and NaN, and pass
    actlab?"""
    def upcasts(x):
        return np.tanh(np.asarray(x, dtype=np.float64))

    def flattens(x):
        return np.tanh(np.asarray(x, dtype=float)).ravel()

    def mutates(x):
        x = np.asarray(x, dtype=float) if np.asarray(x).dtype.kind != "f" else np.asarray(x)
        np.tanh(x, out=x)
        return x

    def overflows(x):
        x = np.asarray(x)
        x = x if x.dtype.kind == "f" else x.astype(float)
        return 1 / (1 + np.exp(-x))

    def nan_at_large_x(x):
        x = np.asarray(x)
        x = x if x.dtype.kind == "f" else x.astype(float)
        with np.errstate(all="ignore"):
            return np.exp(x) / (1 + np.exp(x))

    cases = {upcasts: "float32 input gave float64", flattens: "output shape",
             mutates: "modified its input", overflows: "warns at |x| <= 1e4",
             nan_at_large_x: "NaN/inf"}
    for fn, phrase in cases.items():
        problems = checks.contract_problems(fn)
        assert any(phrase in p for p in problems), (fn.__name__, problems)
    assert checks.contract_problems(overflows, kinds=("dtype",)) == []
    for name in ("sigmoid", "tanh", "relu", "elu", "gelu", "softmax", "mish"):
        assert checks.contract_problems(activations.get(name).forward, name=name) == []
    with pytest.raises(ValueError, match="unknown kinds"):
        checks.contract_problems(np.tanh, kinds=("speed",))


def test_assignments_still_exports_the_helpers_that_handed_out_notebooks_import():
    """Do notebooks already handed out, which write ``from actlab.assignments import quiet``,
    get the very same helpers as ``actlab.checks``?"""
    for name in checks.__all__:
        assert getattr(assignments, name) is getattr(checks, name), name


def test_checks_count_and_say_why_a_check_failed():
    """Does each kind of check return a bool, count itself, and leave a short reason in `why`
    (both values and the largest difference; what was raised or returned instead)?"""
    check = checks.Checks("sigmoid")
    assert check(True) and check.close([0.5, 0.7], [0.5, 0.7], rtol=1e-12) and check.why == ""
    assert not check.close([0.5, 0.75], [0.5, 0.7], rtol=1e-12)
    assert "got [0.5 , 0.75], expected [0.5, 0.7]" in check.why and "0.75 vs 0.7" in check.why
    assert not check.close(np.ones(3), np.ones(2)) and "shape (3,)" in check.why
    assert check.equal([1, 2], [1, 2]) and not check.equal([1, 2], [1, 3])
    assert check.raises(ValueError, int, "x")
    assert not check.raises(ValueError, lambda: 1 / 0) and check.why == (
        "it raised ZeroDivisionError: division by zero")
    assert not check.raises(ValueError, abs, -2) and check.why == "it returned 2 instead"
    assert check.contract(activations.sigmoid)
    assert not check.contract(lambda x: np.asarray(x, dtype=np.float64))
    assert "float32 input gave float64" in check.why
    assert check.count == 11


def test_passed_prints_one_line_and_returns_none(capsys):
    """Does a passing cell print exactly one line and leave no value that nbgrader could read
    as partial credit?"""
    check = checks.Checks("relu")
    for _ in range(6):
        check(True)
    assert check.passed() is None
    assert capsys.readouterr().out == "✓ relu: 6 checks passed\n"


def test_helpers_that_call_learner_code_hide_their_frames():
    """Do quiet, contract_problems and centred_difference mark their frames hidden, so that a
    learner's traceback goes from the test cell straight to the learner's own function?"""
    import inspect

    for fn in (checks.quiet, checks.contract_problems, checks.centred_difference):
        assert "__tracebackhide__ = True" in inspect.getsource(fn), fn.__name__
