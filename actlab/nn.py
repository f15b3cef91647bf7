"""A small multilayer perceptron in numpy: layers, losses, optimisers, a trainer, diagnostics.

The book uses this module to reproduce the MNIST experiment of the course's source documents
(an MLP 784-128-64-10 trained with Adam, batch 32, validation split 0.2) without a deep-learning
framework, and to look inside the network while it trains: pre-activations, activations,
gradient norms, dead units.

Conventions
-----------
* Inputs are 2-D batches ``x: (N, D)``; rows are samples.  Every layer has
  ``forward(x, *, training) -> (N, D_out)`` and ``backward(grad_out) -> (N, D_in)``, and
  ``params()`` / ``grads()`` returning lists of arrays that optimisers update **in place**.
* ``training`` has no default: every call says whether it trains (BatchNorm uses and updates
  batch statistics, RReLU draws random slopes) or evaluates (see :class:`Layer`).
* A forward pass returns a new array; no later call writes into it.
* Layers keep ``float32`` unless built with ``dtype=np.float64`` (the gradient checks do that).
* No activation formula is written here: :class:`ActivationLayer`, :class:`PReLU` and the losses
  call :mod:`actlab.activations`, where each formula lives once.

Introduced in the book in ``book/01_nonlinearity.md`` (layers, :func:`mlp`) and used for the
experiments of chapters 2-5.
"""

from __future__ import annotations

import inspect
import math
import time
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from actlab import activations
from actlab.fastpath import FlatParameters
from actlab.util import progress as progress_bar
from actlab.util import unknown_name

__all__ = [
    "glorot",
    "he",
    "lecun",
    "INITIALISERS",
    "DEFAULT_INIT",
    "SATURATION_THRESHOLD",
    "Layer",
    "Dense",
    "ActivationLayer",
    "PReLU",
    "BatchNorm",
    "Sequential",
    "mlp",
    "Loss",
    "SoftmaxCrossEntropy",
    "SigmoidCrossEntropy",
    "MeanSquaredError",
    "LOSSES",
    "SGD",
    "Adam",
    "History",
    "Evaluation",
    "train",
    "evaluate",
    "layer_diagnostics",
]

# |f'(z)| below this counts as saturated: the unit passes back less than 0.1 % of the gradient
# it receives.  A unit saturated on *every* sample of a batch is counted as dead.
SATURATION_THRESHOLD = 1e-3


def _as_rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


# --------------------------------------------------------------------------------------------
# Initialisers
# --------------------------------------------------------------------------------------------


def _check_fans(n_in, n_out):
    for label, n in (("n_in", n_in), ("n_out", n_out)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{label} must be a positive integer, got {n!r}")


def glorot(n_in: int, n_out: int, rng=None, dtype=np.float32, distribution: str = "uniform"):
    """Glorot/Xavier initialisation, variance ``2 / (n_in + n_out)`` (Glorot & Bengio, 2010).

    Keeps the variance of activations and of back-propagated gradients roughly constant for
    activations that are linear around 0 (tanh, sigmoid, softmax outputs).

    Returns a weight matrix of shape ``(n_in, n_out)`` and the given dtype.
    ``distribution='uniform'`` draws from U(-l, l) with ``l = sqrt(6 / (n_in + n_out))``
    (the Keras default); ``'normal'`` draws from N(0, 2 / (n_in + n_out)).
    """
    _check_fans(n_in, n_out)
    return _scaled_init(2.0, n_in + n_out, n_in, n_out, rng, dtype, distribution)


def he(n_in: int, n_out: int, rng=None, dtype=np.float32, distribution: str = "normal"):
    """He/Kaiming initialisation, variance ``2 / n_in`` (He et al., 2015).

    ReLU zeroes half of its inputs on average, halving the signal's second moment; the factor 2
    puts it back, so activations neither vanish nor explode with depth.

    Returns ``(n_in, n_out)`` weights: N(0, 2/n_in) by default, or U(-l, l) with
    ``l = sqrt(6 / n_in)`` for ``distribution='uniform'``.
    """
    return _scaled_init(2.0, n_in, n_in, n_out, rng, dtype, distribution)


def lecun(n_in: int, n_out: int, rng=None, dtype=np.float32, distribution: str = "normal"):
    """LeCun initialisation, variance ``1 / n_in`` (LeCun et al., 1998).

    The initialisation SELU's self-normalising property is derived for.
    Returns ``(n_in, n_out)`` weights: N(0, 1/n_in) or U(-l, l) with ``l = sqrt(3 / n_in)``.
    """
    return _scaled_init(1.0, n_in, n_in, n_out, rng, dtype, distribution)


def _scaled_init(gain: float, fan, n_in: int, n_out: int, rng, dtype,
                 distribution: str) -> np.ndarray:
    """``(n_in, n_out)`` weights of variance ``gain / fan``: N(0, gain/fan) or U(-l, l) with
    ``l = sqrt(3 gain / fan)``. Glorot: gain 2, fan n_in + n_out; He: 2, n_in; LeCun: 1, n_in."""
    _check_fans(n_in, n_out)
    rng = _as_rng(rng)
    if distribution == "normal":
        w = rng.normal(0.0, math.sqrt(gain / fan), size=(n_in, n_out))
    elif distribution == "uniform":
        limit = math.sqrt(3.0 * gain / fan)
        w = rng.uniform(-limit, limit, size=(n_in, n_out))
    else:
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    return w.astype(_check_dtype(dtype))


INITIALISERS: dict[str, Callable] = {"glorot": glorot, "xavier": glorot, "he": he, "lecun": lecun}

# Which initialiser mlp() picks for a hidden activation when init=None.  Activations that are
# zero (or nearly) on half the line get He; SELU gets the LeCun init its analysis assumes;
# everything else (symmetric, saturating, or unknown) gets Glorot, the Keras default.
DEFAULT_INIT: dict[str, str] = {
    **dict.fromkeys(
        ["relu", "leaky_relu", "prelu", "rrelu", "elu", "gelu", "gelu_tanh", "swish", "mish",
         "softplus", "telu", "maxout"],
        "he",
    ),
    "selu": "lecun",
}


def _resolve_init(init) -> Callable:
    if callable(init):
        return init
    try:
        return INITIALISERS[init]
    except (KeyError, TypeError):
        raise unknown_name("initialiser", init, sorted(INITIALISERS)) from None


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


class Layer:
    """Base class: a layer without parameters that passes its input through unchanged.

    A layer with parameters names them in ``param_names`` and their gradients in
    ``grad_names``; ``backward`` writes each gradient into its array in place, so that the
    arrays ``grads()`` returns stay the ones an optimiser was given.

    ``forward(x, *, training)`` and ``layer(x, *, training)`` (the same call) take the mode as
    a keyword without a default.  Training and evaluation compute different things in a
    network with BatchNorm (batch statistics, which the call also folds into the running
    ones, against the running statistics) or RReLU (random slopes against their mean), and
    either default would make the other mode a silent mistake: ``model(x)`` meant as an
    evaluation that moves BatchNorm's statistics, or a hand-written training loop that never
    uses batch statistics.  Without a default, each call says which it is, and a call that
    forgets fails at once with a TypeError naming ``training``.
    """

    #: names of the parameter attributes, and of their gradients, in matching order
    param_names: tuple[str, ...] = ()
    grad_names: tuple[str, ...] = ()

    def forward(self, x, *, training: bool):
        return x

    def backward(self, grad_out, need_input_grad: bool = True):
        return grad_out

    def params(self) -> list[np.ndarray]:
        return [getattr(self, n) for n in self.param_names]

    def grads(self) -> list[np.ndarray]:
        return [getattr(self, n) for n in self.grad_names]

    def n_params(self) -> int:
        return sum(p.size for p in self.params())

    def __call__(self, x, *, training: bool):
        return self.forward(x, training=training)


def _require_forward(owner, cached):
    """Raises if ``owner`` (a layer or a loss) has no ``cached`` forward value to go back from."""
    if cached is None:
        raise RuntimeError(f"{type(owner).__name__}.backward called before forward")


class Dense(Layer):
    """Fully connected layer ``out = x @ W + b``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths; ``W`` has shape ``(n_in, n_out)``, ``b`` shape ``(n_out,)``.
    init : str or callable
        ``'he'`` (default), ``'glorot'``, ``'lecun'`` or a function
        ``f(n_in, n_out, rng, dtype) -> (n_in, n_out)``.
    rng : numpy Generator or int seed
    dtype : float32 (default) or float64
    bias : float
        Initial value of every bias (0 by default; the book sets a large negative bias to show
        how a ReLU unit dies).

    ``forward`` takes ``x: (N, n_in)`` and returns ``(N, n_out)``; ``backward`` fills ``dW`` and
    ``db`` and returns ``dx: (N, n_in)``.
    """

    param_names = ("W", "b")
    grad_names = ("dW", "db")

    def __init__(self, n_in: int, n_out: int, init="he", rng=None, dtype=np.float32,
                 bias: float = 0.0):
        _check_fans(n_in, n_out)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.dtype = _check_dtype(dtype)
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        W = np.asarray(_resolve_init(init)(self.n_in, self.n_out, rng=_as_rng(rng),
                                           dtype=self.dtype))
        if W.shape != (self.n_in, self.n_out):
            raise ValueError(f"initialiser returned shape {W.shape}, expected "
                             f"{(self.n_in, self.n_out)}")
        self.W = W.astype(self.dtype, copy=False)
        self.b = np.full(self.n_out, bias, dtype=self.dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.x = None

    def forward(self, x, *, training: bool):
        if not isinstance(x, np.ndarray) or x.dtype != self.dtype:
            x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"Dense({self.n_in}, {self.n_out}) expects input of shape "
                             f"(N, {self.n_in}), got {x.shape}")
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad_out, need_input_grad: bool = True):
        _require_forward(self, self.x)
        np.matmul(self.x.T, grad_out, out=self.dW)
        np.sum(grad_out, axis=0, out=self.db)
        if not need_input_grad:
            # The first layer's input is the data: nobody needs its gradient, and skipping it
            # saves the largest matrix product of the backward pass.
            return None
        return grad_out @ self.W.T

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, init={self.init_name!r}, dtype={self.dtype})"


def _keyword_names(fn) -> set[str]:
    """Names ``fn`` accepts as keywords besides its first (input) argument."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


class ActivationLayer(Layer):
    """Applies a registry activation: ``a = f(z)``.

    ``name`` is any of ``actlab.activations.names()``; ``params`` are passed to the activation
    (e.g. ``alpha=0.1`` for leaky ReLU, ``k=2`` for maxout, ``beta=1.5`` for swish).

    After ``forward`` the layer keeps ``z`` (its input, the pre-activations, shape ``(N, D)``) and
    ``a`` (its output) for inspection: ``(layer.a == 0).mean()`` is the sparsity of a ReLU layer.

    RReLU draws its random slopes only when ``training=True``.  The draws come from ``self.rng``
    (seeded by ``seed``); the seed of the last draw is kept in ``noise_seed`` so that backward
    reuses the very slopes of the forward pass.
    """

    def __init__(self, name, seed=None, **params):
        self.activation = activations.get(name)
        self.name = self.activation.name
        self.options = {**self.activation.defaults, **params}
        unknown = set(params) - set(self.activation.defaults) - _keyword_names(self.activation.fn)
        if unknown:
            valid = sorted(self.activation.defaults) or ["none"]
            raise ValueError(f"activation {self.name!r} has no parameter "
                             f"{', '.join(map(repr, sorted(unknown)))}; its parameters: "
                             f"{', '.join(valid)}")
        self.rng = np.random.default_rng(seed)
        self.noise_seed = None
        self.z = None
        self.a = None

    def _kwargs(self, training: bool, fresh_noise: bool) -> dict:
        """The activation's keyword arguments for one call; ``fresh_noise`` draws new slopes."""
        kw = dict(self.options)
        if "training" in kw:
            kw["training"] = training
        if "rng" in kw:
            if fresh_noise:
                self.noise_seed = int(self.rng.integers(2**63 - 1))
            kw["rng"] = self.noise_seed
        return kw

    def forward(self, z, *, training: bool):
        z = np.asarray(z)
        self.z = z
        a = self.activation.forward(z, **self._kwargs(training, fresh_noise=training))
        self.a = a if a.dtype == z.dtype else a.astype(z.dtype)
        self._training = training
        return self.a

    def backward(self, grad_out, need_input_grad: bool = True):
        _require_forward(self, self.z)
        g = self.activation.backward(self.z, grad_out,
                                     **self._kwargs(self._training, fresh_noise=False))
        return g if g.dtype == self.z.dtype else g.astype(self.z.dtype)

    def local_derivative(self, z=None):
        """Elementwise |f'(z)| at the cached (or given) pre-activations, evaluation mode.

        Returns an array of ``z``'s shape, or ``None`` for activations that are not elementwise
        (softmax, log_softmax, maxout), where a per-unit derivative is not defined.
        """
        z = self.z if z is None else np.asarray(z)
        _require_forward(self, z)
        if not self.activation.elementwise:
            return None
        kw = self._kwargs(False, fresh_noise=False)
        return np.abs(self.activation.backward(z, np.ones_like(z), **kw))

    def __repr__(self):
        extra = {k: v for k, v in self.options.items()
                 if k not in ("training", "rng") and self.activation.defaults.get(k, None) != v}
        args = "".join(f", {k}={v!r}" for k, v in extra.items())
        return f"ActivationLayer({self.name!r}{args})"


class PReLU(Layer):
    """Parametric ReLU with a learnable negative slope (He et al., 2015).

    ``n_units`` gives one α per unit (shape ``(n_units,)``); ``n_units=None`` shares a single α
    (a 0-d array) across the layer.  ``alpha`` is the initial slope (0.25 as in the paper).
    Keeps ``z`` and ``a`` like :class:`ActivationLayer`; ``dalpha`` holds α's gradient.
    """

    name = "prelu"
    param_names = ("alpha",)
    grad_names = ("dalpha",)

    def __init__(self, n_units: int | None = None, alpha: float = 0.25, dtype=np.float32):
        if n_units is not None and (not isinstance(n_units, (int, np.integer)) or n_units < 1):
            raise ValueError(f"n_units must be a positive integer or None, got {n_units!r}")
        self.n_units = n_units
        self.dtype = _check_dtype(dtype)
        shape = () if n_units is None else (int(n_units),)
        self.alpha = np.full(shape, alpha, dtype=self.dtype)
        self.dalpha = np.zeros_like(self.alpha)
        self.z = None
        self.a = None

    def _alpha_arg(self):
        return self.alpha[()] if self.alpha.ndim == 0 else self.alpha

    def forward(self, z, *, training: bool):
        z = np.asarray(z)
        if self.n_units is not None and (z.ndim != 2 or z.shape[1] != self.n_units):
            raise ValueError(f"PReLU({self.n_units}) expects input of shape (N, {self.n_units}),"
                             f" got {z.shape}")
        self.z = z
        a = activations.prelu(z, self._alpha_arg())
        self.a = a if a.dtype == z.dtype else a.astype(z.dtype)
        return self.a

    def backward(self, grad_out, need_input_grad: bool = True):
        _require_forward(self, self.z)
        dx, dalpha = activations.prelu_backward(self.z, self._alpha_arg(), grad_out)
        self.dalpha[...] = dalpha
        return dx if dx.dtype == self.z.dtype else dx.astype(self.z.dtype)

    def local_derivative(self, z=None):
        """Elementwise |f'(z)|: 1 for z > 0 and |α| otherwise; shape of ``z``."""
        z = self.z if z is None else np.asarray(z)
        _require_forward(self, z)
        return np.abs(activations.prelu_backward(z, self._alpha_arg(), np.ones_like(z))[0])

    def __repr__(self):
        return f"PReLU({self.n_units})"


class BatchNorm(Layer):
    """Batch normalisation over the batch axis (Ioffe & Szegedy, 2015).

    Training: ``y = γ · (x − μ_B) / sqrt(σ²_B + eps) + β`` with the batch mean and (biased)
    variance; the running statistics move by ``running = (1 − momentum)·running +
    momentum·batch`` (PyTorch's convention; the running variance uses the unbiased estimate).
    Evaluation (``training=False``) uses the running statistics.

    ``x: (N, n_units)`` -> ``(N, n_units)``; parameters ``gamma``, ``beta`` of shape
    ``(n_units,)``.  A training batch of one row normalises to β and leaves the running variance
    unchanged in expectation (its variance estimate is 0 with weight ``momentum``).
    """

    param_names = ("gamma", "beta")
    grad_names = ("dgamma", "dbeta")

    def __init__(self, n_units: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype=np.float32):
        if not isinstance(n_units, (int, np.integer)) or n_units < 1:
            raise ValueError(f"n_units must be a positive integer, got {n_units!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.n_units, self.momentum, self.eps = int(n_units), float(momentum), float(eps)
        self.dtype = _check_dtype(dtype)
        self.gamma = np.ones(self.n_units, self.dtype)
        self.beta = np.zeros(self.n_units, self.dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self.running_mean = np.zeros(self.n_units, self.dtype)
        self.running_var = np.ones(self.n_units, self.dtype)
        self.xhat = None

    def forward(self, x, *, training: bool):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_units:
            raise ValueError(f"BatchNorm({self.n_units}) expects input of shape "
                             f"(N, {self.n_units}), got {x.shape}")
        if training:
            n = x.shape[0]
            mean = x.mean(axis=0)
            xc = x - mean
            var = np.einsum("ij,ij->j", xc, xc) / n
            self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype, copy=False)
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += m * var * (n / max(n - 1, 1))
        else:
            xc = x - self.running_mean
            self.inv_std = (1.0 / np.sqrt(self.running_var + self.eps)).astype(x.dtype,
                                                                              copy=False)
        self._training = training
        xhat = xc
        xhat *= self.inv_std
        self.xhat = xhat
        return xhat * self.gamma + self.beta

    def backward(self, grad_out, need_input_grad: bool = True):
        _require_forward(self, self.xhat)
        xhat = self.xhat
        np.einsum("ij,ij->j", grad_out, xhat, out=self.dgamma)
        np.add.reduce(grad_out, axis=0, out=self.dbeta)
        scale = self.gamma * self.inv_std
        if not self._training:
            return grad_out * scale
        # The batch statistics depend on every row, hence the two correction terms: the
        # gradient is projected off the mean and off the normalised input.
        n = grad_out.shape[0]
        dx = grad_out - self.dbeta / n
        dx -= xhat * (self.dgamma / n)
        dx *= scale
        return dx

    def __repr__(self):
        return f"BatchNorm({self.n_units})"


class Sequential(Layer):
    """A stack of layers applied in order.

    ``layers`` is a plain list (``model.layers[0].W`` is the first weight matrix);
    ``params()`` and ``grads()`` list every layer's arrays in order.
    """

    def __init__(self, layers: Iterable[Layer]):
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise TypeError(f"layer {i} ({layer!r}) has no forward/backward")

    @property
    def dtype(self):
        for p in self.params():
            return p.dtype
        return np.dtype(np.float32)

    def forward(self, x, *, training: bool):
        """``x: (N, D_in)`` -> output of the last layer, ``(N, D_out)``."""
        return _forward(self.layers, x, training)

    def backward(self, grad_out, need_input_grad: bool = True):
        """Back-propagates ``grad_out`` (∂loss/∂output), filling every layer's gradients.

        Returns ∂loss/∂input ``(N, D_in)``, or ``None`` when ``need_input_grad=False``.
        """
        return _backward(self.layers, grad_out, need_input_grad)

    def params(self):
        return [p for layer in self.layers for p in layer.params()]

    def grads(self):
        return [g for layer in self.layers for g in layer.grads()]

    def predict(self, x):
        """Class labels ``(N,)`` int64: the arg-max of the output, or ``output > 0.5`` for a
        single sigmoid unit and ``> 0`` for a single logit."""
        out = self.forward(x, training=False)
        return _labels_from_output(out, self.layers[-1] if self.layers else None)

    def summary(self) -> str:
        """A table of layers, output widths and parameter counts."""
        rows = [("#", "layer", "parameters")]
        for i, layer in enumerate(self.layers):
            rows.append((str(i), repr(layer), str(layer.n_params())))
        rows.append(("", "total", str(self.n_params())))
        w = [max(len(r[c]) for r in rows) for c in range(3)]
        return "\n".join(f"{a:>{w[0]}}  {b:<{w[1]}}  {c:>{w[2]}}" for a, b, c in rows)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


def _labels_from_output(out, last_layer):
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    out = out.reshape(len(out))
    threshold = 0.5 if getattr(last_layer, "name", None) == "sigmoid" else 0.0
    return (out > threshold).astype(np.int64)


def _parse_activation(spec):
    """``'relu'`` | ``('leaky_relu', {'alpha': 0.1})`` | Activation -> (spec, params dict)."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], dict):
        return spec[0], dict(spec[1])
    if isinstance(getattr(spec, "name", None), str) and hasattr(spec, "backward"):
        return spec, {}  # an Activation object, e.g. a learner's own
    raise TypeError(f"an activation is a registry name, an Activation or (name, params); "
                    f"got {spec!r}")


def mlp(widths: Sequence[int], activation="relu", output: str | None = None, init=None,
        seed=0, batchnorm: str | None = None, dtype=np.float32) -> Sequential:
    """Builds a multilayer perceptron.

    Parameters
    ----------
    widths : sequence of int
        ``[n_inputs, hidden_1, ..., hidden_k, n_outputs]``, e.g. ``[784, 128, 64, 10]``.
    activation : str, (name, params) or a list of them
        Activation of the hidden layers: one spec for all, or one per hidden layer (the book's
        "mixed activations" exercise).  ``'prelu'`` builds a :class:`PReLU` layer with one
        learnable α per unit; ``'maxout'`` (``k=2`` unless given) makes the preceding Dense
        layer ``k`` times wider, so the layer still outputs ``widths[i]`` units.
    output : str or None
        Activation after the last Dense layer; ``None`` leaves logits (what
        :class:`SoftmaxCrossEntropy` expects).  ``'softmax'`` is accepted: the trainer then
        feeds the logits before it to the loss.
    init : str, callable or None
        Initialiser for every Dense layer; ``None`` picks per hidden layer from
        :data:`DEFAULT_INIT` (He for the ReLU family, LeCun for SELU, Glorot otherwise) and
        Glorot for the output layer.
    seed : int
        Seeds all initial weights: the same seed builds the same network.
    batchnorm : None, 'before' or 'after'
        Insert :class:`BatchNorm` in every hidden layer before or after its activation.
    dtype : float32 (default) or float64
    """
    widths = list(widths)
    if len(widths) < 2 or not all(isinstance(w, (int, np.integer)) and w >= 1 for w in widths):
        raise ValueError(f"widths must be at least two positive integers, got {widths!r}")
    if batchnorm not in (None, "before", "after"):
        raise ValueError(f"batchnorm must be None, 'before' or 'after', got {batchnorm!r}")
    n_hidden = len(widths) - 2
    if isinstance(activation, list):
        if len(activation) != n_hidden:
            raise ValueError(f"got {len(activation)} activations for {n_hidden} hidden layers")
        specs = [_parse_activation(a) for a in activation]
    else:
        specs = [_parse_activation(activation)] * n_hidden
    # get() raises a ValueError that lists the valid names; Activation objects pass through.
    specs = [(activations.get(spec), params) for spec, params in specs]
    if output is not None:
        activations.get(output)
    rng = np.random.default_rng(seed)
    dtype = _check_dtype(dtype)
    layers: list[Layer] = []
    for i, (act_obj, params) in enumerate(specs):
        name = act_obj.name
        n_in, n_out = widths[i], widths[i + 1]
        width = n_out
        if name == "maxout":
            params = {"k": 2, **params}
            width = n_out * int(params["k"])
        layer_init = init if init is not None else DEFAULT_INIT.get(name, "glorot")
        layers.append(Dense(n_in, width, init=layer_init, rng=rng, dtype=dtype))
        if name == "prelu":
            act: Layer = PReLU(n_out, dtype=dtype, **params)
        else:
            act = ActivationLayer(act_obj, seed=int(rng.integers(2**31)), **params)
        if batchnorm == "before":
            layers += [BatchNorm(width, dtype=dtype), act]
        elif batchnorm == "after":
            layers += [act, BatchNorm(n_out, dtype=dtype)]
        else:
            layers.append(act)
    layers.append(Dense(widths[-2], widths[-1], init=init if init is not None else "glorot",
                        rng=rng, dtype=dtype))
    if output is not None:
        layers.append(ActivationLayer(output))
    return Sequential(layers)


# --------------------------------------------------------------------------------------------
# Loss
# --------------------------------------------------------------------------------------------


class Loss:
    """Base class of the losses: ``forward(output, y) -> float`` (mean over rows) and
    ``backward() -> ∂loss/∂output``.

    ``folds`` names the output activations the loss applies itself, for numerical stability:
    a model ending in one of them is trained on the values before it.  ``targets(y, output_shape)``
    validates and converts targets once; ``n_correct(output, y)`` counts correct predictions
    (``None`` where accuracy means nothing, as in regression).
    """

    folds: tuple[str, ...] = ()

    def targets(self, y, output_shape):
        raise NotImplementedError

    def forward(self, output, y) -> float:
        output = np.asarray(output)
        if output.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects outputs of shape (N, D), "
                             f"got {output.shape}")
        return self._forward(output, self.targets(y, output.shape))

    def __call__(self, output, y) -> float:
        return self.forward(output, y)

    def _forward(self, output, y) -> float:
        # The trainer validates the targets once, then calls this for every batch.
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    def n_correct(self, output, y):
        return None


def _check_labels(y, n_rows: int, n_classes: int):
    y = np.asarray(y)
    if y.ndim == 2:  # one-hot rows
        if y.shape != (n_rows, n_classes):
            raise ValueError(f"one-hot targets must have shape ({n_rows}, {n_classes}), "
                             f"got {y.shape}")
        return y.argmax(axis=1)
    if y.ndim != 1 or len(y) != n_rows:
        raise ValueError(f"targets must be labels of shape ({n_rows},) or one-hot rows; "
                         f"got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if y.dtype.kind not in "bf" or not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("class labels must be integers")
        y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"class labels must lie in [0, {n_classes - 1}], "
                         f"got range [{y.min()}, {y.max()}]")
    return y


class SoftmaxCrossEntropy(Loss):
    """Mean cross-entropy of softmax(logits) against class labels, fused for stability.

    ``forward(logits: (N, C), y)`` returns the mean loss (a float); ``y`` is ``(N,)`` integer
    labels or ``(N, C)`` one-hot rows.  ``backward()`` returns ∂loss/∂logits
    ``= (softmax(logits) − onehot(y)) / N``, of the logits' dtype.  The log-probabilities come
    from ``actlab.activations.log_softmax``, which never overflows.  The loss for a multiclass
    output (the MNIST model of chapter 5).
    """

    folds = ("softmax", "log_softmax")

    def __init__(self):
        self._probs = None

    def targets(self, y, output_shape):
        if output_shape[1] < 2:
            raise ValueError(f"softmax cross-entropy needs at least 2 output units, got "
                             f"{output_shape[1]}; use SigmoidCrossEntropy for one unit")
        return _check_labels(y, output_shape[0], output_shape[1])

    def _forward(self, logits, y) -> float:
        rows = np.arange(logits.shape[0])
        logp = activations.log_softmax(logits, axis=-1)
        loss = -float(logp[rows, y].mean(dtype=np.float64))
        np.exp(logp, out=logp)
        self._probs, self._y, self._rows = logp, y, rows
        return loss

    def backward(self):
        _require_forward(self, self._probs)
        grad = self._probs
        grad[self._rows, self._y] -= 1.0
        grad *= 1.0 / grad.shape[0]
        self._probs = None  # the buffer now holds the gradient, not probabilities
        return grad

    def n_correct(self, logits, y):
        return int(np.count_nonzero(logits.argmax(axis=1) == y))


class SigmoidCrossEntropy(Loss):
    """Binary cross-entropy of σ(z) against 0/1 labels, computed from the logit z.

    ``forward(z: (N, 1), y)`` with ``y`` of shape ``(N,)`` or ``(N, 1)`` in {0, 1} returns the
    mean of ``softplus(z) − y·z`` (= −y·log σ(z) − (1−y)·log(1−σ(z)), without ever taking the
    log of a rounded 0); ``backward()`` returns ``(σ(z) − y) / N``.  The loss for a binary
    output: build the model with ``output='sigmoid'`` or leave the logit.
    """

    folds = ("sigmoid",)

    def __init__(self):
        self._cache = None

    def targets(self, y, output_shape):
        if output_shape[1] != 1:
            raise ValueError(f"SigmoidCrossEntropy needs one output unit, got {output_shape[1]}")
        labels = _check_labels(np.asarray(y).reshape(-1), output_shape[0], 2)
        return labels.reshape(-1, 1)

    def _forward(self, z, y) -> float:
        yz = y * z
        loss = float(np.mean(activations.softplus(z) - yz, dtype=np.float64))
        self._cache = (z, y)
        return loss

    def backward(self):
        _require_forward(self, self._cache)
        z, y = self._cache
        grad = activations.sigmoid(z)
        grad -= y
        grad *= 1.0 / len(z)
        return grad

    def n_correct(self, z, y):
        return int(np.count_nonzero((z > 0) == (y == 1)))


class MeanSquaredError(Loss):
    """Mean squared error over all entries, for regression with an identity output.

    ``forward(pred: (N, D), target)`` with ``target`` of shape ``(N, D)`` (or ``(N,)`` when
    D = 1) returns ``mean((pred − target)²)``; ``backward()`` returns
    ``2·(pred − target) / (N·D)``.  It has no accuracy: the history records ``nan``.
    """

    def __init__(self):
        self._diff = None

    def targets(self, y, output_shape):
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"regression targets must be numeric, got dtype {y.dtype}")
        if y.ndim == 1 and output_shape[1] == 1:
            y = y.reshape(-1, 1)
        if y.shape != tuple(output_shape):
            raise ValueError(f"targets have shape {y.shape}, the model's output {output_shape}")
        return y

    def _forward(self, pred, target) -> float:
        diff = pred - target.astype(pred.dtype, copy=False)
        self._diff = diff
        return float(np.mean(np.square(diff, dtype=np.float64)))

    def backward(self):
        _require_forward(self, self._diff)
        grad, self._diff = self._diff, None
        grad *= 2.0 / grad.size
        return grad


LOSSES: dict[str, type[Loss]] = {"softmax_cross_entropy": SoftmaxCrossEntropy,
                                 "sigmoid_cross_entropy": SigmoidCrossEntropy,
                                 "mse": MeanSquaredError}


def _resolve_loss(loss, model) -> Loss:
    """``None`` picks by the model's last layer: sigmoid -> SigmoidCrossEntropy, else softmax."""
    if loss is None:
        last = getattr(model.layers[-1], "name", None) if model.layers else None
        return SigmoidCrossEntropy() if last == "sigmoid" else SoftmaxCrossEntropy()
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise unknown_name("loss", loss, LOSSES)
        return LOSSES[loss]()
    if isinstance(loss, type):
        loss = loss()
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"a loss needs forward and backward, got {loss!r}")
    return loss


# --------------------------------------------------------------------------------------------
# Optimisers
# --------------------------------------------------------------------------------------------


class Optimizer:
    """Base class.  ``step(params, grads)`` updates each array of ``params`` in place.

    ``step(model)`` does the same for ``model.params()`` and ``model.grads()``.  The state
    (velocities, moments) belongs to one set of parameters: use one optimiser per model.

    ``elementwise`` says that the update of every entry depends only on that entry's
    parameter, gradient and state, so that stepping the concatenation of several arrays gives
    the same numbers as stepping them one by one; ``train(fast=True)`` relies on it
    (:mod:`actlab.fastpath`).  A subclass whose update looks at a whole array (a norm, say)
    leaves it False.
    """

    elementwise = False

    def __init__(self):
        self.t = 0
        self._state: list[tuple[np.ndarray, ...]] | None = None
        self._shapes = None

    def step(self, params, grads=None):
        if grads is None:
            params, grads = params.params(), params.grads()
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
        shapes = [(p.shape, p.dtype) for p in params]
        if self._state is None:
            self._shapes = shapes
            self._state = [self._init_state(p) for p in params]
        elif shapes != self._shapes:
            raise ValueError("these parameters do not match the optimiser's state; "
                             "create one optimiser per model")
        self.t += 1
        for p, g, s in zip(params, grads, self._state):
            self._update(p, g, s)

    def _init_state(self, p):
        return ()

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v ← μ·v + g``,  ``p ← p − lr·v`` (PyTorch's form; μ = 0 gives plain SGD ``p ← p − lr·g``).
    """

    elementwise = True

    def __init__(self, lr: float = 0.01, momentum: float = 0.0):
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)

    def _init_state(self, p):
        return (np.zeros_like(p),) if self.momentum else ()

    def _update(self, p, g, state):
        if self.momentum:
            (v,) = state
            v *= self.momentum
            v += g
            g = v
        p -= self.lr * g

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum})"


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as in PyTorch and the paper.

    ``m ← β₁m + (1−β₁)g``,  ``v ← β₂v + (1−β₂)g²``,
    ``p ← p − lr · m̂ / (sqrt(v̂) + eps)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``.

    The update is computed in place in one scratch buffer per parameter array, with the bias
    corrections folded into two scalars, so a step allocates nothing.
    """

    elementwise = True

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        for label, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {b}")
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), eps

    def _init_state(self, p):
        return np.zeros_like(p), np.zeros_like(p), np.empty_like(p)

    def step(self, params, grads=None):
        # The scalars depend only on t, so compute them once per step, not per array.
        t = self.t + 1
        bc1 = 1.0 - self.beta1**t
        root_bc2 = math.sqrt(1.0 - self.beta2**t)
        # lr·m̂/(sqrt(v̂)+eps) = lr_t·m/(sqrt(v)+eps_t)
        self._lr_t = self.lr * root_bc2 / bc1
        self._eps_t = self.eps * root_bc2
        super().step(params, grads)

    def _update(self, p, g, state):
        m, v, tmp = state
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self._eps_t
        np.divide(m, tmp, out=tmp)
        tmp *= self._lr_t
        p -= tmp

    def __repr__(self):
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class History:
    """Per-epoch record of a training run.

    ``loss`` and ``accuracy`` are averaged over the epoch's training batches (weighted by batch
    size, as Keras reports them); ``val_loss`` and ``val_accuracy`` are measured on the
    validation rows after the epoch, in evaluation mode (empty lists without validation).
    ``diagnostics[e]`` is :func:`layer_diagnostics` after epoch ``e`` when asked for.
    ``seconds`` (wall time per epoch) is not part of equality, so two runs with the same seed
    compare equal.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    diagnostics: list[list[dict]] = field(default_factory=list)
    n_train: int = 0
    n_val: int = 0
    seconds: list[float] = field(default_factory=list, compare=False, repr=False)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict[str, list]:
        return {"loss": self.loss, "accuracy": self.accuracy, "val_loss": self.val_loss,
                "val_accuracy": self.val_accuracy}


Evaluation = namedtuple("Evaluation", ["loss", "accuracy"])
Evaluation.__doc__ = "Mean loss and accuracy of a model on a data set (unpacks as a pair)."


def _loss_head(model, loss: Loss):
    """The layers whose output the loss reads: a trailing activation the loss applies itself
    (softmax for softmax cross-entropy, sigmoid for the binary one) is left out."""
    layers = model.layers
    if layers and getattr(layers[-1], "name", None) in getattr(loss, "folds", ()):
        return layers[:-1]
    return layers


def _forward(layers, x, training):
    for layer in layers:
        x = layer.forward(x, training=training)
    return x


def _backward(layers, grad, need_input_grad=True):
    """Back-propagates ``grad`` through ``layers``; the first layer's input gradient is only
    computed when needed (the trainer never needs it)."""
    for layer in layers[:0:-1]:
        grad = layer.backward(grad)
    if layers:
        grad = layers[0].backward(grad, need_input_grad)
    return grad


def _prepare(model, X, y, loss):
    """Validates ``X`` (cast once to the model's dtype) and converts ``y`` for ``loss``."""
    if not hasattr(model, "layers"):
        raise TypeError(f"expected a Sequential model (with .layers), got {model!r}")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_samples, n_features), got {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    X = X.astype(model.dtype, copy=False)
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y) if y.ndim else 'none'}")
    if len(X) == 0:
        raise ValueError("the data set is empty")
    layers = _loss_head(model, loss)
    out_shape = _forward(layers, X[:1], False).shape
    return X, loss.targets(y, (len(X), out_shape[1])), layers


def _run_batches(layers, loss, X, y, batch_size, training=False, update=None) -> Evaluation:
    """One pass over ``(X, y)`` in consecutive batches: the forward pass and the loss of each,
    then ``update()`` (the trainer's backward pass and optimiser step) when given.  Returns the
    mean loss and accuracy of those forward passes (accuracy ``nan`` for regression)."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        out = _forward(layers, xb, training)
        total_loss += loss._forward(out, yb) * len(xb)
        n = loss.n_correct(out, yb)
        correct = None if n is None else correct + n
        if update is not None:
            update()
    return Evaluation(total_loss / len(X), math.nan if correct is None else correct / len(X))


def evaluate(model: Sequential, X, y, batch_size: int = 4096, loss=None) -> Evaluation:
    """Mean loss and accuracy of ``model`` on ``(X, y)``, in evaluation mode.

    ``X: (N, D)``; ``y``: ``(N,)`` integer labels or one-hot rows (or regression targets for
    ``loss='mse'``).  ``loss`` is chosen as in :func:`train`.  Rows are processed in chunks of
    ``batch_size`` to bound memory.  Returns ``Evaluation(loss, accuracy)`` (accuracy ``nan``
    for regression).
    """
    loss = _resolve_loss(loss, model)
    X, y, layers = _prepare(model, X, y, loss)
    return _run_batches(layers, loss, X, y, batch_size)


def _split_sizes(n: int, validation_split: float) -> int:
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    n_val = int(math.floor(n * validation_split))
    if validation_split > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise ValueError(f"validation_split={validation_split} leaves no training rows "
                         f"out of {n}")
    return n_val


def train(model: Sequential, X, y, epochs: int, batch_size: int = 32, optimizer=None,
          validation_split: float = 0.2, seed=0, progress: bool | None = None,
          diagnostics: bool = False, validation_data=None, shuffle: bool = True,
          loss=None, fast: bool = True) -> History:
    """Trains ``model`` with mini-batch gradient descent and returns a :class:`History`.

    Parameters
    ----------
    model : Sequential
    X : (N, D) array, cast once to the model's dtype
    y : (N,) integer labels or (N, C) one-hot rows (regression targets for ``loss='mse'``)
    epochs, batch_size : int
    optimizer : SGD, Adam, ... (``Adam()`` by default)
    validation_split : float in [0, 1)
        ``floor(N · validation_split)`` rows (at least one if the split is positive), chosen by
        a seeded permutation, are held out and evaluated after each epoch.
    seed : int
        Seeds the validation split and the shuffling: the same model seed, data and ``seed``
        give an identical history.
    progress : bool or None
        Show a tqdm bar over epochs; ``None`` shows it only on an interactive terminal (so not
        in a notebook or the book's build; pass ``True`` there to see it).
    diagnostics : bool
        Record :func:`layer_diagnostics` on (up to) 512 training rows after every epoch.
    validation_data : (X_val, y_val), optional
        Use this validation set instead of splitting ``X``.
    loss : None, a :class:`Loss`, or ``'softmax_cross_entropy'``, ``'sigmoid_cross_entropy'``,
        ``'mse'``
        ``None`` picks softmax cross-entropy, or the binary one when the model ends in a
        sigmoid.  A trailing softmax (sigmoid) layer is folded into its cross-entropy.
    fast : bool
        Keep every parameter in one flat array during the run, so that the optimiser updates
        them all in one pass (:class:`actlab.fastpath.FlatParameters`, about 10 % faster at
        batch 32).  The history, the trained weights and the optimiser's state are the same
        bit for bit as with ``fast=False``, which steps the layers' arrays one by one.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    loss_fn = _resolve_loss(loss, model)
    X, y, layers = _prepare(model, X, y, loss_fn)
    rng = np.random.default_rng(seed)
    if validation_data is not None:
        X_val, y_val, _ = _prepare(model, *validation_data, loss_fn)
        X_tr, y_tr = X, y
    else:
        n_val = _split_sizes(len(X), validation_split)
        if n_val:
            order = rng.permutation(len(X))
            X_val, y_val = X[order[len(X) - n_val:]], y[order[len(X) - n_val:]]
            X_tr, y_tr = X[order[:len(X) - n_val]], y[order[:len(X) - n_val]]
        else:  # no copy of the data when nothing is held out
            X_val, y_val = X[:0], y[:0]
            X_tr, y_tr = X, y
    optimizer = Adam() if optimizer is None else optimizer
    n_train = len(X_tr)
    history = History(n_train=n_train, n_val=len(X_val))
    diag_rows = slice(0, min(512, n_train))

    bar = progress_bar(range(epochs), enabled=progress, desc="epochs", unit="epoch")
    with bar, FlatParameters(model, optimizer, enabled=fast) as parameters:

        def backward_and_step():
            _backward(layers, loss_fn.backward(), need_input_grad=False)
            parameters.step()

        for _ in bar:
            start_time = time.perf_counter()
            if shuffle:
                # One gather per epoch; the batches are then contiguous slices (no copies).
                perm = rng.permutation(n_train)
                Xe, ye = X_tr[perm], y_tr[perm]
            else:
                Xe, ye = X_tr, y_tr
            epoch = _run_batches(layers, loss_fn, Xe, ye, batch_size, training=True,
                                 update=backward_and_step)
            history.loss.append(epoch.loss)
            history.accuracy.append(epoch.accuracy)
            if len(X_val):
                val = _run_batches(layers, loss_fn, X_val, y_val, 4096)
                history.val_loss.append(val.loss)
                history.val_accuracy.append(val.accuracy)
            if diagnostics:
                history.diagnostics.append(
                    _diagnostics(model, layers, loss_fn, X_tr[diag_rows], y_tr[diag_rows]))
            history.seconds.append(time.perf_counter() - start_time)
            postfix = {"loss": f"{history.loss[-1]:.4f}", "acc": f"{history.accuracy[-1]:.3f}"}
            if history.val_accuracy:
                postfix["val_acc"] = f"{history.val_accuracy[-1]:.3f}"
            bar.set_postfix(postfix)
    return history


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def layer_diagnostics(model: Sequential, X, y, loss=None) -> list[dict]:
    """What each Dense layer and the activation after it are doing on the batch ``(X, y)``.

    Runs one forward and backward pass in evaluation mode (BatchNorm uses its running
    statistics; nothing in the model changes except the stored gradients); ``loss`` is chosen
    as in :func:`train`.  Returns one dict per Dense layer, in order:

    ``layer``
        index of the Dense layer in ``model.layers``.
    ``activation``
        name of the activation that follows it (skipping a BatchNorm), or ``None`` (output).
    ``grad_norm``
        Frobenius norm of ∂loss/∂W for this layer's weights (vanishing gradients show up as
        norms that shrink towards the input).
    ``sparsity``
        fraction of the activation's outputs (samples × units) that are exactly 0.
    ``saturation_fraction``
        fraction of (sample, unit) pairs with |f'(z)| < ``SATURATION_THRESHOLD`` (1e-3): where
        the unit passes (almost) no gradient back.  ReLU's negative side counts as saturated.
    ``dead_fraction``
        fraction of units saturated on *every* sample: no gradient reaches their incoming
        weights, so training cannot revive them.  For ReLU: units with z <= 0 on all rows.
    ``mean_activation``
        mean output of the activation (the book's zero-centred discussion).

    The activation statistics are ``nan`` for the output layer and for activations that are
    not elementwise (softmax, maxout), where a per-unit derivative is not defined.
    """
    loss = _resolve_loss(loss, model)
    X, y, head = _prepare(model, X, y, loss)
    return _diagnostics(model, head, loss, X, y)


def _diagnostics(model, head, loss, X, y) -> list[dict]:
    loss._forward(_forward(head, X, False), y)
    _backward(head, loss.backward(), need_input_grad=False)
    layers = model.layers
    result = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            continue
        act = None
        for nxt in layers[i + 1:]:
            if isinstance(nxt, Dense):
                break
            if isinstance(nxt, (ActivationLayer, PReLU)):
                act = nxt
                break
        row = {"layer": i, "activation": None if act is None else act.name,
               "grad_norm": float(np.linalg.norm(layer.dW)), "sparsity": math.nan,
               "saturation_fraction": math.nan, "dead_fraction": math.nan,
               "mean_activation": math.nan}
        if act is not None and act is not layers[-1]:
            row["sparsity"] = float(np.mean(act.a == 0))
            row["mean_activation"] = float(np.mean(act.a, dtype=np.float64))
            deriv = act.local_derivative()
            if deriv is not None:
                saturated = deriv < SATURATION_THRESHOLD
                row["saturation_fraction"] = float(saturated.mean())
                row["dead_fraction"] = float(saturated.all(axis=0).mean())
        result.append(row)
    return result
