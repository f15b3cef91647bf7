"""Tests of actlab.fastpath: training with every parameter in one flat array gives the same
numbers as training array by array, and leaves the model and the optimiser as it found them."""

from __future__ import annotations

import numpy as np
import pytest

from actlab import nn
from actlab.fastpath import FlatParameters
from helpers import XOR_X, XOR_Y, labelled_rows


def _model():
    """Dense, BatchNorm (γ, β), PReLU (one α per unit) and Dense: four kinds of parameter."""
    return nn.mlp([4, 6, 5, 3], activation=["prelu", "tanh"], batchnorm="before", seed=0)


@pytest.mark.parametrize("make_optimizer", [lambda: nn.Adam(lr=0.01),
                                            lambda: nn.SGD(lr=0.05, momentum=0.9),
                                            lambda: nn.SGD(lr=0.05)],
                         ids=["adam", "sgd-momentum", "sgd"])
def test_fast_training_equals_plain_training_bit_for_bit(make_optimizer):
    """Do train(fast=True) and train(fast=False) give identical histories, weights, BatchNorm
    statistics and optimiser state, also when one optimiser goes on from a fast run to a plain
    one and back?"""
    X, y = labelled_rows(n=40)
    runs = {}
    for schedule in ((True, False, True), (False, False, False)):
        model, optimizer = _model(), make_optimizer()
        histories = [nn.train(model, X, y, epochs=2, batch_size=8, optimizer=optimizer,
                              diagnostics=True, progress=False, fast=fast)
                     for fast in schedule]
        runs[schedule[0]] = (model, optimizer, histories)
    (fast_model, fast_opt, fast_hist), (plain_model, plain_opt, plain_hist) = runs.values()
    assert fast_hist == plain_hist
    for a, b in zip(fast_model.params(), plain_model.params()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast_model.layers[1].running_var,
                                  plain_model.layers[1].running_var)
    assert fast_opt.t == plain_opt.t == 3 * 2 * 4
    for state_a, state_b in zip(fast_opt._state, plain_opt._state):
        for a, b in zip(state_a, state_b):
            np.testing.assert_array_equal(a, b)


def test_fast_training_gives_every_layer_its_own_arrays_back():
    """After train(fast=True), does each layer hold the very array objects it held before
    (not views of a flat buffer), with the trained values, so that a reference taken before
    training sees the result and a later assignment of a new array is trained too?"""
    X, y = labelled_rows(n=40)
    model = _model()
    before = [(layer, name, getattr(layer, name)) for layer in model.layers
              for name in (*layer.param_names, *layer.grad_names)]
    first_weights = before[0][2].copy()
    nn.train(model, X, y, epochs=1, batch_size=8, progress=False)
    for layer, name, array in before:
        assert getattr(layer, name) is array and array.base is None, name
    assert not np.array_equal(model.layers[0].W, first_weights)
    model.layers[0].W = np.ones((4, 6), np.float32)
    nn.train(model, X, y, epochs=1, batch_size=8, progress=False)
    assert not np.allclose(model.layers[0].W, 1.0)


def test_parameters_are_views_of_one_flat_array_inside_the_context():
    """Inside FlatParameters, is every parameter a view of one flat array, so that one
    optimiser step on it moves every layer's weights?"""
    model = _model()
    with FlatParameters(model, nn.SGD(lr=0.1)) as flat:
        assert flat.packed
        bases = {p.base is not None and id(p.base) for p in model.params()}
        assert len(bases) == 1 and False not in bases
        for g in model.grads():
            g[...] = 1.0
        before = [p.copy() for p in model.params()]
        flat.step()
        for p, b in zip(model.params(), before):
            np.testing.assert_allclose(p, b - 0.1, rtol=1e-6)


class _ClippedSGD(nn.SGD):
    """Scales each array's gradient to unit norm: the update of an entry depends on the whole
    array, so this optimiser is not elementwise."""

    elementwise = False

    def __init__(self, lr):
        super().__init__(lr)
        self.shapes_seen = set()

    def _update(self, p, g, state):
        self.shapes_seen.add(p.shape)
        super()._update(p, g / max(np.linalg.norm(g), 1e-12), state)


def test_an_optimiser_that_is_not_elementwise_is_stepped_array_by_array():
    """With fast=True, is an optimiser that does not declare an elementwise update still given
    each parameter array on its own (one flat array would change its numbers)?"""
    X, y = labelled_rows(n=40)
    model = _model()
    optimizer = _ClippedSGD(lr=0.01)
    assert not FlatParameters(model, optimizer).packed
    nn.train(model, X, y, epochs=1, batch_size=8, optimizer=optimizer, progress=False)
    assert optimizer.shapes_seen == {p.shape for p in model.params()}


def test_nested_models_are_trained_array_by_array():
    """When a Sequential holds another Sequential (whose parameters it cannot name), is the
    model left unpacked and are the inner model's weights still trained?"""
    inner = nn.Sequential([nn.Dense(2, 4, rng=0), nn.ActivationLayer("tanh")])
    model = nn.Sequential([inner, nn.Dense(4, 2, rng=1)])
    assert not FlatParameters(model, nn.Adam()).packed
    before = inner.layers[0].W.copy()
    nn.train(model, XOR_X, XOR_Y, epochs=2, batch_size=4, validation_split=0, progress=False)
    assert not np.allclose(inner.layers[0].W, before)


def test_an_error_inside_the_run_still_gives_the_arrays_back():
    """If training stops with an exception, does every layer still get its own arrays back?"""
    model = _model()
    arrays = [id(p) for p in model.params()]
    with pytest.raises(RuntimeError, match="stop"):
        with FlatParameters(model, nn.Adam()):
            assert [id(p) for p in model.params()] != arrays
            raise RuntimeError("stop")
    assert [id(p) for p in model.params()] == arrays
