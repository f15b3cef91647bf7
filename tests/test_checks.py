"""The helpers that the problem sets' test cells import (``actlab.checks``)."""

from __future__ import annotations

import numpy as np
import pytest

from actlab import activations, assignments, checks


def test_contract_problems_names_each_kind_of_breach_and_passes_the_library():
    """Does the shared contract check flag dtype, shape, mutation, warnings and NaN, and pass actlab?"""
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
