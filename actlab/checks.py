"""Checks that the problem sets' test cells import: one wording of the activation contract.

Every test cell of the five problem sets that judges a learner's function goes through these
helpers, so learners get the same specific messages everywhere:

* :func:`quiet` calls a function with warnings silenced, so that a correct answer which happens
  to trigger a library warning keeps its points (nbgrader fails any cell that writes to stderr);
* :func:`contract_problems` lists, as short sentences, everything a function does against the
  activation contract (type, shape, dtype, mutation, RuntimeWarnings, NaN/inf);
* :func:`centred_difference` is the independent reference for every ``*_grad``;
* :class:`Checks` counts a cell's checks and keeps the detail of a failed one, so that the
  cell asserts each check itself (its traceback is the cell's line and the course's message)
  and, when all pass, prints one line such as ``✓ sigmoid: 6 checks passed``;
* :func:`allow_actlab` (from :mod:`actlab.guard`) is each problem set's declaration of the
  ``actlab`` modules its notebook may import.

This module imports no course reference (``actlab.activations``, ``gradcheck``, ``nn``, ...):
every notebook imports it, also those that may not use them.

``from actlab.checks import quiet, contract_problems`` is what the notebooks write;
``actlab.assignments`` re-exports the same names for the notebooks already handed out,
which import them from there.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from .guard import allow_actlab

__all__ = ["EXTREME_INPUTS", "CONTRACT_KINDS", "Checks", "quiet", "contract_problems",
           "centred_difference", "allow_actlab"]

#: Inputs at which every activation must stay finite and silent (the course contract: |x| <= 1e4).
EXTREME_INPUTS = (-1e4, -1e3, -88.8, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 88.8, 1e3, 1e4)


def quiet(fn: Callable, *args, **kwargs):
    """Call ``fn`` with every warning silenced and return its result.

    Test cells check values through this, so that a correct answer which happens to trigger a
    library warning (nbgrader fails any cell that writes to stderr) keeps its points; the
    contract check below is the one place where RuntimeWarnings are judged.
    """
    __tracebackhide__ = True  # IPython shows the learner's frame, not this one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # numpy's default error state, so that code which turns warnings into errors itself
        # (a learner's check_activation) still sees them.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            return fn(*args, **kwargs)


def _call_quietly(fn: Callable, *args, **kwargs):
    """Call ``fn`` and return (result, list of RuntimeWarning messages it raised)."""
    __tracebackhide__ = True
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
                      kinds: Sequence[str] | None = None, seed: int = 0,
                      shape: tuple[int, ...] = (2, 3, 4), **params) -> list[str]:
    """Everything ``fn`` does against the activation contract, as short readable sentences.

    The contract: an array-like of any shape in, an ``np.ndarray`` of the same shape out;
    float32 stays float32, float64 stays float64, lists and integer arrays give float64; no
    NaN/inf and no RuntimeWarning for |x| <= 1e4; the input array is never modified.
    ``params`` are passed to ``fn`` as keyword arguments; ``kinds`` (a subset of
    :data:`CONTRACT_KINDS`) keeps only those problems, e.g. ``("warning", "finite")`` for
    numerical stability alone. The random inputs have ``shape`` and come from
    ``np.random.default_rng(seed)``: hidden tests ask the same questions with other ones.
    Returns an empty list when all is well.
    Each message says what went wrong in its first line, short enough for ``nbgrader
    validate`` (which cuts long lines), and the fix on a second line.
    """
    __tracebackhide__ = True
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

    rng = np.random.default_rng(seed)
    for dtype in (np.float64, np.float32):
        x = rng.normal(size=shape).astype(dtype)
        kept = x.copy()
        out, _ = attempt(x, f"a {dtype.__name__} array of shape {tuple(shape)}")
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
    every ``*_grad`` in the problem sets (away from kinks). Same formula as
    :func:`actlab.gradcheck.numerical_elementwise_grad`, written here because the learner
    helpers must not import a course reference: a problem set that does not allow
    ``actlab.gradcheck`` is graded without it (see :mod:`actlab.guard`).
    """
    __tracebackhide__ = True
    x = np.asarray(x, dtype=np.float64)
    plus = np.asarray(f(x + h, **params), dtype=np.float64)
    minus = np.asarray(f(x - h, **params), dtype=np.float64)
    return (plus - minus) / (2 * h)



def _short(values, limit: int = 6) -> str:
    """A compact repr of an array-like for one line of a failure message."""
    try:
        array = np.asarray(values)
    except Exception:  # an object numpy cannot convert: show what it is
        return repr(values)[:80]
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        return repr(values)[:80]
    return np.array2string(array.ravel()[:limit], precision=6, separator=", ") + (
        " ..." if array.size > limit else "")


class Checks:
    """The checks of one test cell, counted, so that a passing cell says so in one line.

    Every check returns a bool and the cell asserts it, so a failure is raised in the test
    cell itself and the traceback shows the cell's line and the course's message, not a
    helper's frame or a numpy report::

        check = Checks("sigmoid")
        assert check(type(out) is np.ndarray), "sigmoid must return a numpy ndarray"
        assert check.close(out, [0.5], rtol=1e-12), f"sigmoid(0) is 0.5; {check.why}"
        assert check.raises(ValueError, chain_gain, np.zeros((2, 3)), f), check.why
        assert check.contract(sigmoid), check.why
        check.passed()  # prints "✓ sigmoid: 4 checks passed"

    ``why`` holds the detail of the last failed check (a mismatch, the exception raised, the
    contract problems). :meth:`passed` prints, and returns None: a test cell's value would be
    read by nbgrader as partial credit.
    """

    def __init__(self, name: str):
        self.name = name
        self.count = 0
        self.why = ""

    def __call__(self, condition) -> bool:
        """Count one check of ``condition``."""
        self.count += 1
        self.why = ""
        return bool(condition)

    def close(self, actual, desired, rtol: float = 1e-7, atol: float = 0.0) -> bool:
        """Whether ``actual`` equals ``desired`` within ``rtol``/``atol`` (numpy's allclose),
        with the same shape. On failure ``why`` shows both and the largest difference."""
        __tracebackhide__ = True
        self.count += 1
        try:
            a = np.asarray(actual, dtype=np.float64)
            if a.shape != np.shape(desired) and np.ndim(desired) > 0:
                self.why = f"got shape {a.shape}, expected shape {np.shape(desired)}"
                return False
            d = np.broadcast_to(np.asarray(desired, dtype=np.float64), a.shape)
        except (TypeError, ValueError):
            self.why = f"got {_short(actual)}, expected {_short(desired)}"
            return False
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.isclose(a, d, rtol=rtol, atol=atol, equal_nan=False)
        if ok.all():
            self.why = ""
            return True
        worst = (np.unravel_index(np.argmax(np.where(ok, -1.0, np.abs(a - d))), a.shape)
                 if a.ndim else ())
        at = f" at index {tuple(int(i) for i in worst)}" if a.ndim else ""
        self.why = (f"got {_short(actual)}, expected {_short(desired)} "
                    f"({np.count_nonzero(~ok)} of {ok.size} differ; largest{at}: "
                    f"{float(a[worst]):.10g} vs {float(d[worst]):.10g})")
        return False

    def equal(self, actual, desired) -> bool:
        """Whether ``actual`` equals ``desired`` exactly, with the same shape."""
        __tracebackhide__ = True
        self.count += 1
        if np.shape(actual) != np.shape(desired):
            self.why = f"got shape {np.shape(actual)}, expected shape {np.shape(desired)}"
            return False
        if np.array_equal(np.asarray(actual), np.asarray(desired)):
            self.why = ""
            return True
        self.why = f"got {_short(actual)}, expected {_short(desired)}"
        return False

    def raises(self, error: type[BaseException], fn: Callable, *args, **kwargs) -> bool:
        """Whether ``fn(*args, **kwargs)`` raises ``error`` (a subclass counts).

        Anything else it does -- returning, or raising another exception -- is put in ``why``.
        """
        __tracebackhide__ = True
        self.count += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fn(*args, **kwargs)
        except error:
            self.why = ""
            return True
        except Exception as exc:  # the learner raised something else: say what
            self.why = f"it raised {type(exc).__name__}: {exc}"
            return False
        self.why = f"it returned {_short(result)} instead"
        return False

    def contract(self, fn: Callable, name: str | None = None, **kwargs) -> bool:
        """Whether ``fn`` keeps the whole activation contract (:func:`contract_problems`)."""
        __tracebackhide__ = True
        self.count += 1
        problems = contract_problems(fn, name=name or self.name, **kwargs)
        self.why = "\n".join(problems)
        return not problems

    def passed(self) -> None:
        """Print the one line that says every check of this cell passed."""
        print(f"✓ {self.name}: {self.count} check{'s' if self.count != 1 else ''} passed")
