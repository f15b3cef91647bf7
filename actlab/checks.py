"""Checks that the problem sets' test cells import: one wording of the activation contract.

Every test cell of the five problem sets that judges a learner's function goes through these
helpers, so learners get the same specific messages everywhere:

* :func:`quiet` calls a function with warnings silenced, so that a correct answer which happens
  to trigger a library warning keeps its points (nbgrader fails any cell that writes to stderr);
* :func:`contract_problems` lists, as short sentences, everything a function does against the
  activation contract (type, shape, dtype, mutation, RuntimeWarnings, NaN/inf);
* :func:`centred_difference` is the independent reference for every ``*_grad``.

``from actlab.checks import quiet, contract_problems`` is what the notebooks write;
``actlab.assignments`` re-exports the same names for the notebooks already handed out,
which import them from there.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from .gradcheck import numerical_elementwise_grad

__all__ = ["EXTREME_INPUTS", "CONTRACT_KINDS", "quiet", "contract_problems", "centred_difference"]

#: Inputs at which every activation must stay finite and silent (the course contract: |x| <= 1e4).
EXTREME_INPUTS = (-1e4, -1e3, -88.8, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 88.8, 1e3, 1e4)


def quiet(fn: Callable, *args, **kwargs):
    """Call ``fn`` with every warning silenced and return its result.

    Test cells check values through this, so that a correct answer which happens to trigger a
    library warning (nbgrader fails any cell that writes to stderr) keeps its points; the
    contract check below is the one place where RuntimeWarnings are judged.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # numpy's default error state, so that code which turns warnings into errors itself
        # (a learner's check_activation) still sees them.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            return fn(*args, **kwargs)


def _call_quietly(fn: Callable, *args, **kwargs):
    """Call ``fn`` and return (result, list of RuntimeWarning messages it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A learner's np.seterr elsewhere must not hide overflow: warn inside this call.
        # Underflow to 0 is harmless (numpy ignores it by default), so it is not judged.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            out = fn(*args, **kwargs)
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return out, runtime


CONTRACT_KINDS = ("error", "type", "shape", "dtype", "mutation", "warning", "finite")


def contract_problems(fn: Callable, name: str | None = None, check_ints: bool = True,
                      kinds: Sequence[str] | None = None, **params) -> list[str]:
    """Everything ``fn`` does against the activation contract, as short readable sentences.

    The contract: an array-like of any shape in, an ``np.ndarray`` of the same shape out;
    float32 stays float32, float64 stays float64, lists and integer arrays give float64; no
    NaN/inf and no RuntimeWarning for |x| <= 1e4; the input array is never modified.
    ``params`` are passed to ``fn`` as keyword arguments; ``kinds`` (a subset of
    :data:`CONTRACT_KINDS`) keeps only those problems, e.g. ``("warning", "finite")`` for
    numerical stability alone. Returns an empty list when all is well.
    Each message says what went wrong in its first line, short enough for ``nbgrader
    validate`` (which cuts long lines), and the fix on a second line.
    """
    name = name or getattr(fn, "__name__", "the function")
    if kinds is not None and not set(kinds) <= set(CONTRACT_KINDS):
        raise ValueError(f"unknown kinds {sorted(set(kinds) - set(CONTRACT_KINDS))}; "
                         f"valid: {', '.join(CONTRACT_KINDS)}")
    found: list[tuple[str, str]] = []

    def report(kind: str, message: str) -> None:
        found.append((kind, message))

    def attempt(x, label):
        try:
            return _call_quietly(fn, x, **params)
        except Exception as exc:  # the learner's bug, reported as a sentence
            report("error", f"{name} raised {type(exc).__name__} on {label}:\n{exc}")
            return None, []

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        x = rng.normal(size=(2, 3, 4)).astype(dtype)
        kept = x.copy()
        out, _ = attempt(x, f"a {dtype.__name__} array of shape (2, 3, 4)")
        if out is None:
            continue
        if type(out) is not np.ndarray:
            report("type", f"{name} returned {type(out).__name__}, not a numpy ndarray")
            continue
        if out.shape != x.shape:
            report("shape", f"{name}: output shape {out.shape}, input shape {x.shape}\n"
                            "the output must have the input's shape")
        if out.dtype != dtype:
            report("dtype", f"{name}: {dtype.__name__} input gave {out.dtype} output\n"
                            f"{dtype.__name__} in must give {dtype.__name__} out")
        if not np.array_equal(x, kept):
            report("mutation", f"{name} modified its input array\ncompute into a new array instead")

    out, _ = attempt([-1.0, 0.0, 2.0], "a Python list")
    if out is not None and (type(out) is not np.ndarray or out.dtype != np.float64):
        report("dtype", f"{name}([-1.0, 0.0, 2.0]) returned {type(out).__name__} "
                        f"{getattr(out, 'dtype', '')}\na list must give a float64 ndarray")
    if check_ints:
        out, _ = attempt(np.array([-2, 0, 3]), "an int array")
        if out is not None and getattr(out, "dtype", None) != np.float64:
            report("dtype", f"{name}(int array) gave {getattr(out, 'dtype', type(out).__name__)}"
                            ", not float64\nconvert integer input to float64 first")

    for dtype in (np.float64, np.float32):
        x = np.array(EXTREME_INPUTS, dtype=dtype)
        out, runtime = attempt(x, f"extreme {dtype.__name__} inputs")
        if out is None:
            continue
        if runtime:
            report("warning", f"{name} warns at |x| <= 1e4 ({dtype.__name__}): {runtime[0]!r}\n"
                            "avoid exp of large positive numbers")
        values = np.asarray(out, dtype=np.float64)
        bad = ~np.isfinite(values)
        if values.shape == x.shape and bad.any():
            where = ", ".join(f"{name}({v:g}) = {o}" for v, o in zip(x[bad][:2], values[bad][:2]))
            report("finite", f"{name} returned NaN/inf for {dtype.__name__} input:\n{where}")
    return [m for k, m in found if kinds is None or k in kinds]


def centred_difference(f: Callable, x, h: float = 1e-6, **params) -> np.ndarray:
    """Elementwise derivative of an elementwise ``f`` by centred differences, in float64.

    ``x`` any shape; returns float64 of ``x``'s shape. Used as the independent reference for
    every ``*_grad`` in the problem sets (away from kinks). It is
    :func:`actlab.gradcheck.numerical_elementwise_grad` with ``f``'s keyword parameters
    bound and the problem sets' step.
    """
    return numerical_elementwise_grad(lambda z: f(z, **params), x, h)

