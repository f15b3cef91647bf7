"""Tests of actlab.gradcheck: numerical derivatives of functions whose derivatives are known in
closed form, the relative-error measure, and that wrong gradients are caught and located."""

from __future__ import annotations

import numpy as np
import pytest

from actlab import activations as A
from actlab import gradcheck as gc


def test_numerical_grad_of_a_scalar_function_matches_the_closed_form():
    """For f(x) = Σ x³ + x₀x₁ on a (2, 3) array, is the numerical gradient 3x² (+ cross terms)?"""
    x = np.random.default_rng(0).normal(size=(2, 3))

    def f(z):
        return np.sum(z**3) + z[0, 0] * z[0, 1]

    expected = 3 * x**2
    expected[0, 0] += x[0, 1]
    expected[0, 1] += x[0, 0]
    grad = gc.numerical_grad(f, x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-8)


def test_numerical_grad_accepts_a_scalar_point():
    """Does numerical_grad work at a 0-d point (e.g. a single slope α) and return a 0-d array?"""
    grad = gc.numerical_grad(lambda a: np.sin(a), 0.3)
    assert grad.shape == ()
    assert float(grad) == pytest.approx(np.cos(0.3), rel=1e-9)


def test_numerical_elementwise_grad_of_sin_is_cos():
    """Is the entrywise centred difference of sin equal to cos on a 3-d array?"""
    x = np.random.default_rng(1).uniform(-3, 3, size=(2, 3, 4))
    np.testing.assert_allclose(gc.numerical_elementwise_grad(np.sin, x), np.cos(x), rtol=1e-8,
                               atol=1e-10)


def test_centred_differences_are_second_order_accurate():
    """Does halving h cut the error of the centred difference by about 4 (error O(h²))?"""
    x = np.array([0.7])
    err = [abs(gc.numerical_elementwise_grad(np.exp, x, h)[0] - np.exp(0.7)) for h in (1e-2, 5e-3)]
    assert 3.5 < err[0] / err[1] < 4.5


def test_numerical_vjp_of_a_linear_map_is_the_transpose_product():
    """For f(x) = W x, is the numerical VJP with upstream g equal to Wᵀ g?"""
    rng = np.random.default_rng(2)
    w, x, g = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=4)
    np.testing.assert_allclose(gc.numerical_vjp(lambda z: w @ z, x, g), w.T @ g, rtol=1e-8)


def test_numerical_vjp_rejects_grad_out_of_the_wrong_shape():
    """Is a grad_out whose shape differs from f(x)'s a ValueError?"""
    with pytest.raises(ValueError, match="grad_out"):
        gc.numerical_vjp(np.sin, np.zeros(3), np.zeros(4))


def test_rel_error_is_the_cs231n_measure():
    """Is rel_error max |a − b| / max(1e-8, |a| + |b|), judging tiny values absolutely?"""
    assert gc.rel_error([1.0, 2.0], [1.1, 2.0]) == pytest.approx(0.1 / 2.1)
    assert gc.rel_error(0.0, 1e-10) == pytest.approx(1e-10 / 1e-8)
    assert gc.rel_error([-1.0], [1.0]) == pytest.approx(1.0)
    assert gc.rel_error(np.ones((2, 2)), np.ones((2, 2))) == 0.0
    assert isinstance(gc.rel_error(1.0, 2.0), float)


def test_rel_error_counts_differences_up_to_atol_as_agreement():
    """With ``atol``, is a difference of rounding-noise size between a true zero and its
    numerical estimate an error of 0, while larger differences keep their relative error?"""
    analytic, numerical = np.array([6e-17, 0.5]), np.array([1.1e-11, 0.5 + 1e-3])
    assert gc.rel_error(analytic, numerical) == pytest.approx(1.1e-11 / 1e-8, rel=1e-3)
    errors = gc.rel_error_elementwise(analytic, numerical, atol=1e-8)
    assert errors[0] == 0.0
    assert errors[1] == pytest.approx(1e-3 / 1.001, rel=1e-6)
    with pytest.raises(ValueError, match="atol"):
        gc.rel_error(analytic, numerical, atol=-1.0)


def test_check_grad_with_atol_accepts_differences_of_noise_size_only():
    """A loss whose slope is 1e-12 (the size of the rounding noise that centred differences
    give for a true zero) against an analytic gradient of 0: does check_grad fail it with the
    relative measure alone, pass it with atol=1e-9, and still fail a slope of 1e-6?"""
    def tiny(c):
        return 1e-12 * c[0]

    def small(c):
        return 1e-6 * c[0]

    zero = lambda c: np.zeros(1)  # noqa: E731
    assert not gc.check_grad(tiny, zero, np.array([0.3])).ok
    assert gc.check_grad(tiny, zero, np.array([0.3]), atol=1e-9).ok
    result = gc.check_grad(small, zero, np.array([0.3]), atol=1e-9)
    assert not result.ok and result.mismatches == [(0,)]


def test_rel_error_rejects_arrays_of_different_shapes():
    """Does comparing arrays of different shapes raise instead of broadcasting silently?"""
    with pytest.raises(ValueError, match="shapes"):
        gc.rel_error(np.zeros(3), np.zeros((3, 1)))


def test_check_grad_passes_a_correct_derivative():
    """Does check_grad accept tanh' = 1 − tanh² with a tiny error and no mismatches?"""
    x = np.random.default_rng(3).normal(size=(3, 4))
    result = gc.check_grad(A.tanh, A.tanh_grad, x)
    assert result.ok and bool(result)
    assert result.max_rel_error < 1e-8
    assert result.mismatches == []
    assert "passed" in str(result)


def test_check_grad_finds_exactly_the_wrong_entries():
    """When one entry of a gradient is wrong, does check_grad fail and point at that index?"""
    x = np.random.default_rng(4).normal(size=(3, 4))

    def broken_grad(z):
        d = A.sigmoid_grad(z)
        d[1, 2] *= 1.01
        return d

    result = gc.check_grad(A.sigmoid, broken_grad, x)
    assert not result.ok
    assert result.mismatches == [(1, 2)]
    assert result.max_rel_error == pytest.approx(0.01 / 2.01, rel=1e-3)
    text = result.report()
    assert "FAILED" in text and "(1, 2)" in text


def test_check_grad_catches_a_classic_mistake():
    """Is σ(x) used in place of σ'(x) (a common learner error) reported as failing everywhere?"""
    x = np.random.default_rng(5).normal(size=10)
    result = gc.check_grad(A.sigmoid, A.sigmoid, x)
    assert not result.ok and len(result.mismatches) == 10


def test_check_grad_handles_scalar_losses_and_backward_passes():
    """Does check_grad compare a loss's gradient and a VJP (softmax backward) correctly?"""
    rng = np.random.default_rng(6)
    x, g = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    loss = gc.check_grad(lambda z: np.sum(A.softplus(z)), A.softplus_grad, x)
    assert loss.ok, loss.report()
    vjp = gc.check_grad(A.softmax, A.softmax_backward, x, grad_out=g)
    assert vjp.ok, vjp.report()
    wrong = gc.check_grad(A.softmax, lambda z, go: go * A.softmax(z) * (1 - A.softmax(z)), x,
                          grad_out=g)
    assert not wrong.ok, "the diagonal of the Jacobian alone is not softmax's VJP"


def test_check_grad_works_in_float64_and_leaves_input_alone():
    """Is a float32 input checked in float64 (so float32 rounding cannot fail it) and left
    unchanged?"""
    x = np.random.default_rng(7).normal(size=(4, 4)).astype(np.float32)
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z.dtype)
        return A.gelu(z)

    result = gc.check_grad(f, A.gelu_grad, x)
    assert result.ok, result.report()
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x, before)


def test_check_activation_detects_a_registered_activation_with_a_wrong_derivative():
    """Does check_activation pass the real ELU and fail an Activation whose derivative is off?"""
    x = np.random.default_rng(8).uniform(-3, 3, size=(3, 5))
    assert gc.check_activation("elu", x).ok
    bad = A.Activation("bad_elu", A.elu, lambda z, alpha=1.0: A.elu_grad(z, alpha) + 0.01,
                       defaults={"alpha": 1.0})
    assert not gc.check_activation(bad, x).ok


def test_relu_kink_shows_up_as_a_mismatch():
    """At x = 0 exactly, does the check flag ReLU (the one-sided slopes 0 and 1 differ)?"""
    result = gc.check_grad(A.relu, A.relu_grad, np.array([-1.0, 0.0, 1.0]))
    assert result.mismatches == [(1,)]


@pytest.mark.parametrize("h", [0.0, -1e-5, float("nan")])
def test_bad_step_raises(h):
    """Is a step h that is not positive and finite a ValueError?"""
    with pytest.raises(ValueError, match="step"):
        gc.numerical_grad(np.sum, np.zeros(2), h)


def test_numerical_grad_rejects_a_non_scalar_function():
    """Does numerical_grad explain that f must return a scalar when it returns an array?"""
    with pytest.raises(ValueError, match="scalar"):
        gc.numerical_grad(np.sin, np.zeros(3))


def test_progress_bar_is_shown_only_when_asked(capsys):
    """Does progress=True draw a tqdm bar on stderr, and the default stay silent off a terminal?"""
    x = np.zeros(1200)
    gc.numerical_grad(np.sum, x, progress=True)
    assert "numerical gradient" in capsys.readouterr().err
    gc.numerical_grad(np.sum, x)
    gc.numerical_vjp(np.sin, x[:5], np.ones(5))
    assert capsys.readouterr().err == ""
