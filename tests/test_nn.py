"""Tests of actlab.nn: every backward pass against centred differences, optimisers against their
hand-written update rules, the loss against an independent log-sum-exp, and the trainer on real
runs (XOR, determinism, validation split, diagnostics on hand-built networks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from actlab import activations as A
from actlab import gradcheck as gc
from actlab import nn
from helpers import XOR_X, XOR_Y, labelled_rows, torch_reference

# Differences up to this size count as agreement in gradient checks. A true gradient of exactly
# 0 (the bias in front of batch norm) comes out of centred differences as about 1e-11 of
# rounding noise whose size depends on the CPU's BLAS kernel; any real gradient of these
# order-1 losses is far larger.
GRAD_ATOL = 1e-8


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _loss_of(model, X, y, training=True, loss=nn.SoftmaxCrossEntropy, keep=None):
    """Mean loss of ``model`` on ``(X, y)``; RReLU noise reset to one seed so that every probe
    of a finite difference sees the same random slopes.  ``keep`` receives the loss object."""
    for layer in model.layers:
        if isinstance(layer, nn.ActivationLayer):
            layer.rng = np.random.default_rng(7)
    loss_fn = loss()
    if keep is not None:
        keep.append(loss_fn)
    return loss_fn.forward(model.forward(X, training=training), y)


def _check_model_gradients(model, X, y, training=True, loss=nn.SoftmaxCrossEntropy):
    """Analytic gradients of every parameter and of the input vs centred differences.

    Returns the worst relative error (cs231n measure) over all parameters and the input;
    differences up to ``GRAD_ATOL`` count as agreement.
    """
    kept = []
    _loss_of(model, X, y, training, loss, keep=kept)
    dx = model.backward(kept[0].backward())
    analytic = [g.copy() for g in model.grads()]
    worst = 0.0
    for p, g in zip(model.params(), analytic):
        original = p.copy()

        def f(value, p=p):
            p[...] = value
            return _loss_of(model, X, y, training, loss)

        numerical = gc.numerical_grad(f, original)
        p[...] = original
        worst = max(worst, gc.rel_error(g, numerical, atol=GRAD_ATOL))
    numerical_dx = gc.numerical_grad(lambda z: _loss_of(model, z, y, training, loss), X)
    worst = max(worst, gc.rel_error(dx, numerical_dx, atol=GRAD_ATOL))
    return worst


# ------------------------------------------------------------------------------------------
# layers and gradients
# ------------------------------------------------------------------------------------------


def test_dense_forward_is_the_affine_map_x_w_plus_b():
    """Does Dense compute x·W + b, row by row, as an explicit sum over inputs would?"""
    layer = nn.Dense(3, 2, rng=0, dtype=np.float64)
    layer.b[:] = [0.5, -1.0]
    x = np.random.default_rng(1).normal(size=(4, 3))
    expected = np.array([[sum(x[n, i] * layer.W[i, j] for i in range(3)) + layer.b[j]
                          for j in range(2)] for n in range(4)])
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-12)


def test_dense_rejects_an_input_of_the_wrong_width():
    """Does a Dense layer name the shape it expected when given the wrong number of columns?"""
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\), got \(2, 4\)"):
        nn.Dense(3, 2).forward(np.zeros((2, 4)), training=False)


@pytest.mark.parametrize("name", A.names())
def test_network_gradients_match_finite_differences_for_every_activation(name):
    """For a 4-6-5-3 network with this hidden activation, do backward's gradients of every
    weight, bias (and PReLU slope) and of the input agree with centred differences?"""
    X, y = labelled_rows()
    model = nn.mlp([4, 6, 5, 3], activation=name, seed=3, dtype=np.float64)
    assert _check_model_gradients(model, X, y) < 1e-6


def test_mixed_activations_per_hidden_layer_have_correct_gradients():
    """With a different activation in each hidden layer (tanh, leaky ReLU α=0.2, maxout k=3),
    are the gradients still right, and are the layers the ones asked for?"""
    X, y = labelled_rows(seed=1)
    model = nn.mlp([4, 5, 5, 4, 3], activation=["tanh", ("leaky_relu", {"alpha": 0.2}),
                                                 ("maxout", {"k": 3})],
                   seed=2, dtype=np.float64)
    acts = [layer for layer in model.layers if isinstance(layer, nn.ActivationLayer)]
    assert [a.name for a in acts] == ["tanh", "leaky_relu", "maxout"]
    assert acts[1].options["alpha"] == 0.2
    assert model.layers[4].n_out == 4 * 3  # maxout's Dense is k times wider
    assert _check_model_gradients(model, X, y) < 1e-6


@pytest.mark.parametrize("call", ["forward", "__call__"])
def test_every_forward_call_must_say_whether_it_trains(call):
    """Does a forward without ``training`` (model.forward(x) or model(x)) fail with a TypeError
    naming it, for the model and each kind of layer, while model(x, training=...) is the same
    call as model.forward(x, training=...): evaluation leaves BatchNorm's running statistics
    alone and training moves them?"""
    model = nn.mlp([2, 4, 2], activation="rrelu", batchnorm="before", seed=0)
    for target in (model, *model.layers):
        with pytest.raises(TypeError, match="training"):
            getattr(target, call)(XOR_X)
    bn = model.layers[1]
    mean = bn.running_mean.copy()
    evaluated = getattr(model, call)(XOR_X, training=False)
    np.testing.assert_array_equal(evaluated, model.forward(XOR_X, training=False))
    np.testing.assert_array_equal(bn.running_mean, mean)
    getattr(model, call)(XOR_X, training=True)
    assert not np.array_equal(bn.running_mean, mean)


def test_rrelu_training_backward_uses_the_slopes_of_its_forward():
    """In training mode RReLU draws random slopes: does backward reuse exactly the slopes of
    the preceding forward (so the gradient matches finite differences at fixed noise)?"""
    X, y = labelled_rows(seed=4)
    X[:, :] = -np.abs(X)  # negative inputs so that the random slopes matter
    model = nn.Sequential([nn.ActivationLayer("rrelu"), nn.Dense(4, 3, rng=0, dtype=np.float64)])
    assert _check_model_gradients(model, X, y, training=True) < 1e-6


def test_rrelu_draws_new_slopes_in_training_and_fixed_ones_in_evaluation():
    """Does an RReLU layer give different outputs on repeated training passes over the same
    negative input, and the mean slope (lower+upper)/2 in evaluation?"""
    layer = nn.ActivationLayer("rrelu", seed=0)
    z = -np.ones((3, 4))
    first, second = layer.forward(z, training=True).copy(), layer.forward(z, training=True)
    assert not np.array_equal(first, second)
    assert np.all((first <= -1 / 8) & (first >= -1 / 3))
    np.testing.assert_allclose(layer.forward(z, training=False), -(1 / 8 + 1 / 3) / 2)


@pytest.mark.parametrize("n_units", [4, None], ids=["per-unit", "shared"])
def test_prelu_slope_gradient_matches_finite_differences(n_units):
    """Is PReLU's dα (one slope per unit, or one shared slope) the numerical derivative of
    Σ f(z)·g with respect to α, and is dx right too?"""
    rng = np.random.default_rng(5)
    z, g = rng.normal(size=(7, 4)), rng.normal(size=(7, 4))
    layer = nn.PReLU(n_units, alpha=0.3, dtype=np.float64)
    layer.forward(z, training=True)
    dx = layer.backward(g)

    def objective(alpha):
        layer.alpha[...] = alpha
        return np.sum(layer.forward(z, training=True) * g)

    alpha0 = layer.alpha.copy()
    numerical = gc.numerical_grad(objective, alpha0)
    layer.alpha[...] = alpha0
    assert layer.dalpha.shape == alpha0.shape
    assert gc.rel_error(layer.dalpha, numerical) < 1e-8
    assert gc.rel_error(dx,
                        gc.numerical_vjp(lambda x: layer.forward(x, training=True), z, g)) < 1e-8


def test_prelu_slope_is_learned_by_the_optimiser():
    """Is PReLU's α one of the model's parameters, so that a training step changes it?"""
    model = nn.mlp([4, 5, 3], activation="prelu", seed=0)
    prelu = model.layers[1]
    assert isinstance(prelu, nn.PReLU) and prelu.alpha.shape == (5,)
    X, y = labelled_rows(n=32, seed=6)
    before = prelu.alpha.copy()
    nn.train(model, X - 2.0, y, epochs=1, validation_split=0, progress=False)
    assert not np.allclose(prelu.alpha, before)


@pytest.mark.parametrize("placement", ["before", "after"])
def test_batchnorm_network_gradients_match_finite_differences(placement):
    """With BatchNorm before or after each tanh, do all gradients (γ, β included) agree with
    centred differences of the training-mode loss, where every row affects every output?"""
    X, y = labelled_rows(n=8, seed=7)
    model = nn.mlp([4, 6, 5, 3], activation="tanh", batchnorm=placement, seed=1,
                   dtype=np.float64)
    kinds = [type(layer).__name__ for layer in model.layers]
    if placement == "before":
        assert kinds[:3] == ["Dense", "BatchNorm", "ActivationLayer"]
    else:
        assert kinds[:3] == ["Dense", "ActivationLayer", "BatchNorm"]
    # γ, β away from 1, 0 so that their gradients are not special cases
    for layer in model.layers:
        if isinstance(layer, nn.BatchNorm):
            layer.gamma[:] = np.linspace(0.5, 1.5, layer.n_units)
            layer.beta[:] = np.linspace(-0.3, 0.3, layer.n_units)
    assert _check_model_gradients(model, X, y, training=True) < 1e-6


def test_batchnorm_training_output_has_zero_mean_and_unit_variance_per_unit():
    """In training mode with γ=1, β=0, does every column of BN's output have batch mean 0 and
    (biased) variance 1 − eps/(σ²+eps), whatever the column's scale and offset?"""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 3)) * [0.1, 3.0, 50.0] + [5.0, -2.0, 100.0]
    bn = nn.BatchNorm(3, dtype=np.float64)
    out = bn.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    var = x.var(axis=0)
    np.testing.assert_allclose(out.var(axis=0), var / (var + bn.eps), rtol=1e-10)


def test_batchnorm_running_statistics_follow_the_momentum_rule_and_drive_evaluation():
    """After two training batches, are the running mean and variance the momentum averages
    (unbiased batch variance) and does evaluation mode normalise with them?"""
    rng = np.random.default_rng(9)
    bn = nn.BatchNorm(2, momentum=0.1, dtype=np.float64)
    bn.gamma[:] = [2.0, 0.5]
    bn.beta[:] = [1.0, -1.0]
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(2):
        x = rng.normal(3.0, 2.0, size=(10, 2))
        bn.forward(x, training=True)
        mean = 0.9 * mean + 0.1 * x.mean(axis=0)
        var = 0.9 * var + 0.1 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    x = rng.normal(size=(5, 2))
    expected = bn.gamma * (x - mean) / np.sqrt(var + bn.eps) + bn.beta
    np.testing.assert_allclose(bn.forward(x, training=False), expected, rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)  # evaluation does not update


def test_batchnorm_evaluation_mode_backward_matches_finite_differences():
    """In evaluation mode BN is a fixed affine map per unit: is its backward (dx, dγ, dβ) the
    numerical derivative of Σ BN(x)·g?"""
    rng = np.random.default_rng(10)
    bn = nn.BatchNorm(3, dtype=np.float64)
    bn.running_mean[:] = [0.5, -1.0, 2.0]
    bn.running_var[:] = [0.25, 4.0, 1.0]
    bn.gamma[:] = [1.5, -0.5, 2.0]
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    bn.forward(x, training=False)
    dx = bn.backward(g)
    assert gc.rel_error(dx, gc.numerical_vjp(lambda z: bn.forward(z, training=False), x, g)) \
        < 1e-8
    np.testing.assert_allclose(bn.dbeta, g.sum(axis=0), rtol=1e-12)
    xhat = (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(bn.dgamma, (g * xhat).sum(axis=0), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# loss
# ------------------------------------------------------------------------------------------


def test_softmax_cross_entropy_value_matches_logsumexp_reference():
    """Is the loss the mean of logsumexp(z) − z_y (scipy's logsumexp as the reference), and do
    integer labels and one-hot rows give the same value?"""
    rng = np.random.default_rng(11)
    z, y = rng.normal(size=(5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    expected = np.mean(logsumexp(z, axis=1) - z[np.arange(5), y])
    loss = nn.SoftmaxCrossEntropy()
    assert loss.forward(z, y) == pytest.approx(expected, rel=1e-12)
    assert loss.forward(z, np.eye(4)[y]) == pytest.approx(expected, rel=1e-12)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    """Is backward() the numerical gradient of the mean loss with respect to the logits?"""
    rng = np.random.default_rng(12)
    z, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(z, y)
    grad = loss.backward()
    numerical = gc.numerical_grad(lambda v: nn.SoftmaxCrossEntropy().forward(v, y), z)
    assert gc.rel_error(grad, numerical) < 1e-7


def test_softmax_cross_entropy_is_finite_for_huge_logits_in_float32():
    """With float32 logits of ±1e4, is the loss finite and right (no overflow in exp) and is the
    gradient float32 and finite?"""
    z = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]], dtype=np.float32)
    y = np.array([1, 0])
    loss = nn.SoftmaxCrossEntropy()
    value = loss.forward(z, y)
    # row 0: log-sum-exp is 1e4, minus z_1 = -1e4 → 2e4; row 1: 1e4 + log 2 - 0
    assert value == pytest.approx((2e4 + 1e4 + math.log(2)) / 2, rel=1e-6)
    grad = loss.backward()
    assert grad.dtype == np.float32 and np.all(np.isfinite(grad))


def test_softmax_cross_entropy_rejects_labels_out_of_range():
    """Does a label outside [0, C) raise a ValueError that states the valid range?"""
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))


def test_sigmoid_cross_entropy_matches_the_textbook_formula_and_its_gradient():
    """Is the binary loss −mean(y·log σ(z) + (1−y)·log(1−σ(z))) (scipy's expit as σ), and is
    backward() its numerical gradient?"""
    rng = np.random.default_rng(21)
    z, y = rng.normal(size=(7, 1)) * 2, rng.integers(0, 2, size=7)
    s = expit(z[:, 0])
    expected = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    loss = nn.SigmoidCrossEntropy()
    assert loss.forward(z, y) == pytest.approx(expected, rel=1e-12)
    numerical = gc.numerical_grad(lambda v: nn.SigmoidCrossEntropy().forward(v, y), z)
    assert gc.rel_error(loss.backward(), numerical) < 1e-7


def test_sigmoid_cross_entropy_is_finite_for_confident_wrong_logits():
    """With float32 logits ±1e4 of the wrong sign, is the loss the exact 1e4 (σ rounded to 0 or
    1 would give log 0 = −inf in the naive formula)?"""
    z = np.array([[1e4], [-1e4]], dtype=np.float32)
    loss = nn.SigmoidCrossEntropy()
    assert loss.forward(z, np.array([0, 1])) == pytest.approx(1e4, rel=1e-6)
    np.testing.assert_allclose(loss.backward(), [[0.5], [-0.5]])


def test_mean_squared_error_value_and_gradient():
    """Is MSE the mean of squared differences over all entries and backward its gradient?"""
    rng = np.random.default_rng(22)
    pred, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    loss = nn.MeanSquaredError()
    assert loss.forward(pred, target) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12)
    numerical = gc.numerical_grad(lambda v: nn.MeanSquaredError().forward(v, target), pred)
    assert gc.rel_error(loss.backward(), numerical) < 1e-8


@pytest.mark.parametrize("loss, output, width", [(nn.SigmoidCrossEntropy, None, 1),
                                                 (nn.MeanSquaredError, None, 2),
                                                 (nn.MeanSquaredError, "sigmoid", 2)])
def test_network_gradients_are_right_for_binary_and_regression_losses(loss, output, width):
    """Do the network's gradients agree with centred differences under the binary
    cross-entropy (one logit) and under MSE, also through a sigmoid output layer?"""
    rng = np.random.default_rng(23)
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 2, size=6) if loss is nn.SigmoidCrossEntropy else rng.normal(size=(6, 2))
    model = nn.mlp([4, 5, width], activation="tanh", output=output, seed=0, dtype=np.float64)
    assert _check_model_gradients(model, X, y, loss=loss) < 1e-6


def test_sigmoid_output_learns_xor_as_a_binary_classifier():
    """With one sigmoid output unit, does train() pick the binary cross-entropy by itself and
    reach accuracy 1.0 on XOR, predict() thresholding σ at 0.5?"""
    model = nn.mlp([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    history = nn.train(model, XOR_X, XOR_Y, epochs=400, batch_size=4,
                       optimizer=nn.Adam(lr=0.05), validation_split=0, progress=False)
    assert history.accuracy[-1] == 1.0
    assert np.array_equal(model.predict(XOR_X), XOR_Y)
    probs = model.forward(XOR_X, training=False)[:, 0]
    assert np.all((probs > 0.5) == (XOR_Y == 1)) and np.all((probs > 0) & (probs < 1))


def test_identity_output_fits_a_sine_curve_with_mse():
    """For regression (identity output, loss='mse'), does a tanh MLP fit sin(x) on [−π, π] to a
    validation MSE below 0.01, with accuracy reported as nan?"""
    x = np.linspace(-np.pi, np.pi, 200).reshape(-1, 1)
    model = nn.mlp([1, 32, 1], activation="tanh", seed=0)
    history = nn.train(model, x, np.sin(x), epochs=60, batch_size=16, loss="mse",
                       optimizer=nn.Adam(lr=0.01), progress=False)
    assert history.val_loss[-1] < 0.01
    assert math.isnan(history.accuracy[-1])
    assert nn.evaluate(model, x, np.sin(x), loss="mse").loss < 0.01


def test_unknown_loss_name_lists_the_valid_ones():
    """Does train(loss='hinge') name the losses it knows?"""
    with pytest.raises(ValueError, match="softmax_cross_entropy, sigmoid_cross_entropy, mse"):
        nn.train(nn.mlp([2, 3, 2]), XOR_X, XOR_Y, epochs=1, loss="hinge")


# ------------------------------------------------------------------------------------------
# optimisers
# ------------------------------------------------------------------------------------------


def test_sgd_with_momentum_two_steps_match_the_hand_formula():
    """Do two SGD steps with momentum μ give v₁ = g₁, p₁ = p₀ − lr·v₁, v₂ = μv₁ + g₂,
    p₂ = p₁ − lr·v₂?"""
    p = np.array([1.0, -2.0, 0.5])
    g1, g2 = np.array([0.1, 0.2, -0.3]), np.array([-0.4, 0.0, 0.6])
    opt = nn.SGD(lr=0.1, momentum=0.9)
    expected = p.copy()
    opt.step([p], [g1])
    expected -= 0.1 * g1
    np.testing.assert_allclose(p, expected, rtol=1e-15)
    opt.step([p], [g2])
    expected -= 0.1 * (0.9 * g1 + g2)
    np.testing.assert_allclose(p, expected, rtol=1e-15)


def test_plain_sgd_step_is_minus_lr_times_gradient():
    """Without momentum, is one step exactly p − lr·g?"""
    p, g = np.array([[1.0, 2.0]]), np.array([[0.5, -1.5]])
    nn.SGD(lr=0.2).step([p], [g])
    np.testing.assert_allclose(p, [[0.9, 2.3]], rtol=1e-15)


def test_adam_two_steps_match_the_paper_formula():
    """Do two Adam steps give the bias-corrected update of Kingma & Ba, written out by hand?"""
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    p = np.array([0.5, -1.0, 2.0])
    grads = [np.array([0.1, -0.2, 0.0]), np.array([0.3, 0.1, -0.5])]
    opt = nn.Adam(lr=lr)
    m, v, expected = np.zeros(3), np.zeros(3), p.copy()
    for t, g in enumerate(grads, start=1):
        opt.step([p], [g])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(p, expected, rtol=1e-12)
    # the first step moves every parameter with a non-zero gradient by about lr
    assert opt.t == 2


def test_optimiser_refuses_parameters_of_another_shape():
    """Does reusing one optimiser on a different model raise a clear error instead of mixing
    moment estimates of unrelated parameters?"""
    opt = nn.Adam()
    opt.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="one optimiser per model"):
        opt.step([np.zeros(4)], [np.ones(4)])


def test_three_adam_steps_match_pytorch_on_a_small_mlp():
    """Are three Adam steps on a 4-8-3 ReLU MLP (float64) the losses and parameters PyTorch
    gets from the same start (stored in tests/reference) — an end-to-end check of forward,
    loss, backward and update?"""
    ref = torch_reference()
    model = nn.mlp([4, 8, 3], seed=0, dtype=np.float64)
    dense = [layer for layer in model.layers if isinstance(layer, nn.Dense)]
    for i, layer in enumerate(dense):
        layer.W[...], layer.b[...] = ref[f"adam/W{i}"], ref[f"adam/b{i}"]
    X, y = ref["adam/X"], ref["adam/y"]
    opt = nn.Adam(lr=0.05)
    for expected_loss in ref["adam/loss"]:
        loss = nn.SoftmaxCrossEntropy()
        value = loss.forward(model.forward(X, training=True), y)
        model.backward(loss.backward())
        opt.step(model)
        assert value == pytest.approx(expected_loss, rel=1e-12)
    for i, layer in enumerate(dense):
        np.testing.assert_allclose(layer.W, ref[f"adam/W{i}_final"], rtol=1e-10)
        np.testing.assert_allclose(layer.b, ref[f"adam/b{i}_final"], rtol=1e-10)


# ------------------------------------------------------------------------------------------
# initialisers and the builder
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("init, n_in, n_out, variance", [
    (nn.he, 400, 300, 2 / 400),
    (nn.glorot, 400, 300, 2 / 700),
    (nn.lecun, 400, 300, 1 / 400),
])
def test_initialisers_have_their_stated_variance(init, n_in, n_out, variance):
    """Over 120,000 draws, is each initialiser's sample variance within 2 % of its formula,
    and is the mean near 0?"""
    w = init(n_in, n_out, rng=0, dtype=np.float64)
    assert w.shape == (n_in, n_out)
    assert w.var() == pytest.approx(variance, rel=0.02)
    assert abs(w.mean()) < 4 * math.sqrt(variance / w.size)


def test_glorot_uniform_stays_within_its_limit():
    """Does Glorot-uniform draw only inside ±sqrt(6/(n_in+n_out)) and reach near both ends?"""
    limit = math.sqrt(6 / (50 + 30))
    w = nn.glorot(50, 30, rng=1)
    assert w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


def test_mlp_picks_he_for_relu_lecun_for_selu_and_glorot_otherwise():
    """Does init=None choose the initialiser by the hidden activation, Glorot for the output?"""
    def inits(act):
        return [layer.init_name for layer in nn.mlp([3, 4, 2], activation=act).layers
                if isinstance(layer, nn.Dense)]
    assert inits("relu") == ["he", "glorot"]
    assert inits("selu") == ["lecun", "glorot"]
    assert inits("tanh") == ["glorot", "glorot"]


def test_mlp_with_the_same_seed_builds_the_same_weights():
    """Are two mlp(seed=5) networks identical and an mlp(seed=6) different?"""
    a, b, c = (nn.mlp([5, 4, 3], seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(p, q) for p, q in zip(a.params(), b.params()))
    assert not np.array_equal(a.params()[0], c.params()[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "relux"}, "valid names"),
    ({"activation": ["relu"]}, "1 activations for 2 hidden layers"),
    ({"batchnorm": "middle"}, "batchnorm must be"),
    ({"output": "nope"}, "unknown activation"),
])
def test_mlp_rejects_bad_arguments_with_clear_messages(kwargs, message):
    """Does mlp() refuse an unknown activation, a per-layer list of the wrong length or an
    unknown BatchNorm placement, saying what is wrong?"""
    with pytest.raises(ValueError, match=message):
        nn.mlp([3, 4, 4, 2], **kwargs)


def test_mlp_accepts_a_learners_own_activation_object():
    """Can a hidden layer use an Activation that is not in the registry (problem set 5)?"""
    square = A.Activation("square_plus", lambda x: x * x + x, lambda x: 2 * x + 1)
    model = nn.mlp([4, 3, 3], activation=square, seed=0, dtype=np.float64)
    assert model.layers[1].name == "square_plus"
    X, y = labelled_rows(seed=15)
    assert _check_model_gradients(model, X * 0.3, y) < 1e-6


def test_float32_model_stays_float32_through_training():
    """Does a default (float32) model keep float32 parameters and outputs when trained on
    float64 data?"""
    model = nn.mlp([4, 6, 3])
    X, y = labelled_rows(n=20, seed=16)
    nn.train(model, X, y, epochs=1, validation_split=0, progress=False)
    assert all(p.dtype == np.float32 for p in model.params())
    assert model.forward(X, training=False).dtype == np.float32


# ------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------


def test_relu_mlp_learns_xor_perfectly():
    """Does a 2-8-2 ReLU MLP trained with Adam reach accuracy 1.0 on XOR, which no linear
    model can fit?"""
    model = nn.mlp([2, 8, 2], activation="relu", seed=1)
    history = nn.train(model, XOR_X, XOR_Y, epochs=300, batch_size=4,
                       optimizer=nn.Adam(lr=0.05), validation_split=0, progress=False)
    assert history.accuracy[-1] == 1.0
    assert np.array_equal(model.predict(XOR_X), XOR_Y)
    assert nn.evaluate(model, XOR_X, XOR_Y).accuracy == 1.0


def _small_run(model_seed, train_seed):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = nn.mlp([5, 8, 2], seed=model_seed)
    return nn.train(model, X, y, epochs=3, batch_size=8, seed=train_seed, progress=False,
                    diagnostics=True)


def test_same_seed_gives_an_identical_history_and_another_seed_does_not():
    """Do two runs with the same seeds give bit-identical histories (loss, accuracy, validation,
    diagnostics), while changing the training seed changes the losses?"""
    first, second = _small_run(0, 0), _small_run(0, 0)
    assert first == second
    assert first.loss == second.loss and first.diagnostics == second.diagnostics
    assert _small_run(0, 1).loss != first.loss
    assert _small_run(1, 0).loss != first.loss


def test_history_records_every_metric_once_per_epoch():
    """Does the history hold one loss, accuracy, validation loss/accuracy and diagnostics list
    per epoch, each metric in its valid range?"""
    history = _small_run(0, 0)
    assert history.epochs == 3
    for values in (history.loss, history.accuracy, history.val_loss, history.val_accuracy,
                   history.diagnostics, history.seconds):
        assert len(values) == 3
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)
    assert all(v > 0 for v in history.loss + history.val_loss)
    assert [d["layer"] for d in history.diagnostics[0]] == [0, 2]


@pytest.mark.parametrize("n, split, n_val", [(100, 0.2, 20), (10, 0.25, 2), (7, 0.1, 1),
                                             (50, 0.0, 0)])
def test_validation_split_holds_out_floor_of_n_times_split_rows(n, split, n_val):
    """Does validation_split hold out floor(n·split) rows (at least one when positive) and
    train on the rest?"""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(n, 3)), rng.integers(0, 2, size=n)
    history = nn.train(nn.mlp([3, 4, 2]), X, y, epochs=1, validation_split=split,
                       progress=False)
    assert (history.n_train, history.n_val) == (n - n_val, n_val)
    assert len(history.val_loss) == (1 if n_val else 0)


def test_validation_split_that_leaves_no_training_rows_is_refused():
    """Does a split of 1.0 (or more) raise instead of training on nothing?"""
    with pytest.raises(ValueError, match="validation_split"):
        nn.train(nn.mlp([2, 3, 2]), XOR_X, XOR_Y, epochs=1, validation_split=1.0)


def test_validation_metrics_are_those_of_evaluate_on_the_held_out_rows():
    """With explicit validation_data, is the recorded val_loss/val_accuracy exactly what
    evaluate() reports on those rows after training?"""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, size=40)
    model = nn.mlp([3, 5, 3], seed=0)
    history = nn.train(model, X[:30], y[:30], epochs=2,
                       validation_data=(X[30:], y[30:]), progress=False)
    result = nn.evaluate(model, X[30:], y[30:])
    assert history.val_loss[-1] == result.loss
    assert history.val_accuracy[-1] == result.accuracy
    assert history.n_train == 30 and history.n_val == 10


def test_trailing_softmax_output_trains_exactly_like_logits():
    """Is an MLP built with output='softmax' (as in the Keras model of the source documents) trained
    exactly like the same MLP without it, the softmax being folded into the loss?"""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    plain = nn.train(nn.mlp([4, 6, 3], seed=0), X, y, epochs=2, progress=False)
    with_softmax_model = nn.mlp([4, 6, 3], output="softmax", seed=0)
    with_softmax = nn.train(with_softmax_model, X, y, epochs=2, progress=False)
    assert plain == with_softmax
    probs = with_softmax_model.forward(X, training=False)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_progress_bar_appears_only_when_asked(capsys):
    """Does progress=True draw a tqdm bar on stderr, and progress=False (or a non-terminal, the
    default) print nothing?"""
    for progress in (False, None):
        nn.train(nn.mlp([2, 3, 2]), XOR_X, XOR_Y, epochs=2, validation_split=0,
                 progress=progress)
        assert capsys.readouterr().err == ""
    nn.train(nn.mlp([2, 3, 2]), XOR_X, XOR_Y, epochs=2, validation_split=0, progress=True)
    assert "epochs" in capsys.readouterr().err


def test_no_later_call_overwrites_an_array_handed_out_earlier():
    """Does every array a model and its layers hand out (each layer's forward output in
    training and evaluation mode, backward's input gradient) keep its values through later
    forward, backward, predict and train calls on batches of the same size?"""
    X, y = labelled_rows(n=8, seed=40)
    model = nn.Sequential([nn.Dense(4, 6, rng=0), nn.BatchNorm(6), nn.ActivationLayer("rrelu"),
                           nn.Dense(6, 5, rng=1), nn.PReLU(5), nn.Dense(5, 3, rng=2)])
    handed_out = []
    for training in (True, False):
        h = X
        for layer in model.layers:
            h = layer.forward(h, training=training)
            handed_out.append(h)
        loss = nn.SoftmaxCrossEntropy()
        loss.forward(h, y)
        handed_out.append(model.backward(loss.backward()))
    kept = [a.copy() for a in handed_out]
    nn.train(model, X[::-1].copy(), y, epochs=2, batch_size=8, validation_split=0,
             progress=False)
    model.backward(np.ones((8, 3)) + model.forward(X + 1.0, training=True))
    model.forward(X - 1.0, training=False)
    model.predict(X * 2.0)
    for i, (array, copy) in enumerate(zip(handed_out, kept)):
        np.testing.assert_array_equal(array, copy, err_msg=f"array {i} was overwritten")


class _Spy(nn.Layer):
    """Passes arrays through, keeping each one it sees with a copy of its values then."""

    def __init__(self):
        self.seen = []

    def forward(self, x, *, training):
        self.seen.append((x, x.copy()))
        return x

    def backward(self, grad_out, need_input_grad=True):
        self.seen.append((grad_out, grad_out.copy()))
        return grad_out


def test_training_never_overwrites_an_array_passed_between_layers():
    """During train() (fast and plain), is every array one layer hands the next, forward and
    backward, left as it was by the later steps of the run?"""
    X, y = labelled_rows(n=12, seed=41)
    for fast in (True, False):
        spies = [_Spy(), _Spy()]
        model = nn.Sequential([nn.Dense(4, 6, rng=0), spies[0], nn.ActivationLayer("tanh"),
                               nn.Dense(6, 3, rng=1), spies[1]])
        nn.train(model, X, y, epochs=2, batch_size=4, validation_split=0, progress=False,
                 fast=fast)
        seen = [pair for spy in spies for pair in spy.seen]
        # each spy: forward and backward in each of 6 steps, and the one-row shape probe
        assert len(seen) == 2 * (2 * 6 + 1)
        for i, (array, copy) in enumerate(seen):
            np.testing.assert_array_equal(array, copy, err_msg=f"fast={fast}: array {i}")


def test_train_rejects_mismatched_rows():
    """Do X and y of different lengths raise a ValueError that gives both lengths?"""
    with pytest.raises(ValueError, match="4 rows but y has 3"):
        nn.train(nn.mlp([2, 3, 2]), XOR_X, XOR_Y[:3], epochs=1)


# ------------------------------------------------------------------------------------------
# diagnostics
# ------------------------------------------------------------------------------------------


def _hand_built(activation, biases):
    """Dense(2→3) with identity weights on two units and a given bias per unit, then the
    activation, then Dense(3→2): a network whose unit behaviour we can predict."""
    first = nn.Dense(2, 3, dtype=np.float64, rng=0)
    first.W[...] = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    first.b[...] = biases
    act = nn.PReLU(3, alpha=0.2, dtype=np.float64) if activation == "prelu" \
        else nn.ActivationLayer(activation)
    last = nn.Dense(3, 2, dtype=np.float64, rng=1)
    return nn.Sequential([first, act, last])


def test_relu_unit_with_a_huge_negative_bias_is_counted_dead():
    """With inputs in [0, 1], is the ReLU unit whose bias is −100 dead (1 of 3 units) while a
    unit that is off on only some rows is not, and are sparsity and saturation the shares of
    zero outputs?"""
    X = np.random.default_rng(4).uniform(0, 1, size=(50, 2))
    y = np.random.default_rng(5).integers(0, 2, size=50)
    model = _hand_built("relu", [0.1, -0.5, -100.0])
    rows = nn.layer_diagnostics(model, X, y)
    first = rows[0]
    assert first["activation"] == "relu" and first["layer"] == 0
    assert first["dead_fraction"] == pytest.approx(1 / 3)
    # unit 0 sees z = x₀ + 0.1 > 0; unit 1 is off where x₁ < 0.5; unit 2 is always off
    off_share = (np.sum(X[:, 1] <= 0.5) + 50) / 150
    assert 0 < np.sum(X[:, 1] <= 0.5) < 50
    assert first["sparsity"] == pytest.approx(off_share)
    assert first["saturation_fraction"] == pytest.approx(off_share)
    # the dead unit's incoming weights get exactly zero gradient
    assert np.all(model.layers[0].dW[:, 2] == 0) and np.all(model.layers[0].db[2] == 0)


def test_leaky_relu_and_prelu_units_are_never_dead():
    """With the same −100 bias, do leaky ReLU (slope 0.01) and PReLU (α=0.2) report no dead
    unit, since their negative side still passes gradient?"""
    X = np.random.default_rng(4).uniform(0, 1, size=(50, 2))
    y = np.zeros(50, dtype=int)
    for activation in ("leaky_relu", "prelu"):
        first = nn.layer_diagnostics(_hand_built(activation, [0.1, 0.1, -100.0]), X, y)[0]
        assert first["dead_fraction"] == 0.0 and first["saturation_fraction"] == 0.0
        assert first["sparsity"] == 0.0


def test_sigmoid_unit_driven_far_into_its_tail_is_saturated():
    """Is a sigmoid unit with bias +20 (σ' ≈ 2e-9 < 1e-3) saturated on every row, hence
    counted dead, while units near 0 are not saturated?"""
    X = np.random.default_rng(6).uniform(0, 1, size=(40, 2))
    y = np.zeros(40, dtype=int)
    first = nn.layer_diagnostics(_hand_built("sigmoid", [0.0, -0.5, 20.0]), X, y)[0]
    assert first["saturation_fraction"] == pytest.approx(1 / 3)
    assert first["dead_fraction"] == pytest.approx(1 / 3)
    assert first["sparsity"] == 0.0
    z = X @ np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]) + [0.0, -0.5, 20.0]
    assert first["mean_activation"] == pytest.approx(expit(z).mean(), rel=1e-12)


def test_gradient_norms_are_the_norms_of_the_weight_gradients_of_the_loss():
    """Is each layer's grad_norm the Frobenius norm of ∂loss/∂W computed by hand for the
    output layer (aᵀ·(softmax − onehot)/N), and nan activation statistics for the output?"""
    X = np.random.default_rng(7).uniform(0, 1, size=(12, 2))
    y = np.random.default_rng(8).integers(0, 2, size=12)
    model = _hand_built("tanh", [0.0, 0.0, 0.0])
    rows = nn.layer_diagnostics(model, X, y)
    a = np.tanh(X @ model.layers[0].W + model.layers[0].b)
    logits = a @ model.layers[2].W + model.layers[2].b
    p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    p[np.arange(12), y] -= 1
    expected = np.linalg.norm(a.T @ p / 12)
    assert rows[1]["grad_norm"] == pytest.approx(expected, rel=1e-10)
    assert rows[1]["activation"] is None and math.isnan(rows[1]["dead_fraction"])
    assert rows[0]["grad_norm"] > 0


def test_diagnostics_leave_batchnorm_running_statistics_alone():
    """Does layer_diagnostics run in evaluation mode, leaving BatchNorm's running statistics
    unchanged?"""
    model = nn.mlp([2, 4, 2], batchnorm="before", seed=0)
    bn = model.layers[1]
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    nn.layer_diagnostics(model, XOR_X, XOR_Y)
    assert np.array_equal(bn.running_mean, mean) and np.array_equal(bn.running_var, var)


def test_activation_layer_rejects_a_parameter_its_activation_does_not_take():
    """Does ActivationLayer('relu', alpha=0.1) fail at construction, naming the parameter,
    rather than deep inside the first forward pass?"""
    with pytest.raises(ValueError, match="'relu' has no parameter 'alpha'"):
        nn.ActivationLayer("relu", alpha=0.1)
    assert nn.ActivationLayer("leaky_relu", alpha=0.1).options["alpha"] == 0.1


def test_train_refuses_a_single_output_unit():
    """Is a one-unit output (where softmax is constant) refused with a clear message?"""
    with pytest.raises(ValueError, match="at least 2 output units"):
        nn.train(nn.mlp([2, 3, 1]), XOR_X, np.zeros(4, dtype=int), epochs=1)


def test_relu_mlp_learns_handwritten_digits():
    """On scikit-learn's 8×8 digits (1,797 real images), does a 64-64-32-10 ReLU MLP trained with
    the source documents' recipe (Adam, batch 32, validation split 0.2) pass 90 % validation
    accuracy within 5 epochs, with the training loss falling every epoch?"""
    from actlab.data import load_digits

    digits = load_digits()
    history = nn.train(nn.mlp([64, 64, 32, 10], activation="relu", seed=0), digits.X, digits.y,
                       epochs=5, progress=False)
    assert history.val_accuracy[-1] > 0.9
    assert all(b < a for a, b in zip(history.loss, history.loss[1:]))


def test_gradient_norms_vanish_through_a_deep_sigmoid_network_but_not_with_relu():
    """In an MLP with 8 hidden layers of 32 units (default initialisers), does the first
    layer's weight-gradient norm fall over 1000 times below the last hidden layer's with
    sigmoid (σ' ≤ 1/4 at every layer), while with ReLU (He init) they stay within a factor 10?"""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(256, 20)), rng.integers(0, 4, size=256)
    norms = {}
    for activation in ("sigmoid", "relu"):
        model = nn.mlp([20] + [32] * 8 + [4], activation=activation, seed=0)
        norms[activation] = [row["grad_norm"] for row in nn.layer_diagnostics(model, X, y)]
    sigmoid, relu = norms["sigmoid"], norms["relu"]
    assert sigmoid[0] < sigmoid[-2] / 1000
    assert all(a < b for a, b in zip(sigmoid[:-1], sigmoid[1:]))  # shrinks at every layer
    assert max(relu[:-1]) < 10 * min(relu[:-1])


def test_one_hot_targets_train_exactly_like_integer_labels():
    """Does training on one-hot rows give the same history as training on the labels?"""
    rng = np.random.default_rng(31)
    X, y = rng.normal(size=(24, 3)), rng.integers(0, 3, size=24)
    runs = [nn.train(nn.mlp([3, 4, 3], seed=0), X, targets, epochs=2, batch_size=5,
                     progress=False) for targets in (y, np.eye(3)[y])]
    assert runs[0] == runs[1]


def test_evaluate_in_chunks_equals_evaluate_in_one_pass():
    """Are the loss and accuracy the same whether evaluate() takes 3 rows at a time or all?"""
    rng = np.random.default_rng(32)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    model = nn.mlp([3, 4, 3], seed=0, dtype=np.float64)
    whole, chunked = nn.evaluate(model, X, y), nn.evaluate(model, X, y, batch_size=3)
    assert chunked.loss == pytest.approx(whole.loss, rel=1e-12)
    assert chunked.accuracy == whole.accuracy


def test_batchnorm_trains_through_a_final_batch_of_one_row():
    """When the last mini-batch has a single row (11 rows, batch 5 → 5, 5, 1), does a
    BatchNorm model keep finite parameters and running statistics?"""
    rng = np.random.default_rng(33)
    X, y = rng.normal(size=(11, 3)), rng.integers(0, 2, size=11)
    model = nn.mlp([3, 4, 2], batchnorm="after", seed=0)
    history = nn.train(model, X, y, epochs=3, batch_size=5, validation_split=0, progress=False)
    bn = model.layers[2]
    assert isinstance(bn, nn.BatchNorm)
    assert np.all(np.isfinite(history.loss))
    assert all(np.all(np.isfinite(p)) for p in model.params())
    assert np.all(np.isfinite(bn.running_var)) and np.all(bn.running_var > 0)
