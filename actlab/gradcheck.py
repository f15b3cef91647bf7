"""Numerical gradient checking: the learner's proof that a backward pass is right.

Centred differences (f(x + h) − f(x − h)) / 2h have error O(h²), against O(h) for one-sided
differences, so with h = 1e-5 in float64 an analytic gradient that is right agrees to a relative
error around 1e-8 or better, and one that is wrong is off by far more. Every function here works
in float64 whatever the dtype of ``x``: float32 rounding (about 6e-8) divided by 2h would swamp
the comparison.

Used in the problem sets (``solutions/ps*``) after each hand-written backward pass, and in the
course's own tests of :mod:`actlab.activations`.

Typical use::

    >>> from actlab import activations as A, gradcheck as gc
    >>> x = np.random.default_rng(0).normal(size=(4, 5))
    >>> print(gc.check_grad(A.tanh, A.tanh_grad, x))   # doctest: +SKIP
    gradient check passed: max relative error 1.2e-10 (tolerance 1e-06) over 20 entries
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from actlab.activations import get as get_activation
from actlab.util import progress as progress_bar

__all__ = [
    "numerical_grad",
    "numerical_elementwise_grad",
    "numerical_vjp",
    "rel_error",
    "rel_error_elementwise",
    "GradCheckResult",
    "check_grad",
    "check_activation",
]

# Below this |a| + |b|, differences are judged absolutely (cs231n's convention): a derivative
# that is truly 0 would otherwise make any rounding noise look like a 100 % error.
_FLOOR = 1e-8

# Probing costs two evaluations of f per entry; below this many entries it is over too fast for
# a progress bar to help.
_PROGRESS_MIN_ENTRIES = 1000


def _probe_each_entry(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float,
                      combine: Callable[[Any], float], desc: str,
                      progress: bool | None) -> np.ndarray:
    """``combine(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h`` for every entry i of ``x``, one at a time.

    ``x`` is a private float64 array: each probe writes into it and puts the entry back.
    Returns a float64 array of ``x``'s shape. A tqdm bar is shown when asked (True) or, for
    ``progress=None``, when there are many entries and stderr is a terminal.
    """
    if progress is None and x.size < _PROGRESS_MIN_ENTRIES:
        progress = False
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in progress_bar(range(flat.size), enabled=progress, desc=desc):
        old = flat[i]
        flat[i] = old + h
        plus = f(x)
        flat[i] = old - h
        minus = f(x)
        flat[i] = old
        gflat[i] = combine(plus - minus) / (2 * h)
    return grad


def _as_float64(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"gradient checks need real numbers, got dtype {arr.dtype}")
    # A private copy: the probes below write into it, and the caller's array must stay intact.
    return np.array(arr, dtype=np.float64)


def _check_step(h: float) -> None:
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"step h must be a positive finite number, got {h!r}")


def _scalar(value: Any, what: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"{what} must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def numerical_grad(f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-5,
                   progress: bool | None = None) -> np.ndarray:
    """Gradient of a scalar-valued ``f`` at ``x`` by centred differences, one entry at a time.

    Parameters
    ----------
    f : callable taking an array of ``x``'s shape and returning a scalar (e.g. a loss).
    x : array-like of any shape.
    h : step.
    progress : show a tqdm bar; ``None`` shows one for 1000+ entries when on a terminal.

    Returns
    -------
    ndarray, float64, shape of ``x``: ∂f/∂x. Costs 2·x.size evaluations of ``f``.
    """
    _check_step(h)
    return _probe_each_entry(lambda z: _scalar(f(z), "f"), _as_float64(x), h, float,
                             "numerical gradient", progress)


def numerical_elementwise_grad(
    f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-5
) -> np.ndarray:
    """Derivative f'(x) of an elementwise ``f`` (such as an activation), entry by entry.

    Because output i depends only on input i, all entries are probed at once: two calls of
    ``f``. Returns a float64 array of ``x``'s shape.
    """
    _check_step(h)
    x = _as_float64(x)
    plus, minus = np.asarray(f(x + h), np.float64), np.asarray(f(x - h), np.float64)
    if plus.shape != x.shape:
        raise ValueError(
            f"f is not elementwise: input shape {x.shape} gave output shape {plus.shape}"
        )
    return (plus - minus) / (2 * h)


def numerical_vjp(
    f: Callable[[np.ndarray], Any], x: Any, grad_out: Any, h: float = 1e-5,
    progress: bool | None = None,
) -> np.ndarray:
    """Numerical vector-Jacobian product ∂(Σ f(x) ⊙ grad_out)/∂x.

    This is what a layer's ``backward(grad_out)`` must return. ``grad_out`` has the shape of
    ``f(x)``; the result is float64 with the shape of ``x``. ``progress`` as for
    :func:`numerical_grad`.
    """
    _check_step(h)
    g = np.asarray(grad_out, dtype=np.float64)
    x = _as_float64(x)
    out_shape = np.shape(f(x.copy()))
    if g.shape != out_shape:
        raise ValueError(f"grad_out has shape {g.shape} but f(x) has shape {out_shape}")
    # Differencing the outputs before weighting them lets the entries that x_i does not touch
    # cancel exactly, instead of drowning a small slope in the rounding of a big sum.
    return _probe_each_entry(lambda z: np.asarray(f(z), np.float64), x, h,
                             lambda difference: np.sum(difference * g), "numerical VJP",
                             progress)


def rel_error_elementwise(a: Any, b: Any, atol: float = 0.0) -> np.ndarray:
    """|a − b| / max(1e-8, |a| + |b|) entry by entry, float64, of a's (and b's) shape.

    Entries with |a − b| <= ``atol`` count as agreeing exactly (error 0). A gradient that is
    truly 0 (a bias in front of batch norm, say) comes out of centred differences as rounding
    noise of about eps·|f|/h, around 1e-11 for a loss near 1 and h = 1e-5, whose size depends on
    the CPU's summation order; relative to a 1e-8 floor that noise reads as a 1e-3 error. An
    absolute tolerance well above the noise and well below any real gradient judges such entries
    the same on every machine.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if not (np.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    diff = np.abs(a - b)
    return np.where(diff <= atol, 0.0, diff / np.maximum(_FLOOR, np.abs(a) + np.abs(b)))


def rel_error(a: Any, b: Any, atol: float = 0.0) -> float:
    """Largest relative error max |a − b| / max(1e-8, |a| + |b|) (cs231n style), a float.

    Rough guide in float64: below 1e-7 the gradient is right; around 1e-4 look for a kink
    (ReLU at 0) or a wrong branch; above 1e-2 it is wrong. ``atol``: differences up to this
    size count as 0 (see :func:`rel_error_elementwise`).
    """
    err = rel_error_elementwise(a, b, atol)
    return float(err.max()) if err.size else 0.0


@dataclass(frozen=True, eq=False)
class GradCheckResult:
    """Outcome of :func:`check_grad`.

    ``analytic`` and ``numerical`` are float64 arrays of the same shape; ``mismatches`` lists
    the indices (tuples) whose relative error exceeds ``tol``; differences up to ``atol`` count
    as agreement.
    """

    ok: bool
    max_rel_error: float
    tol: float
    mismatches: list[tuple[int, ...]] = field(default_factory=list)
    analytic: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    numerical: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    atol: float = 0.0

    def report(self, limit: int = 10) -> str:
        """A readable verdict, listing up to ``limit`` disagreeing entries."""
        n = self.analytic.size
        verdict = "passed" if self.ok else "FAILED"
        lines = [
            f"gradient check {verdict}: max relative error {self.max_rel_error:.2e} "
            f"(tolerance {self.tol:.0e}) over {n} entries"
        ]
        if self.mismatches:
            lines.append(f"{len(self.mismatches)} entries disagree:")
            errors = rel_error_elementwise(self.analytic, self.numerical, self.atol)
            for idx in self.mismatches[:limit]:
                lines.append(
                    f"  at {idx}: analytic {self.analytic[idx]: .6e}, "
                    f"numerical {self.numerical[idx]: .6e}, relative error {errors[idx]:.1e}"
                )
            if len(self.mismatches) > limit:
                lines.append(f"  ... and {len(self.mismatches) - limit} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __bool__(self) -> bool:
        return self.ok


def check_grad(
    f: Callable[..., Any],
    df: Callable[..., Any],
    x: Any,
    h: float = 1e-5,
    tol: float = 1e-6,
    grad_out: Any = None,
    atol: float = 0.0,
) -> GradCheckResult:
    """Compare an analytic derivative ``df`` with centred differences of ``f`` at ``x``.

    Three kinds of ``f`` are recognised:

    * ``grad_out`` given: ``df(x, grad_out)`` is a backward pass (vector-Jacobian product) and is
      compared with :func:`numerical_vjp`. Use this for softmax-like functions and layers.
    * ``f(x)`` a scalar (a loss): ``df(x)`` is its gradient, compared with :func:`numerical_grad`.
    * otherwise ``f`` is taken to be elementwise and ``df(x)`` its derivative f'(x), compared
      with :func:`numerical_elementwise_grad`.

    Keep ``x`` at least ``h`` away from kinks (ReLU's 0): there the two one-sided slopes
    differ and no derivative can pass. Where some true gradients are exactly 0, give ``atol``
    (see :func:`rel_error_elementwise`).

    Returns a :class:`GradCheckResult`; ``print`` it for the report.
    """
    x64 = _as_float64(x)
    if grad_out is not None:
        analytic = df(x64.copy(), np.asarray(grad_out))
        numerical = numerical_vjp(f, x64, grad_out, h)
    else:
        value = np.asarray(f(x64.copy()))
        analytic = df(x64.copy())
        if value.size == 1 and x64.size != 1 or value.ndim == 0:
            numerical = numerical_grad(f, x64, h)
        else:
            numerical = numerical_elementwise_grad(f, x64, h)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numerical.shape:
        raise ValueError(
            f"analytic gradient has shape {analytic.shape}, expected {numerical.shape}"
        )
    errors = rel_error_elementwise(analytic, numerical, atol)
    bad = errors > tol
    return GradCheckResult(
        ok=not bool(bad.any()),
        max_rel_error=float(errors.max()) if errors.size else 0.0,
        tol=tol,
        mismatches=[tuple(int(i) for i in idx) for idx in np.argwhere(bad)],
        analytic=analytic,
        numerical=numerical,
        atol=atol,
    )


def check_activation(
    name: Any, x: Any, h: float = 1e-5, tol: float = 1e-6, **params: Any
) -> GradCheckResult:
    """Check a registered activation's ``backward`` against numerical differences.

    ``name`` is a registry name or an :class:`~actlab.activations.Activation`. A fixed random
    ``grad_out`` (seed 0) is used, so elementwise and mixing activations are checked alike.
    """
    act = get_activation(name)
    x64 = _as_float64(x)
    out_shape = np.shape(act.forward(x64, **params))
    grad_out = np.random.default_rng(0).normal(size=out_shape)
    return check_grad(
        lambda z: act.forward(z, **params),
        lambda z, g: act.backward(z, g, **params),
        x64,
        h=h,
        tol=tol,
        grad_out=grad_out,
    )
