"""Activation functions and their derivatives, each formula written once.

Every chapter, problem set, grader and test of the course takes its activations from here.

The contract every function in this module keeps (see ``docs/DESIGN.md``):

* ``x`` may be any array-like: a scalar, a list, an ``int`` array or a float array of any shape.
* float32 input gives float32 output; every other input (ints, lists, Python floats, float16)
  is computed in float64.
* The result is an ``ndarray`` of the input's shape (a 0-d array for a scalar). The two
  exceptions change the shape on purpose: :func:`maxout` and :func:`prelu_backward`'s ``dalpha``.
* For finite inputs with ``|x| <= 1e4`` the result is finite and no ``RuntimeWarning`` is raised.
  This is done with formulas that cannot overflow (``exp`` is only ever applied to
  non-positive numbers), not by silencing numpy.
* The input is never modified.

Elementwise derivatives are named ``<name>_grad(x, ...)``; activations that mix entries
(softmax, log-softmax, maxout) and PReLU's learnable slope have ``<name>_backward(x, grad_out,
...)``, a vector-Jacobian product as in a layer's backward pass.

The :data:`REGISTRY` maps names to :class:`Activation` records, which also carry the properties
tabulated in the chapter *Choosing an activation* (``book/05_choosing.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np
from scipy.special import erfc

from actlab.util import unknown_name

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "ZERO_CENTRED_MAX_MEAN",
    "Activation",
    "REGISTRY",
    "names",
    "get",
    "identity",
    "identity_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "prelu",
    "prelu_grad",
    "prelu_backward",
    "rrelu",
    "rrelu_grad",
    "rrelu_alpha",
    "elu",
    "elu_grad",
    "selu",
    "selu_grad",
    "gelu",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_grad",
    "swish",
    "swish_grad",
    "swish_grad_beta",
    "mish",
    "mish_grad",
    "softplus",
    "softplus_grad",
    "telu",
    "telu_grad",
    "shifted_tanh",
    "shifted_tanh_grad",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "maxout",
    "maxout_backward",
]

#: SELU's constants from Klambauer et al. (2017); with them the fixed point of the layer map
#: has zero mean and unit variance.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

#: The rule behind :attr:`Activation.zero_centred`: |E f(z)| below this for z ~ N(0, 1).
#: tanh and SELU (mean 0 by construction) pass; ELU (0.16) and ReLU (0.40) do not.
ZERO_CENTRED_MAX_MEAN = 0.05

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
_GELU_TANH_A = 0.044715

# tanh(exp(20)) is exactly 1 in float64, so TeLU never needs exp of anything larger.
_TELU_EXP_CAP = 20.0


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_float(x: Any) -> np.ndarray:
    """Return ``x`` as a float32 or float64 ndarray without copying when it already is one."""
    arr = np.asarray(x)
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"activations need real numbers, got an array of dtype {arr.dtype}"
        )
    return arr.astype(np.float64)


def _out(result: Any, dtype: np.dtype) -> np.ndarray:
    # ufuncs return numpy scalars for 0-d input; the contract promises an ndarray.
    return np.asarray(result, dtype=dtype)


def _grad_like(grad_out: Any, x: np.ndarray, what: str = "grad_out") -> np.ndarray:
    g = np.asarray(grad_out)
    if g.shape != x.shape:
        raise ValueError(f"{what} has shape {g.shape} but x has shape {x.shape}")
    # Casting keeps float32 training runs in float32 end to end.
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    return g


def _check_axis(x: np.ndarray, axis: int) -> int:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    ndim = max(x.ndim, 1)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {x.ndim} dimensions")
    return int(axis)


def _sigmoid_raw(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    inv = 1.0 / (1.0 + e)
    return np.where(x >= 0, inv, e * inv)


def _sigmoid_grad_raw(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def _sech2(u: np.ndarray) -> np.ndarray:
    """sech²(u) = 1 − tanh²(u) without the cancellation of ``1 - tanh(u)**2`` in the tails."""
    w = np.exp(-2.0 * np.abs(u))
    return 4.0 * w / (1.0 + w) ** 2


# --------------------------------------------------------------------------------------------
# identity, sigmoid, tanh
# --------------------------------------------------------------------------------------------
def identity(x: Any) -> np.ndarray:
    """f(x) = x, the 'no activation' of the linear-collapse argument (chapter 1). Returns a copy."""
    x = _as_float(x)
    return x.copy()


def identity_grad(x: Any) -> np.ndarray:
    """f'(x) = 1, shape and dtype of ``x``."""
    x = _as_float(x)
    return np.ones_like(x)


def sigmoid(x: Any) -> np.ndarray:
    """Logistic sigmoid σ(x) = 1 / (1 + e^(−x)), values in the open interval (0, 1).

    Computed from e^(−|x|) ≤ 1, so large negative inputs never overflow ``exp``.
    """
    x = _as_float(x)
    return _out(_sigmoid_raw(x), x.dtype)


def sigmoid_grad(x: Any) -> np.ndarray:
    """σ'(x) = σ(x)·σ(−x) = e^(−|x|) / (1 + e^(−|x|))², at most 1/4 (at x = 0).

    The symmetric form keeps full relative precision in both tails, where σ(x)(1 − σ(x))
    would round to 0.
    """
    x = _as_float(x)
    return _out(_sigmoid_grad_raw(x), x.dtype)


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent, values in the open interval (−1, 1); tanh(x) = 2σ(2x) − 1."""
    x = _as_float(x)
    return _out(np.tanh(x), x.dtype)


def tanh_grad(x: Any) -> np.ndarray:
    """tanh'(x) = 1 − tanh²(x) = sech²(x), at most 1 (at x = 0)."""
    x = _as_float(x)
    return _out(_sech2(x), x.dtype)


# --------------------------------------------------------------------------------------------
# the ReLU family
# --------------------------------------------------------------------------------------------
def relu(x: Any) -> np.ndarray:
    """ReLU max(0, x)."""
    x = _as_float(x)
    return _out(np.maximum(x, 0), x.dtype)


def relu_grad(x: Any) -> np.ndarray:
    """ReLU's (sub)gradient: 1 for x > 0 and 0 for x ≤ 0 (the convention at the kink x = 0)."""
    x = _as_float(x)
    return _out(x > 0, x.dtype)


def _check_slope(alpha: Any, name: str = "alpha") -> None:
    # The scalar branch matters: the trainer calls this thousands of times per epoch, and
    # np.isfinite on a Python float costs more than the activation itself at batch size 32.
    if isinstance(alpha, (float, int)):
        ok = math.isfinite(alpha)
    else:
        ok = bool(np.all(np.isfinite(alpha)))
    if not ok:
        raise ValueError(f"{name} must be finite, got {alpha!r}")


def leaky_relu(x: Any, alpha: float = 0.01) -> np.ndarray:
    """Leaky ReLU: x for x > 0, αx otherwise (Maas et al. 2013), fixed slope α."""
    x = _as_float(x)
    _check_slope(alpha)
    a = x.dtype.type(alpha)
    if 0 <= alpha <= 1:
        # For slopes in [0, 1], max(x, αx) is the same function and about 4x faster than where.
        return _out(np.maximum(x, a * x), x.dtype)
    return _out(np.where(x > 0, x, a * x), x.dtype)


def leaky_relu_grad(x: Any, alpha: float = 0.01) -> np.ndarray:
    """Leaky ReLU's derivative: 1 for x > 0, α for x ≤ 0."""
    x = _as_float(x)
    _check_slope(alpha)
    one, a = x.dtype.type(1), x.dtype.type(alpha)
    return _out(np.where(x > 0, one, a), x.dtype)


def _prelu_alpha(x: np.ndarray, alpha: Any) -> np.ndarray:
    a = np.asarray(alpha)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"alpha must be a number or an array of numbers, got {alpha!r}")
    if a.ndim == 0:
        pass
    elif a.ndim == 1:
        if x.ndim == 0 or a.shape[0] != x.shape[-1]:
            raise ValueError(
                f"per-channel alpha of shape {a.shape} needs x's last axis to have "
                f"{a.shape[0]} entries, but x has shape {x.shape}"
            )
    else:
        raise ValueError(
            f"alpha must be a scalar or have shape (C,) for the last axis, got shape {a.shape}"
        )
    _check_slope(a)
    return a.astype(x.dtype, copy=False)


def prelu(x: Any, alpha: Any) -> np.ndarray:
    """Parametric ReLU (He et al. 2015): x for x > 0, αx otherwise, with a learnable α.

    ``alpha`` is a scalar (one slope shared by all units) or an array of shape ``(C,)`` with one
    slope per channel, where the channels are ``x``'s last axis: ``x`` of shape ``(N, C)``.
    """
    x = _as_float(x)
    a = _prelu_alpha(x, alpha)
    return _out(np.where(x > 0, x, a * x), x.dtype)


def prelu_grad(x: Any, alpha: Any) -> np.ndarray:
    """∂PReLU/∂x elementwise: 1 for x > 0, α (broadcast per channel) otherwise; x's shape."""
    x = _as_float(x)
    a = _prelu_alpha(x, alpha)
    return _out(np.where(x > 0, x.dtype.type(1), a), x.dtype)


def prelu_backward(x: Any, alpha: Any, grad_out: Any) -> tuple[np.ndarray, Any]:
    """Backward pass of PReLU: gradients for the input and for the slope.

    Parameters
    ----------
    x : array-like, shape (..., C)
    alpha : float or array of shape (C,)
    grad_out : array-like, same shape as ``x``; the upstream gradient ∂L/∂y.

    Returns
    -------
    dx : ndarray, shape of ``x``, dtype of ``x``.
    dalpha : ``float`` (summed over all entries) when ``alpha`` is a scalar, otherwise an
        ndarray of shape ``(C,)`` (summed over every axis but the last), dtype of ``x``.
    """
    x = _as_float(x)
    a = _prelu_alpha(x, alpha)
    g = _grad_like(grad_out, x)
    positive = x > 0
    dx = _out(np.where(positive, g, a * g), x.dtype)
    # ∂y/∂α is x where the unit is on its negative side and 0 elsewhere.
    g_neg = np.where(positive, x.dtype.type(0), g * x)
    if a.ndim == 0:
        return dx, float(g_neg.sum())
    return dx, _out(g_neg.reshape(-1, a.shape[0]).sum(axis=0), x.dtype)


def rrelu_alpha(
    shape: tuple[int, ...],
    lower: float = 1 / 8,
    upper: float = 1 / 3,
    training: bool = False,
    rng: Any = None,
    dtype: Any = np.float64,
) -> np.ndarray:
    """The negative-side slopes RReLU uses (Xu et al. 2015).

    In training each entry gets its own α ~ U(lower, upper) drawn from
    ``np.random.default_rng(rng)``; in evaluation every entry uses the mean (lower + upper)/2.
    Passing the same integer seed to :func:`rrelu` and :func:`rrelu_grad` gives the same
    slopes, so a forward and its backward agree. Returns an array of ``shape`` and ``dtype``.
    """
    if not (np.isfinite(lower) and np.isfinite(upper)) or not 0 <= lower <= upper:
        raise ValueError(f"RReLU needs 0 <= lower <= upper, got lower={lower}, upper={upper}")
    dtype = np.dtype(dtype)
    if not training:
        return np.full(shape, (lower + upper) / 2, dtype=dtype)
    gen = np.random.default_rng(rng)
    return gen.uniform(lower, upper, size=shape).astype(dtype, copy=False)


def rrelu(
    x: Any,
    lower: float = 1 / 8,
    upper: float = 1 / 3,
    training: bool = False,
    rng: Any = None,
) -> np.ndarray:
    """Randomized leaky ReLU: x for x ≥ 0, αx otherwise with α from :func:`rrelu_alpha`."""
    x = _as_float(x)
    a = rrelu_alpha(x.shape, lower, upper, training, rng, x.dtype)
    return _out(np.where(x >= 0, x, a * x), x.dtype)


def rrelu_grad(
    x: Any,
    lower: float = 1 / 8,
    upper: float = 1 / 3,
    training: bool = False,
    rng: Any = None,
) -> np.ndarray:
    """RReLU's derivative: 1 for x > 0, the (random or mean) slope α for x ≤ 0."""
    x = _as_float(x)
    a = rrelu_alpha(x.shape, lower, upper, training, rng, x.dtype)
    return _out(np.where(x > 0, x.dtype.type(1), a), x.dtype)


def elu(x: Any, alpha: float = 1.0) -> np.ndarray:
    """ELU (Clevert et al. 2016): x for x > 0, α(eˣ − 1) otherwise; saturates to −α on the left."""
    x = _as_float(x)
    _check_slope(alpha)
    a = x.dtype.type(alpha)
    # exp only sees min(x, 0), so it cannot overflow for large positive x.
    return _out(np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))), x.dtype)


def elu_grad(x: Any, alpha: float = 1.0) -> np.ndarray:
    """ELU's derivative: 1 for x > 0, αeˣ otherwise (not 'near zero': it tends to 0 only as
    x → −∞)."""
    x = _as_float(x)
    _check_slope(alpha)
    a = x.dtype.type(alpha)
    return _out(np.where(x > 0, x.dtype.type(1), a * np.exp(np.minimum(x, 0))), x.dtype)


def selu(x: Any) -> np.ndarray:
    """SELU (Klambauer et al. 2017): λ·ELU_α(x) with λ = :data:`SELU_SCALE`,
    α = :data:`SELU_ALPHA`."""
    x = _as_float(x)
    return _out(x.dtype.type(SELU_SCALE) * elu(x, SELU_ALPHA), x.dtype)


def selu_grad(x: Any) -> np.ndarray:
    """SELU's derivative: λ for x > 0, λαeˣ otherwise."""
    x = _as_float(x)
    return _out(x.dtype.type(SELU_SCALE) * elu_grad(x, SELU_ALPHA), x.dtype)


# --------------------------------------------------------------------------------------------
# smooth non-monotonic activations
# --------------------------------------------------------------------------------------------
def _std_normal_cdf(x: np.ndarray) -> np.ndarray:
    # erfc keeps full relative precision in the left tail, where 1 + erf(.) would cancel.
    return 0.5 * erfc(-x / x.dtype.type(_SQRT_2))


def _std_normal_pdf(x: np.ndarray) -> np.ndarray:
    return x.dtype.type(_INV_SQRT_2PI) * np.exp(-0.5 * x * x)


def gelu(x: Any) -> np.ndarray:
    """GELU (Hendrycks & Gimpel 2016), exact form x·Φ(x) with Φ the standard normal CDF."""
    x = _as_float(x)
    return _out(x * _std_normal_cdf(x), x.dtype)


def gelu_grad(x: Any) -> np.ndarray:
    """GELU's derivative Φ(x) + x·φ(x), φ the standard normal density."""
    x = _as_float(x)
    return _out(_std_normal_cdf(x) + x * _std_normal_pdf(x), x.dtype)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    c, a = x.dtype.type(_GELU_TANH_C), x.dtype.type(_GELU_TANH_A)
    return c * (x + a * x * x * x)


def gelu_tanh(x: Any) -> np.ndarray:
    """GELU's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as in BERT and GPT-2."""
    x = _as_float(x)
    # ½(1 + tanh u) = σ(2u); the sigmoid form avoids cancelling 1 + tanh(u) in the left tail.
    return _out(x * _sigmoid_raw(2.0 * _gelu_tanh_inner(x)), x.dtype)


def gelu_tanh_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`gelu_tanh`: σ(2u) + 2x·σ'(2u)·u' with u = √(2/π)(x + 0.044715x³)."""
    x = _as_float(x)
    two_u = 2.0 * _gelu_tanh_inner(x)
    c, a = x.dtype.type(2 * _GELU_TANH_C), x.dtype.type(3 * _GELU_TANH_A)
    two_du = c * (1.0 + a * x * x)
    return _out(_sigmoid_raw(two_u) + x * _sigmoid_grad_raw(two_u) * two_du, x.dtype)


def swish(x: Any, beta: float = 1.0) -> np.ndarray:
    """Swish (Ramachandran et al. 2017) x·σ(βx); β = 1 is SiLU, β → ∞ gives ReLU, β = 0 gives
    x/2."""
    x = _as_float(x)
    _check_slope(beta, "beta")
    return _out(x * sigmoid(x.dtype.type(beta) * x), x.dtype)


def swish_grad(x: Any, beta: float = 1.0) -> np.ndarray:
    """∂swish/∂x = σ(βx) + βx·σ'(βx)."""
    x = _as_float(x)
    _check_slope(beta, "beta")
    bx = x.dtype.type(beta) * x
    return _out(sigmoid(bx) + bx * sigmoid_grad(bx), x.dtype)


def swish_grad_beta(x: Any, beta: float = 1.0) -> np.ndarray:
    """∂swish/∂β = x²·σ'(βx), for a learnable β; shape and dtype of ``x``."""
    x = _as_float(x)
    _check_slope(beta, "beta")
    return _out(x * x * sigmoid_grad(x.dtype.type(beta) * x), x.dtype)


def _tanh_softplus(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tanh(softplus(x)) and 1 − tanh(softplus(x)), both from e^(−|x|) so nothing overflows.

    With t = tanh(log(1 + eˣ)) = ((1 + eˣ)² − 1) / ((1 + eˣ)² + 1): for x ≤ 0 write e = eˣ,
    t = e(e + 2) / (e(e + 2) + 2); for x > 0 write e = e^(−x), t = (1 + 2e) / (1 + 2e + 2e²).
    """
    e = np.exp(-np.abs(x))
    pos = x > 0
    n_neg = e * (e + 2.0)
    num = np.where(pos, 1.0 + 2.0 * e, n_neg)
    den = np.where(pos, 1.0 + 2.0 * e + 2.0 * e * e, n_neg + 2.0)
    gap = np.where(pos, 2.0 * e * e, x.dtype.type(2))
    return num / den, gap / den


def mish(x: Any) -> np.ndarray:
    """Mish (Misra 2019) x·tanh(softplus(x)); smooth, non-monotonic, bounded below (≈ −0.309)."""
    x = _as_float(x)
    t, _ = _tanh_softplus(x)
    return _out(x * t, x.dtype)


def mish_grad(x: Any) -> np.ndarray:
    """Mish's derivative tanh(sp(x)) + x·sech²(sp(x))·σ(x), with sp = softplus."""
    x = _as_float(x)
    t, one_minus_t = _tanh_softplus(x)
    sech2 = one_minus_t * (1.0 + t)
    return _out(t + x * sech2 * sigmoid(x), x.dtype)


def softplus(x: Any) -> np.ndarray:
    """Softplus log(1 + eˣ), a smooth ReLU with values in (0, ∞); computed as logaddexp(0, x)."""
    x = _as_float(x)
    return _out(np.logaddexp(x.dtype.type(0), x), x.dtype)


def softplus_grad(x: Any) -> np.ndarray:
    """Softplus's derivative is the sigmoid σ(x)."""
    return sigmoid(x)


def _telu_gate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u = eˣ (capped where tanh(u) is already 1) and the gate tanh(u).

    tanh(u) comes from np.tanh, not from (1 − w)/(1 + w) with w = e^(−2u): when eˣ is tiny, w
    is within an ulp of 1 and 1 − w keeps none of u's digits (float32 lost 12 % at x = −15
    and returned 0 from x = −20).
    """
    u = np.exp(np.minimum(x, x.dtype.type(_TELU_EXP_CAP)))
    return u, np.tanh(u)


def telu(x: Any) -> np.ndarray:
    """TeLU (Fernandez & Mali 2024) x·tanh(eˣ): close to the identity for x > 0, → 0 as x → −∞."""
    x = _as_float(x)
    _, t = _telu_gate(x)
    return _out(x * t, x.dtype)


def telu_grad(x: Any) -> np.ndarray:
    """TeLU's derivative tanh(eˣ) + x·eˣ·sech²(eˣ)."""
    x = _as_float(x)
    u, t = _telu_gate(x)
    return _out(t + x * u * _sech2(u), x.dtype)


def shifted_tanh(x: Any, shift: float = 1.0) -> np.ndarray:
    """tanh shifted along x, tanh(x − shift), after Kim et al. (2023) 'Tanh works better with
    asymmetry'.

    With shift > 0 the output at x = 0 is negative and the curve is no longer odd: the
    asymmetry the paper argues for.
    """
    x = _as_float(x)
    _check_slope(shift, "shift")
    return _out(np.tanh(x - x.dtype.type(shift)), x.dtype)


def shifted_tanh_grad(x: Any, shift: float = 1.0) -> np.ndarray:
    """sech²(x − shift)."""
    x = _as_float(x)
    _check_slope(shift, "shift")
    return _out(_sech2(x - x.dtype.type(shift)), x.dtype)


# --------------------------------------------------------------------------------------------
# activations that mix entries
# --------------------------------------------------------------------------------------------
def _shifted_logits(x: np.ndarray, axis: int) -> np.ndarray:
    # Subtracting the maximum makes every exponent ≤ 0; softmax is shift-invariant.
    if x.size == 0:
        return x.copy()
    return x - np.max(x, axis=axis, keepdims=True)


def _with_axis(x: Any, axis: int) -> tuple[np.ndarray, int, tuple[int, ...]]:
    x = _as_float(x)
    axis = _check_axis(x, axis)
    shape = x.shape
    # A scalar is a distribution over one outcome; treat it as a length-1 vector.
    return (x.reshape(1) if x.ndim == 0 else x), axis, shape


def softmax(x: Any, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: exp(xᵢ) / Σⱼ exp(xⱼ); entries in (0, 1) that sum to 1.

    Parameters
    ----------
    x : array-like of any shape, e.g. logits ``(N, K)`` for a batch of N examples.
    axis : the axis holding the classes. The default −1 is right for batches; ``axis=0``
        (as in the code of source document 000) normalises across the batch, which is a bug.
    """
    x, axis, shape = _with_axis(x, axis)
    e = np.exp(_shifted_logits(x, axis))
    return _out((e / e.sum(axis=axis, keepdims=True)).reshape(shape), x.dtype)


def softmax_backward(x: Any, grad_out: Any, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of softmax: s ⊙ (g − Σ(g ⊙ s)) along ``axis``; shape of ``x``."""
    x, axis, shape = _with_axis(x, axis)
    g = _grad_like(grad_out, np.empty(shape, x.dtype)).reshape(x.shape)
    e = np.exp(_shifted_logits(x, axis))
    s = e / e.sum(axis=axis, keepdims=True)
    return _out((s * (g - (g * s).sum(axis=axis, keepdims=True))).reshape(shape), x.dtype)


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) along ``axis``, computed as z − log Σ exp(z) with z = x − max(x)."""
    x, axis, shape = _with_axis(x, axis)
    z = _shifted_logits(x, axis)
    return _out((z - np.log(np.exp(z).sum(axis=axis, keepdims=True))).reshape(shape), x.dtype)


def log_softmax_backward(x: Any, grad_out: Any, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of log-softmax: g − softmax(x)·Σg along ``axis``; shape of ``x``."""
    x, axis, shape = _with_axis(x, axis)
    g = _grad_like(grad_out, np.empty(shape, x.dtype)).reshape(x.shape)
    e = np.exp(_shifted_logits(x, axis))
    s = e / e.sum(axis=axis, keepdims=True)
    return _out((g - s * g.sum(axis=axis, keepdims=True)).reshape(shape), x.dtype)


def _maxout_groups(x: Any, k: Any) -> np.ndarray:
    x = _as_float(x)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"maxout needs a positive integer number of pieces k, got {k!r}")
    if x.ndim == 0 or x.shape[-1] % k:
        raise ValueError(
            f"maxout with k={k} needs a last axis whose length is a multiple of {k}, "
            f"got shape {x.shape}"
        )
    return x.reshape(*x.shape[:-1], x.shape[-1] // k, int(k))


def maxout(x: Any, k: int) -> np.ndarray:
    """Maxout (Goodfellow et al. 2013): the maximum of each group of k consecutive entries.

    ``x`` of shape ``(..., k*m)`` (e.g. a Dense layer's ``(N, k*m)`` output) gives ``(..., m)``;
    unit j is max(x[..., j*k : (j+1)*k]).
    """
    groups = _maxout_groups(x, k)
    return _out(groups.max(axis=-1), groups.dtype)


def maxout_backward(x: Any, grad_out: Any, k: int) -> np.ndarray:
    """Route each unit's gradient to the arg-max of its group (the first one on ties).

    ``x``: ``(..., k*m)``; ``grad_out``: ``(..., m)``; returns ``dx`` of ``x``'s shape and dtype.
    """
    groups = _maxout_groups(x, k)
    g = np.asarray(grad_out)
    if g.shape != groups.shape[:-1]:
        raise ValueError(
            f"grad_out has shape {g.shape} but maxout(x, k={k}) has shape {groups.shape[:-1]}"
        )
    winner = np.argmax(groups, axis=-1)[..., None]
    dx = np.zeros_like(groups)
    np.put_along_axis(dx, winner, g[..., None].astype(groups.dtype, copy=False), axis=-1)
    return dx.reshape(*groups.shape[:-2], -1)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------
_SATURATES = ("both", "left", "right", "none")


@dataclass(frozen=True, eq=False)
class Activation:
    """One activation with its derivative and the properties tabulated in the book.

    Call it as ``act(x, **params)`` or ``act.forward(x, **params)``; parameters not given fall
    back to :attr:`defaults`. ``act.backward(x, grad_out, **params)`` is the vector-Jacobian
    product for every activation; ``act.grad(x, **params)`` is the elementwise derivative and
    exists only for elementwise activations (softmax, log-softmax and maxout raise TypeError).
    """

    name: str
    fn: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray] | None = None
    vjp: Callable[..., np.ndarray] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # Each property below follows one rule, stated here and in docs/DESIGN.md; the tests in
    # tests/test_activations.py check every registered activation against its rule.
    #: The set of values f takes on the reals at the default parameters, e.g. "(0, 1)".
    output_range: str = ""
    #: |E f(z)| < ZERO_CENTRED_MAX_MEAN for z ~ N(0, 1) at the default parameters: fed
    #: standardised inputs, the unit's outputs average (almost) zero, so the next layer's inputs
    #: are not all of one sign (the zig-zag argument of chapter 3).
    zero_centred: bool = False
    #: f is non-decreasing in x at the default values of its fixed parameters and at every
    #: value a learned parameter can reach (PReLU's α may turn negative, so PReLU is not).
    #: Maxout counts as the unit's function of its input, whose affine pieces can make |z|.
    monotonic: bool = True
    #: f' is continuous everywhere at the default parameters (no kink).
    smooth: bool = False
    #: Where f' tends to 0: 'both' tails, the 'left' (x → −∞) or 'right' (x → +∞) tail, or
    #: 'none'.
    saturates: str = "none"
    #: BibTeX key in ``book/references.bib``.
    reference: str = ""
    #: Name for figures and tables, e.g. "Leaky ReLU".
    label: str = ""
    #: LaTeX of the formula for the book's table.
    formula: str = ""

    def __post_init__(self) -> None:
        if self.saturates not in _SATURATES:
            raise ValueError(f"saturates must be one of {_SATURATES}, got {self.saturates!r}")
        if (self.derivative is None) == (self.vjp is None):
            raise ValueError("give exactly one of derivative (elementwise) or vjp")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        if not self.label:
            object.__setattr__(self, "label", self.name)

    @property
    def elementwise(self) -> bool:
        """True when each output depends only on the matching input (has a ``grad``)."""
        return self.derivative is not None

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **params}

    def forward(self, x: Any, **params: Any) -> np.ndarray:
        """The activation applied to ``x`` (see the module docstring for the contract)."""
        return self.fn(x, **self._params(params))

    __call__ = forward

    def grad(self, x: Any, **params: Any) -> np.ndarray:
        """Elementwise derivative f'(x), shape and dtype of ``x``."""
        if self.derivative is None:
            raise TypeError(
                f"{self.name} is not elementwise and has no elementwise derivative; "
                f"use backward(x, grad_out)"
            )
        return self.derivative(x, **self._params(params))

    def backward(self, x: Any, grad_out: Any, **params: Any) -> np.ndarray:
        """∂L/∂x given ∂L/∂y = ``grad_out`` (shape of the forward output)."""
        p = self._params(params)
        if self.vjp is not None:
            return self.vjp(x, grad_out, **p)
        d = self.derivative(x, **p)
        return _out(d * _grad_like(grad_out, d), d.dtype)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def _prelu_vjp(x: Any, grad_out: Any, alpha: Any) -> np.ndarray:
    return prelu_backward(x, alpha, grad_out)[0]


_ENTRIES = [
    Activation("identity", identity, identity_grad, output_range="(-∞, ∞)", zero_centred=True,
               smooth=True, label="Identity", formula=r"x"),
    Activation("sigmoid", sigmoid, sigmoid_grad, output_range="(0, 1)", smooth=True,
               saturates="both", reference="rumelhart1986learning", label="Sigmoid",
               formula=r"\frac{1}{1 + e^{-x}}"),
    Activation("tanh", tanh, tanh_grad, output_range="(-1, 1)", zero_centred=True, smooth=True,
               saturates="both", reference="lecun2012efficient", label="tanh",
               formula=r"\tanh x"),
    Activation("shifted_tanh", shifted_tanh, shifted_tanh_grad, defaults={"shift": 1.0},
               output_range="(-1, 1)", smooth=True, saturates="both", reference="kim2023tanh",
               label="Shifted tanh", formula=r"\tanh(x - s)"),
    Activation("relu", relu, relu_grad, output_range="[0, ∞)", saturates="left",
               reference="nair2010rectified", label="ReLU", formula=r"\max(0, x)"),
    Activation("leaky_relu", leaky_relu, leaky_relu_grad, defaults={"alpha": 0.01},
               output_range="(-∞, ∞)", reference="maas2013rectifier", label="Leaky ReLU",
               formula=r"\max(\alpha x, x)"),
    Activation("prelu", prelu, prelu_grad, defaults={"alpha": 0.25}, output_range="(-∞, ∞)",
               monotonic=False, reference="he2015delving", label="PReLU",
               formula=r"\max(\alpha x, x),\ \alpha \text{ learned}"),
    Activation("rrelu", rrelu, rrelu_grad,
               defaults={"lower": 1 / 8, "upper": 1 / 3, "training": False, "rng": None},
               output_range="(-∞, ∞)", reference="xu2015empirical", label="RReLU",
               formula=r"\max(\alpha x, x),\ \alpha \sim U(l, u)"),
    Activation("elu", elu, elu_grad, defaults={"alpha": 1.0}, output_range="(-α, ∞)",
               smooth=True, saturates="left", reference="clevert2016fast",
               label="ELU", formula=r"x \text{ if } x > 0 \text{ else } \alpha(e^x - 1)"),
    Activation("selu", selu, selu_grad, output_range="(-λα, ∞) ≈ (-1.758, ∞)",
               zero_centred=True, saturates="left", reference="klambauer2017self",
               label="SELU", formula=r"\lambda\,\mathrm{ELU}_\alpha(x)"),
    Activation("gelu", gelu, gelu_grad, output_range="[≈ -0.170, ∞)", monotonic=False,
               smooth=True, saturates="left", reference="hendrycks2016gaussian", label="GELU",
               formula=r"x\,\Phi(x)"),
    Activation("gelu_tanh", gelu_tanh, gelu_tanh_grad, output_range="[≈ -0.170, ∞)",
               monotonic=False, smooth=True, saturates="left",
               reference="hendrycks2016gaussian", label="GELU (tanh approx.)",
               formula=r"\tfrac{x}{2}\bigl(1 + \tanh(\sqrt{2/\pi}(x + 0.044715x^3))\bigr)"),
    Activation("swish", swish, swish_grad, defaults={"beta": 1.0},
               output_range="[≈ -0.278, ∞)", monotonic=False, smooth=True, saturates="left",
               reference="ramachandran2017searching", label="Swish",
               formula=r"x\,\sigma(\beta x)"),
    Activation("mish", mish, mish_grad, output_range="[≈ -0.309, ∞)", monotonic=False,
               smooth=True, saturates="left", reference="misra2019mish", label="Mish",
               formula=r"x \tanh(\ln(1 + e^x))"),
    Activation("softplus", softplus, softplus_grad, output_range="(0, ∞)", smooth=True,
               saturates="left", reference="dugas2001incorporating", label="Softplus",
               formula=r"\ln(1 + e^x)"),
    Activation("telu", telu, telu_grad, output_range="[≈ -0.353, ∞)", monotonic=False,
               smooth=True, saturates="left", reference="fernandez2024telu", label="TeLU",
               formula=r"x \tanh(e^x)"),
    Activation("softmax", softmax, vjp=softmax_backward, defaults={"axis": -1},
               output_range="(0, 1), sums to 1", monotonic=False, smooth=True,
               saturates="both", reference="bridle1990probabilistic", label="Softmax",
               formula=r"\frac{e^{x_i}}{\sum_j e^{x_j}}"),
    Activation("log_softmax", log_softmax, vjp=log_softmax_backward, defaults={"axis": -1},
               output_range="(-∞, 0)", monotonic=False, smooth=True, saturates="right",
               reference="bridle1990probabilistic", label="Log-softmax",
               formula=r"x_i - \ln\sum_j e^{x_j}"),
    Activation("maxout", maxout, vjp=maxout_backward, defaults={"k": 2},
               output_range="(-∞, ∞)", monotonic=False, reference="goodfellow2013maxout",
               label="Maxout",
               formula=r"\max_{j \le k} x_j"),
]

#: Every activation by name. Course activations are registered here, next to their formula;
#: a learner's own activation (problem set 5) may be added with ``REGISTRY[act.name] = act``.
REGISTRY: dict[str, Activation] = {a.name: a for a in _ENTRIES}


def names() -> list[str]:
    """Sorted names of every registered activation."""
    return sorted(REGISTRY)


def get(name: str | Activation) -> Activation:
    """The :class:`Activation` called ``name``; an :class:`Activation` is passed through.

    Raises ValueError naming every valid activation when ``name`` is unknown.
    """
    if isinstance(name, Activation):
        return name
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_name("activation", name, names()) from None
