"""Tests of actlab.activations: values against independent references, derivatives against
centred differences, the array contract, mathematical identities and the registry."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from actlab import activations as A
from actlab import gradcheck as gc
from helpers import torch_reference_table


ELEMENTWISE = [n for n in A.names() if A.get(n).elementwise]
SAME_SHAPE = [n for n in A.names() if n != "maxout"]
MIXING = ["softmax", "log_softmax", "maxout"]

# Independent references computed here: scipy, or the textbook formula written out.
FORMULAS = {
    "identity": lambda x: x,
    "sigmoid": sp.expit,
    # torch's softplus switches to x above 20, which is within 2e-9 of log(1 + e^x)
    "softplus": lambda x: np.log1p(np.exp(x)),
    "telu": lambda x: x * np.tanh(np.exp(x)),
}
# PyTorch as the reference: its values at a fixed grid, stored by
# tests/reference/make_torch_reference.py so that the tests need no torch.
TORCH_VALUES = ["tanh", "shifted_tanh", "relu", "leaky_relu", "prelu", "rrelu", "elu", "selu",
                "gelu", "gelu_tanh", "swish", "mish", "softmax", "log_softmax"]
TORCH_DERIVATIVES = ["sigmoid", "tanh", "gelu", "gelu_tanh", "swish", "mish", "softplus", "elu",
                     "selu", "telu", "shifted_tanh"]


def _grid(shape=(6, 7), low=-6.0, high=6.0, seed=0):
    """Random float64 points kept 1e-3 away from the kinks at 0 so differences are clean."""
    x = np.random.default_rng(seed).uniform(low, high, size=shape)
    x[np.abs(x) < 1e-3] = 0.5
    return x


@pytest.mark.parametrize("name", sorted([*FORMULAS, *TORCH_VALUES]))
def test_values_match_an_independent_reference(name):
    """Does each activation compute the same values as scipy, the written-out formula, or
    PyTorch (its values stored in tests/reference)?"""
    if name in FORMULAS:
        x = _grid()
        expected = FORMULAS[name](x)
    else:
        x, values = torch_reference_table("value")
        expected = values[name]
    np.testing.assert_allclose(A.get(name)(x), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 2.0])
def test_leaky_relu_and_elu_use_their_alpha(alpha):
    """Do leaky ReLU and ELU follow their piecewise definitions for a non-default α?"""
    x = _grid()
    np.testing.assert_allclose(A.leaky_relu(x, alpha), np.where(x > 0, x, alpha * x))
    np.testing.assert_allclose(A.elu(x, alpha), np.where(x > 0, x, alpha * (np.exp(x) - 1)))
    np.testing.assert_allclose(A.get("elu")(x, alpha=alpha), A.elu(x, alpha))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 3.0])
def test_swish_matches_x_times_sigmoid_of_beta_x(beta):
    """Is swish(x, β) = x·σ(βx) for several β, including β = 0 (x/2)?"""
    x = _grid()
    np.testing.assert_allclose(A.swish(x, beta), x * sp.expit(beta * x), rtol=1e-13)


def test_gelu_exact_and_tanh_approximation_are_different_functions():
    """Are the exact GELU and its tanh approximation close (< 1e-3) but not identical?"""
    x = np.linspace(-5, 5, 1001)
    diff = np.abs(A.gelu(x) - A.gelu_tanh(x))
    assert diff.max() < 1e-3
    assert diff.max() > 1e-6


def test_selu_uses_the_published_constants():
    """Does SELU equal λ·x for x > 0 and λα(eˣ − 1) below, with the published λ and α?"""
    x = _grid()
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(A.selu(x), np.where(x > 0, lam * x, lam * alpha * np.expm1(x)))


def test_shifted_tanh_is_tanh_moved_right_by_the_shift():
    """Is shifted_tanh(x, s) = tanh(x − s), so that it crosses zero at x = s?"""
    x = _grid()
    for s in (0.0, 1.0, -0.5):
        np.testing.assert_allclose(A.shifted_tanh(x, s), np.tanh(x - s))
        assert A.shifted_tanh(s, s) == 0.0
    assert A.shifted_tanh(0.0) < 0


# --------------------------------------------------------------------------------------------
# derivatives
# --------------------------------------------------------------------------------------------
def _params_for(name):
    return {"training": True, "rng": 7} if name == "rrelu" else {}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative_agrees_with_centred_differences(name):
    """Does each elementwise derivative match centred differences of its forward to 1e-6?"""
    act, params = A.get(name), _params_for(name)
    x = _grid(seed=1)
    result = gc.check_grad(lambda z: act(z, **params), lambda z: act.grad(z, **params), x,
                           tol=1e-6)
    assert result.ok, result.report()


@pytest.mark.parametrize("name", A.names())
def test_backward_is_the_vector_jacobian_product(name):
    """Does every activation's backward (incl. softmax, log-softmax, maxout) match a numerical
    VJP?"""
    result = gc.check_activation(name, _grid(shape=(3, 8), seed=2), tol=1e-6, **_params_for(name))
    assert result.ok, result.report()


@pytest.mark.parametrize("name", TORCH_DERIVATIVES)
def test_derivative_agrees_with_torch_autograd(name):
    """Does the analytic derivative equal PyTorch's autograd of the same function (a second
    reference, stored in tests/reference)?"""
    x, derivatives = torch_reference_table("derivative")
    np.testing.assert_allclose(A.get(name).grad(x), derivatives[name], rtol=1e-10, atol=1e-14)


def test_swish_beta_derivative_agrees_with_centred_differences():
    """Is ∂swish/∂β right, so that a learnable β can be trained?"""
    x = _grid(seed=4)
    for beta in (0.0, 0.7, 2.0):
        numeric = (A.swish(x, beta + 1e-6) - A.swish(x, beta - 1e-6)) / 2e-6
        assert gc.rel_error(A.swish_grad_beta(x, beta), numeric) < 1e-6


def test_sigmoid_derivative_never_exceeds_a_quarter():
    """Is σ'(x) ≤ 1/4 everywhere, with the maximum at 0 (the root of vanishing gradients)?"""
    x = np.linspace(-20, 20, 40001)
    d = A.sigmoid_grad(x)
    assert d.max() == pytest.approx(0.25)
    assert x[np.argmax(d)] == 0.0
    assert np.all(d <= 0.25)


def test_relu_subgradient_is_zero_at_the_kink():
    """Is relu_grad 0 at x = 0 and for negative x, 1 for positive x (the documented convention)?"""
    np.testing.assert_array_equal(A.relu_grad([-2.0, 0.0, 3.0]), [0.0, 0.0, 1.0])


def test_elu_derivative_is_alpha_exp_x_on_the_left():
    """Is ELU's negative-side derivative α·eˣ (not 'near zero', as a source document claims)?"""
    x = np.array([-0.1, -1.0, -3.0])
    np.testing.assert_allclose(A.elu_grad(x, 1.5), 1.5 * np.exp(x))
    assert A.elu_grad(-0.1) > 0.9


# --------------------------------------------------------------------------------------------
# the array contract
# --------------------------------------------------------------------------------------------
def _callables(name):
    """forward, elementwise grad (if any) and backward of a registered activation, all 1-arg."""
    act, params = A.get(name), _params_for(name)
    fns = [("forward", lambda x: act(x, **params))]
    if act.elementwise:
        fns.append(("grad", lambda x: act.grad(x, **params)))
    fns.append(("backward", lambda x: act.backward(x, np.ones_like(act(x, **params)), **params)))
    return fns


@pytest.mark.parametrize("name", SAME_SHAPE)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
def test_output_has_the_input_shape(name, shape):
    """Do forward, grad and backward return an ndarray of the input's shape, 0-d for scalars?"""
    x = np.random.default_rng(0).normal(size=shape)
    for what, fn in _callables(name):
        y = fn(x)
        assert isinstance(y, np.ndarray), what
        assert y.shape == shape, what


@pytest.mark.parametrize("name", SAME_SHAPE)
def test_dtypes_follow_the_contract(name):
    """float32 in gives float32 out; float64, ints, lists and Python scalars give float64."""
    cases = [
        (np.array([-1.5, 0.5, 2.0], np.float32), np.float32),
        (np.array([-1.5, 0.5, 2.0], np.float64), np.float64),
        (np.array([-2, 0, 3]), np.float64),
        ([-2, 0.5, 3], np.float64),
        (2, np.float64),
        (-1.5, np.float64),
        (np.float32(0.5), np.float32),
    ]
    for what, fn in _callables(name):
        for x, dtype in cases:
            y = fn(x)
            assert isinstance(y, np.ndarray) and y.dtype == dtype, (what, x, y)


@pytest.mark.parametrize("name", SAME_SHAPE)
def test_float32_and_float64_agree(name):
    """Does the float32 computation agree with float64 to float32 precision?"""
    x = _grid(seed=5)
    for what, fn in _callables(name):
        y32, y64 = fn(x.astype(np.float32)), fn(x)
        np.testing.assert_allclose(y32, y64, rtol=2e-5, atol=2e-6, err_msg=what)


@pytest.mark.parametrize("name", A.names())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_finite_values_without_warnings(name, dtype):
    """At |x| up to 1e4, are all outputs and derivatives finite, with no RuntimeWarning?"""
    x = np.array([-1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4, 1e4],
                 dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for what, fn in _callables(name):
            y = fn(x)
            assert np.all(np.isfinite(y)), (what, y)
            assert y.dtype == dtype


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_extreme_inputs_give_the_limiting_values(name):
    """At ±1e4 is the output its mathematical limit (not merely finite)?"""
    act = A.get(name)
    x = np.array([-1e4, 1e4])
    y = act(x, **_params_for(name))
    expected_right = {"sigmoid": 1.0, "tanh": 1.0, "shifted_tanh": 1.0}.get(name, None)
    if expected_right is not None:
        assert y[1] == expected_right
    elif name == "selu":
        assert y[1] == pytest.approx(A.SELU_SCALE * 1e4)
    else:
        assert y[1] == pytest.approx(1e4)
    expected_left = {"sigmoid": 0.0, "tanh": -1.0, "shifted_tanh": -1.0, "relu": 0.0,
                     "elu": -1.0, "selu": -A.SELU_SCALE * A.SELU_ALPHA, "gelu": 0.0,
                     "gelu_tanh": 0.0, "swish": 0.0, "mish": 0.0, "softplus": 0.0,
                     "telu": 0.0}.get(name)
    if expected_left is not None:
        assert y[0] == pytest.approx(expected_left)


# --------------------------------------------------------------------------------------------
# accuracy in the tails, against 60-digit references
# --------------------------------------------------------------------------------------------
mp.mp.dps = 60
_SELU_L, _SELU_A = mp.mpf(A.SELU_SCALE), mp.mpf(A.SELU_ALPHA)
_RRELU_SLOPE = (mp.mpf(1) / 8 + mp.mpf(1) / 3) / 2
_GELU_C, _GELU_A = mp.sqrt(2 / mp.pi), mp.mpf(0.044715)


def _mp_sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def _mp_softplus(x):
    return mp.log1p(mp.exp(x))


def _mp_gelu_tanh_gate(x):
    """σ(2u) = ½(1 + tanh u), u = √(2/π)(x + 0.044715x³), and d(2u)/dx."""
    two_u = 2 * _GELU_C * (x + _GELU_A * x**3)
    return _mp_sigmoid(two_u), 2 * _GELU_C * (1 + 3 * _GELU_A * x**2)


def _piecewise(slope):
    return (lambda x: x if x > 0 else slope * x), (lambda x: mp.mpf(1) if x > 0 else slope)


# (f, f') at the registry's default parameters, written from the definitions with mpmath.
MP_REFERENCES = {
    "identity": (lambda x: x, lambda x: mp.mpf(1)),
    "sigmoid": (_mp_sigmoid, lambda x: _mp_sigmoid(x) * _mp_sigmoid(-x)),
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
    "shifted_tanh": (lambda x: mp.tanh(x - 1), lambda x: mp.sech(x - 1) ** 2),
    "relu": _piecewise(mp.mpf(0)),
    "leaky_relu": _piecewise(mp.mpf("0.01")),
    "prelu": _piecewise(mp.mpf("0.25")),
    "rrelu": _piecewise(_RRELU_SLOPE),
    "elu": (lambda x: x if x > 0 else mp.expm1(x), lambda x: mp.mpf(1) if x > 0 else mp.exp(x)),
    "selu": (lambda x: _SELU_L * (x if x > 0 else _SELU_A * mp.expm1(x)),
             lambda x: _SELU_L * (1 if x > 0 else _SELU_A * mp.exp(x))),
    "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
    "gelu_tanh": (lambda x: x * _mp_gelu_tanh_gate(x)[0],
                  lambda x: (lambda s, d: s + x * s * (1 - s) * d)(*_mp_gelu_tanh_gate(x))),
    "swish": (lambda x: x * _mp_sigmoid(x),
              lambda x: _mp_sigmoid(x) + x * _mp_sigmoid(x) * _mp_sigmoid(-x)),
    "mish": (lambda x: x * mp.tanh(_mp_softplus(x)),
             lambda x: mp.tanh(_mp_softplus(x))
             + x * mp.sech(_mp_softplus(x)) ** 2 * _mp_sigmoid(x)),
    "softplus": (_mp_softplus, _mp_sigmoid),
    "telu": (lambda x: x * mp.tanh(mp.exp(x)),
             lambda x: mp.tanh(mp.exp(x)) + x * mp.exp(x) * mp.sech(mp.exp(x)) ** 2),
}
# Both tails, the neighbourhood of 0 (where the kinks sit) and everything the contract covers.
TAIL_POINTS = [-1e4, -1e3, -100.0, -80.0, -50.0, -30.0, -20.0, -15.0, -10.0, -5.0, -2.0, -1.0,
               -0.5, -1e-3, -1e-8, 0.0, 1e-8, 1e-3, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0,
               50.0, 100.0, 1e3, 1e4]
ULPS = 8


def _accuracy_failures(fn, ref, x, dtype):
    """Points where ``fn`` misses the exact ``ref`` by more than ULPS·(1 + cond) units of
    roundoff, cond = |x·ref'(x) / ref(x)| being the function's own sensitivity to a relative
    change of x (an error no formula can avoid once x is rounded). Where the exact value is
    below the dtype's smallest normal number, the error may be up to that number."""
    info = np.finfo(dtype)
    computed = fn(np.asarray(x, dtype=dtype))
    failures = []
    for xi, yi in zip(np.asarray(x, dtype=dtype).tolist(), computed.tolist()):
        exact = ref(mp.mpf(xi))
        if abs(exact) < info.tiny:
            if abs(mp.mpf(yi) - exact) > info.tiny:
                failures.append((xi, yi, float(exact)))
            continue
        cond = abs(mp.mpf(xi) * mp.diff(ref, mp.mpf(xi)) / exact) if xi != 0 else 0
        if abs((mp.mpf(yi) - exact) / exact) > ULPS * float(info.eps) * (1 + cond):
            failures.append((xi, yi, float(exact)))
    return failures


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MP_REFERENCES))
def test_tails_are_accurate_against_a_high_precision_reference(name, dtype):
    """From −1e4 to 1e4, tails included, are f and f' within a few units of roundoff (scaled by
    the function's own condition number) of a 60-digit mpmath reference, in float32 and
    float64? (TeLU's tanh(eˣ) written as (1 − w)/(1 + w) failed here: 12 % off at x = −15 in
    float32.)"""
    f, df = MP_REFERENCES[name]
    act = A.get(name)
    assert _accuracy_failures(act, f, TAIL_POINTS, dtype) == []
    assert _accuracy_failures(act.grad, df, TAIL_POINTS, dtype) == []


def test_every_elementwise_activation_has_a_high_precision_reference():
    """Is the tail-accuracy test complete: an mpmath reference for every elementwise activation?"""
    assert sorted(MP_REFERENCES) == sorted(ELEMENTWISE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gap", [1.0, 10.0, 30.0, 80.0, 700.0, 1e4])
def test_softmax_tails_are_accurate_against_a_high_precision_reference(gap, dtype):
    """For logits (0, −gap, gap/2), are softmax and log-softmax within a few ulps of mpmath,
    the tiny probabilities included (relative to the dtype's smallest normal number)?"""
    logits = [0.0, -gap, gap / 2]
    exact = [mp.exp(mp.mpf(v)) / mp.fsum(mp.exp(mp.mpf(w)) for w in logits) for v in logits]
    info = np.finfo(dtype)
    probs = A.softmax(np.array(logits, dtype=dtype)).tolist()
    logs = A.log_softmax(np.array(logits, dtype=dtype)).tolist()
    for p, lp, e in zip(probs, logs, exact):
        tol = max(ULPS * float(info.eps) * float(e) * (1 + gap), float(info.tiny))
        assert abs(p - float(e)) <= tol, (p, e)
        assert abs(lp - float(mp.log(e))) <= ULPS * float(info.eps) * (1 + abs(float(mp.log(e))))


@pytest.mark.parametrize("name", A.names())
def test_input_is_never_modified(name):
    """Do forward, grad and backward leave the caller's array untouched (also in float32)?"""
    for dtype in (np.float32, np.float64):
        x = _grid(shape=(4, 6), seed=6).astype(dtype)
        before = x.copy()
        for what, fn in _callables(name):
            fn(x)
            np.testing.assert_array_equal(x, before, err_msg=what)


def test_identity_returns_a_copy():
    """Does identity return a new array, so writing to the result cannot change the input?"""
    x = np.arange(3.0)
    y = A.identity(x)
    y[0] = 99
    assert x[0] == 0


@pytest.mark.parametrize("bad", ["abc", np.array(["a", "b"]), np.array([1 + 2j])])
def test_non_numeric_input_raises_type_error(bad):
    """Is a string or complex array rejected with a TypeError that names the dtype?"""
    with pytest.raises(TypeError, match="dtype"):
        A.relu(bad)


def test_backward_rejects_a_grad_out_of_the_wrong_shape():
    """Does backward refuse a grad_out whose shape differs from the output's?"""
    for name in ("relu", "softmax", "log_softmax"):
        with pytest.raises(ValueError, match="shape"):
            A.get(name).backward(np.zeros((2, 3)), np.zeros((3, 2)))


# --------------------------------------------------------------------------------------------
# identities (hypothesis)
# --------------------------------------------------------------------------------------------
# No deadline: the test machine is shared, and a slow example is not a wrong one.
relaxed = settings(deadline=None, max_examples=60)
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-50, 50, allow_nan=False))


@relaxed
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite))
def test_sigmoid_is_symmetric(x):
    """σ(−x) = 1 − σ(x) for every x."""
    np.testing.assert_allclose(A.sigmoid(-x), 1 - A.sigmoid(x), atol=1e-15)


@relaxed
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite))
def test_tanh_is_a_rescaled_sigmoid(x):
    """tanh(x) = 2σ(2x) − 1 for every x."""
    np.testing.assert_allclose(A.tanh(x), 2 * A.sigmoid(2 * x) - 1, atol=1e-15)


@relaxed
@given(arrays, st.data())
def test_softmax_rows_sum_to_one_on_any_axis(x, data):
    """Along any axis, are softmax's entries in [0, 1] and do they sum to 1?"""
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    s = A.softmax(x, axis=axis)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)


@relaxed
@given(arrays, st.floats(-1e3, 1e3, allow_nan=False), st.data())
def test_softmax_is_shift_invariant(x, c, data):
    """softmax(x + c) = softmax(x) along the chosen axis, for any constant c."""
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(A.softmax(x + c, axis=axis), A.softmax(x, axis=axis),
                               atol=1e-12)


@relaxed
@given(arrays, st.data())
def test_log_softmax_is_the_log_of_softmax(x, data):
    """log_softmax(x) = log(softmax(x)) where softmax does not underflow."""
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(A.log_softmax(x, axis=axis), np.log(A.softmax(x, axis=axis)),
                               rtol=1e-10, atol=1e-12)


def test_log_softmax_stays_finite_where_softmax_underflows():
    """For a logit gap of 1e4, is log_softmax still finite (−1e4) where log(softmax) is −inf?"""
    np.testing.assert_allclose(A.log_softmax([0.0, 1e4]), [-1e4, 0.0])


@relaxed
@given(st.floats(-30, 30, allow_nan=False))
def test_swish_tends_to_relu_as_beta_grows(x):
    """As β → ∞, swish(x, β) → max(0, x)."""
    assert A.swish(x, 1e4) == pytest.approx(max(0.0, x), abs=1e-4)


@relaxed
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite))
def test_swish_with_beta_zero_is_half_the_identity(x):
    """swish(x, 0) = x/2."""
    np.testing.assert_allclose(A.swish(x, 0.0), x / 2)


@relaxed
@given(st.floats(8, 1e4))
def test_gelu_tends_to_relu_for_large_inputs(x):
    """For large |x|, GELU(x) → x and GELU(−x) → 0 (and so does its tanh approximation)."""
    for f in (A.gelu, A.gelu_tanh):
        assert f(x) == pytest.approx(x, rel=1e-12)
        assert abs(f(-x)) < 1e-12


@relaxed
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite))
def test_softplus_derivative_is_the_sigmoid(x):
    """d/dx softplus = σ, and softplus(x) − softplus(−x) = x."""
    np.testing.assert_array_equal(A.softplus_grad(x), A.sigmoid(x))
    np.testing.assert_allclose(A.softplus(x) - A.softplus(-x), x, atol=1e-12)


# --------------------------------------------------------------------------------------------
# PReLU, RReLU, maxout, softmax backward
# --------------------------------------------------------------------------------------------
def test_prelu_scalar_alpha_gradient_matches_centred_differences():
    """With one shared α, is dα the summed numerical derivative (a float) and dx right?"""
    x, g = _grid(shape=(5, 4), seed=8), np.random.default_rng(9).normal(size=(5, 4))
    dx, dalpha = A.prelu_backward(x, 0.2, g)
    assert isinstance(dalpha, float)
    numeric = gc.numerical_grad(lambda a: np.sum(A.prelu(x, float(a)) * g), 0.2)
    assert dalpha == pytest.approx(float(numeric), rel=1e-7)
    assert gc.rel_error(dx, gc.numerical_vjp(lambda z: A.prelu(z, 0.2), x, g)) < 1e-8


def test_prelu_per_channel_alpha_gradient_matches_centred_differences():
    """With α of shape (C,) on the last axis, is dα (shape (C,)) right, and each channel its own
    slope?"""
    x, g = _grid(shape=(2, 5, 3), seed=10), np.random.default_rng(11).normal(size=(2, 5, 3))
    alpha = np.array([0.1, 0.5, 2.0])
    y = A.prelu(x, alpha)
    np.testing.assert_allclose(y, np.where(x > 0, x, x * alpha[None, None, :]))
    dx, dalpha = A.prelu_backward(x, alpha, g)
    assert dalpha.shape == (3,)
    numeric = gc.numerical_grad(lambda a: np.sum(A.prelu(x, a) * g), alpha)
    assert gc.rel_error(dalpha, numeric) < 1e-8
    assert gc.rel_error(dx, gc.numerical_vjp(lambda z: A.prelu(z, alpha), x, g)) < 1e-8


def test_prelu_rejects_alpha_that_does_not_fit_the_channels():
    """Is a per-channel α whose length differs from x's last axis a ValueError?"""
    with pytest.raises(ValueError, match="last axis"):
        A.prelu(np.zeros((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        A.prelu(np.zeros((2, 3)), np.ones((2, 3)))


def test_rrelu_is_deterministic_for_a_seed():
    """Same seed: same output and matching gradient; different seed: different slopes."""
    x = -np.abs(_grid(shape=(4, 5), seed=12))
    a = A.rrelu(x, training=True, rng=42)
    np.testing.assert_array_equal(a, A.rrelu(x, training=True, rng=42))
    assert not np.array_equal(a, A.rrelu(x, training=True, rng=43))
    slopes = a / x
    np.testing.assert_allclose(A.rrelu_grad(x, training=True, rng=42), slopes)
    assert np.all((slopes >= 1 / 8) & (slopes <= 1 / 3))
    assert np.unique(slopes).size == slopes.size


def test_rrelu_uses_the_mean_slope_in_evaluation():
    """In evaluation, is every negative input scaled by (lower + upper)/2, whatever the rng?"""
    x = np.array([-4.0, -1.0, 0.0, 2.0])
    expected = np.array([-4.0 * 0.3, -0.3, 0.0, 2.0])
    np.testing.assert_allclose(A.rrelu(x, 0.2, 0.4, training=False, rng=1), expected)
    np.testing.assert_allclose(A.rrelu(x, 0.2, 0.4, training=False, rng=2), expected)
    np.testing.assert_allclose(A.rrelu_grad(x, 0.2, 0.4), [0.3, 0.3, 0.3, 1.0])


def test_rrelu_rejects_inverted_bounds():
    """Is lower > upper (or a negative bound) a ValueError?"""
    with pytest.raises(ValueError, match="lower"):
        A.rrelu([1.0], lower=0.5, upper=0.1)


def test_maxout_takes_the_max_of_consecutive_groups():
    """For x of shape (N, k·m), is maxout the max over each group of k consecutive entries?"""
    x = np.random.default_rng(13).normal(size=(4, 12))
    for k in (1, 2, 3, 4):
        expected = np.array([[row[j * k:(j + 1) * k].max() for j in range(12 // k)]
                             for row in x])
        np.testing.assert_array_equal(A.maxout(x, k), expected)


def test_maxout_backward_routes_the_gradient_to_the_winner():
    """Does the gradient go only to each group's arg-max, matching a numerical VJP?"""
    x = np.array([[1.0, 5.0, 2.0, -3.0, 0.5, 0.4]])
    dx = A.maxout_backward(x, [[10.0, 20.0]], k=3)
    np.testing.assert_array_equal(dx, [[0.0, 10.0, 0.0, 0.0, 20.0, 0.0]])
    x3 = np.random.default_rng(14).normal(size=(2, 3, 8))
    g = np.random.default_rng(15).normal(size=(2, 3, 4))
    numeric = gc.numerical_vjp(lambda z: A.maxout(z, 2), x3, g)
    assert gc.rel_error(A.maxout_backward(x3, g, 2), numeric) < 1e-8


@pytest.mark.parametrize("k", [0, -1, 2.5, True, 5])
def test_maxout_rejects_a_bad_number_of_pieces(k):
    """Is a k that is not a positive divisor of the last axis a ValueError?"""
    with pytest.raises(ValueError, match="k"):
        A.maxout(np.zeros((2, 6)), k)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_softmax_backward_matches_a_numerical_vjp_on_any_axis(axis):
    """Is softmax_backward (and log_softmax_backward) the exact VJP along any axis of a 3-d
    array?"""
    x = np.random.default_rng(16).normal(size=(2, 3, 4))
    g = np.random.default_rng(17).normal(size=x.shape)
    for f, back in ((A.softmax, A.softmax_backward), (A.log_softmax, A.log_softmax_backward)):
        numeric = gc.numerical_vjp(lambda z: f(z, axis=axis), x, g)
        assert gc.rel_error(back(x, g, axis=axis), numeric) < 1e-7


def test_softmax_over_the_batch_axis_is_not_per_example():
    """The axis=0 bug of source document 000's code: for a batch (N, K), do only axis=-1 rows sum to
    1?"""
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(A.softmax(logits).sum(axis=1), 1.0)
    assert not np.allclose(A.softmax(logits, axis=0).sum(axis=1), 1.0)


def test_softmax_rejects_an_axis_out_of_range():
    """Is an axis beyond the array's dimensions a ValueError naming the axis?"""
    with pytest.raises(ValueError, match="axis 2"):
        A.softmax(np.zeros((2, 3)), axis=2)


# --------------------------------------------------------------------------------------------
# registry and table properties
# --------------------------------------------------------------------------------------------
REQUIRED = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "elu", "selu",
            "gelu", "gelu_tanh", "swish", "mish", "softplus", "telu", "shifted_tanh", "softmax",
            "log_softmax", "maxout"}


def test_registry_holds_every_course_activation():
    """Does names() list every activation the course covers, each get()-able by its name?"""
    assert REQUIRED <= set(A.names())
    for n in A.names():
        assert A.get(n).name == n and A.get(A.get(n)) is A.get(n)


def test_unknown_name_raises_value_error_listing_valid_names():
    """Does get('foo') raise ValueError that names 'foo' and lists every valid name?"""
    with pytest.raises(ValueError, match="unknown activation 'foo'") as info:
        A.get("foo")
    for n in A.names():
        assert n in str(info.value)


@pytest.mark.parametrize("name", MIXING)
def test_mixing_activations_have_no_elementwise_grad(name):
    """Do softmax, log-softmax and maxout refuse grad() with a TypeError pointing to backward?"""
    act = A.get(name)
    assert not act.elementwise
    with pytest.raises(TypeError, match="backward"):
        act.grad(np.zeros((2, 4)))


def test_registry_parameters_default_and_can_be_overridden():
    """Does act(x) use the registered defaults and act(x, alpha=…) override them?"""
    act, x = A.get("leaky_relu"), np.array([-2.0, 3.0])
    np.testing.assert_allclose(act(x), [-0.02, 3.0])
    np.testing.assert_allclose(act.forward(x, alpha=0.5), [-1.0, 3.0])
    np.testing.assert_allclose(act.backward(x, np.ones(2), alpha=0.5), [0.5, 1.0])
    with pytest.raises(TypeError):
        act(x, slope=0.5)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_saturation_property_matches_the_derivative_in_the_tails(name):
    """Is `saturates` ('both'/'left'/'right'/'none') where |f'| < 1e-3 at x = ∓50?"""
    act = A.get(name)
    d_left, d_right = np.abs(act.grad(np.array([-50.0, 50.0]), **_params_for(name)))
    observed = {(True, True): "both", (True, False): "left",
                (False, True): "right", (False, False): "none"}[(d_left < 1e-3, d_right < 1e-3)]
    assert act.saturates == observed


# Values a learned parameter can reach in training; fixed parameters keep their defaults.
LEARNED_PARAMETER_VALUES = {"prelu": [{"alpha": 0.25}, {"alpha": 0.9}, {"alpha": -0.5}]}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_monotonic_property_matches_the_sign_of_the_derivative(name):
    """Is `monotonic` true exactly when f' ≥ 0 on [−8, 8] at the defaults and at every value
    a learned parameter can reach (PReLU's α may turn negative)?"""
    act = A.get(name)
    x = np.linspace(-8, 8, 16001)
    settings_ = LEARNED_PARAMETER_VALUES.get(name, [{}])
    assert act.monotonic == all(bool(np.all(act.grad(x, **p) >= 0)) for p in settings_)


def test_maxout_is_not_monotonic_in_the_input_of_its_pieces():
    """Is maxout registered non-monotonic, as max(z, −z) = |z| decreases for z < 0?"""
    z = np.linspace(-2, 2, 401)
    unit = A.maxout(np.stack([z, -z], axis=-1), 2)[:, 0]
    np.testing.assert_array_equal(unit, np.abs(z))
    assert np.any(np.diff(unit) < 0)
    assert A.get("maxout").monotonic is False


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_smooth_property_matches_continuity_of_the_derivative(name):
    """Is `smooth` true exactly when f' has no jump (> 1e-3) across 0 (where every kink sits)?"""
    act = A.get(name)
    d = act.grad(np.array([-1e-9, 1e-9]), **({"training": False} if name == "rrelu" else {}))
    assert act.smooth == bool(abs(d[1] - d[0]) < 1e-3)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_zero_centred_property_matches_the_mean_output(name):
    """Is `zero_centred` true exactly when |E f(z)| < ZERO_CENTRED_MAX_MEAN for z ~ N(0, 1)?
    (The mean is a 200-point Gauss-Hermite quadrature: exact to far more digits than the
    rule needs, and the same on every machine.)"""
    act = A.get(name)
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    mean = float(np.sum(weights * act(nodes)) / np.sum(weights))
    assert act.zero_centred == (abs(mean) < A.ZERO_CENTRED_MAX_MEAN), mean


def test_zero_centred_rule_separates_elu_from_tanh_and_selu():
    """Does the rule put tanh and SELU (mean 0) on one side and ELU (mean ≈ 0.16) on the other?"""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    mean = {n: float(np.sum(weights * A.get(n)(nodes)) / np.sum(weights))
            for n in ("tanh", "selu", "elu")}
    assert abs(mean["tanh"]) < 1e-12 and abs(mean["selu"]) < 1e-3
    assert mean["elu"] == pytest.approx(0.1605, abs=1e-3)
    assert [A.get(n).zero_centred for n in ("tanh", "selu", "elu")] == [True, True, False]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "shifted_tanh", "relu", "softplus", "elu",
                                  "selu", "gelu", "swish", "mish", "telu"])
def test_output_range_lower_bound_is_what_the_table_says(name):
    """Is the lower end printed in output_range the function's infimum on a fine grid?"""
    act = A.get(name)
    y = act(np.linspace(-40, 10, 500_001))
    low = act.output_range.split(",")[0].strip("([ ≈")
    bound = {"-1": -1.0, "0": 0.0, "-α": -1.0, "-λα": -A.SELU_SCALE * A.SELU_ALPHA}.get(low)
    if bound is None:
        bound = float(low)
    assert y.min() == pytest.approx(bound, abs=1e-3)
    assert act.reference, "every activation in the table cites a source"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameter_gradients_keep_the_contract_at_extremes(dtype):
    """Are swish's dβ, PReLU's (dx, dα) and RReLU's training slopes finite, warning-free and of x's
    dtype?"""
    x = np.array([[-1e4, -1.0, 0.0], [1.0, 1e3, 1e4]], dtype=dtype)
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for beta in (0.0, 1.0, 5.0):
            d = A.swish_grad_beta(x, beta)
            assert d.dtype == dtype and np.all(np.isfinite(d))
        dx, da = A.prelu_backward(x, np.array([0.1, 0.2, 0.3]), np.ones_like(x))
        assert dx.dtype == da.dtype == dtype and np.all(np.isfinite(dx)) and np.isfinite(da).all()
        dx, da = A.prelu_backward(x, 0.25, np.ones_like(x))
        assert isinstance(da, float) and np.isfinite(da)
        assert A.rrelu(x, training=True, rng=0).dtype == dtype
    np.testing.assert_array_equal(x, before)


@settings(deadline=None, max_examples=150)
@given(st.sampled_from(SAME_SHAPE),
       hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                  elements=st.floats(-1e4, 1e4, width=32)))
def test_contract_holds_for_arbitrary_arrays(name, x):
    """For any shape (0-d to 3-d), float32/float64 and values in [−1e4, 1e4]: same shape and dtype,
    finite, no warning, input untouched — for forward, grad and backward alike."""
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for what, fn in _callables(name):
            y = fn(x)
            assert y.shape == x.shape and y.dtype == x.dtype, what
            assert np.all(np.isfinite(y)), (what, x, y)
    np.testing.assert_array_equal(x, before)
