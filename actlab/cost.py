"""What an activation costs, counted instead of timed.

Timings of a single activation on a shared machine are noise at the scale of a few tenths of a
millisecond, so the book shows them but never compares them in words. What it compares are
counts that do not depend on the machine, taken here by running the function once on an array
that records every numpy operation applied to it:

``passes``
    elementwise operations over the whole array (``x > 0``, ``np.exp(x)``, ``a * b``): each
    reads and writes memory once, and a numpy formula needs one per step.
``transcendental``
    the passes that evaluate an exponential, logarithm, hyperbolic or error function -- each
    element costs tens of instructions instead of one.
``branches``
    ``np.where`` selections: both sides are computed for every element, then one is kept.

Introduced in chapter 2 (the cost of ``exp``) and used for the cost column of chapter 4's
properties table::

    >>> from actlab.cost import count_operations
    >>> count_operations("relu")
    OperationCount(passes=1, transcendental=0, branches=0, ops=('maximum',))
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, NamedTuple
from unittest import mock

import numpy as np

from actlab import activations as A

__all__ = ["TRANSCENDENTAL", "OperationCount", "count_operations"]

#: ufuncs that evaluate a transcendental function element by element.
TRANSCENDENTAL = frozenset({
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "logaddexp", "logaddexp2",
    "tanh", "sinh", "cosh", "arctanh", "sin", "cos", "tan", "erf", "erfc", "ndtr", "expit",
    "power",
})


class OperationCount(NamedTuple):
    """Full-array numpy operations of one call; ``ops`` lists them in order."""

    passes: int
    transcendental: int
    branches: int
    ops: tuple[str, ...]


class _Recorder:
    def __init__(self, size: int):
        self.size = size
        self.ops: list[str] = []
        self.branches = 0


class _Recording(np.ndarray):
    """An ndarray view that reports every ufunc and array function applied to it."""

    recorder: _Recorder | None = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(i) if isinstance(i, _Recording) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(o) if isinstance(o, _Recording) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        rec = _Recording.recorder
        if rec is not None and method == "__call__" and np.size(result) == rec.size:
            rec.ops.append(ufunc.__name__)
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        rec = _Recording.recorder
        if rec is not None and func is np.where:
            rec.branches += 1
        args = [np.asarray(a) if isinstance(a, _Recording) else a for a in args]
        result = func(*args, **kwargs)
        if rec is not None and func is np.where and np.size(result) == rec.size:
            rec.ops.append("where")
        return _wrap(result)


def _wrap(result):
    if isinstance(result, np.ndarray) and not isinstance(result, _Recording):
        return result.view(_Recording)
    return result


@contextmanager
def _recording(size: int):
    rec = _Recorder(size)
    as_float, out = A._as_float, A._out

    # Every activation starts with _as_float and ends with _out; wrapping both keeps an
    # activation built on another (SELU on ELU, Swish on the sigmoid) recorded end to end.
    def recording_as_float(x):
        return _wrap(as_float(x))

    def recording_out(result, dtype):
        return _wrap(out(result, dtype))

    _Recording.recorder = rec
    try:
        with mock.patch.object(A, "_as_float", recording_as_float), \
                mock.patch.object(A, "_out", recording_out):
            yield rec
    finally:
        _Recording.recorder = None


def count_operations(name: str | A.Activation, derivative: bool = False, size: int = 1000,
                     **params: Any) -> OperationCount:
    """Count the full-array passes, transcendental passes and ``np.where`` branches of one call
    of the activation ``name`` (its derivative with ``derivative=True``) on ``size`` float32
    numbers spread over both signs. Elementwise activations only."""
    act = A.get(name)
    if not act.elementwise:
        raise ValueError(f"{act.name} is not elementwise; only elementwise activations are counted")
    x = np.linspace(-4, 4, size, dtype=np.float32)
    fn = act.grad if derivative else act.forward
    with _recording(size) as rec:
        fn(x, **params)
    ops = tuple(rec.ops)
    # np.asarray(result, dtype) at the end of every activation is a view, not a pass.
    return OperationCount(len(ops) - ops.count("where"),
                          sum(op in TRANSCENDENTAL for op in ops), rec.branches, ops)
