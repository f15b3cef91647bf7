"""A zoo of realistic learner answers for the problem sets, wrong ones and right ones.

Each entry replaces one solution cell (named by its ``grade_id``) of an instructor notebook in
``solutions/``. A :class:`Bug` must lose the points of the test cell ``fails`` (and may drag down
the cells listed in ``may_also_fail``, which call the same function); every other test cell must
still pass. A bug that breaks a rule the notebook states names it (``rule``); Validate must catch
it as well. An :class:`Alternative` is a different correct answer and must pass every test cell.
``tests/test_assignments.py`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent


@dataclass(frozen=True)
class Bug:
    assignment: str
    cell: str  # grade_id of the solution cell that is replaced
    fails: str  # grade_id of the test cell that must lose its points
    why: str
    source: str
    may_also_fail: tuple[str, ...] = field(default=())
    #: the rule the notebook states and this answer breaks, if any: then a visible test must
    #: catch it too, and ``tests/stated_rules.py`` counts it among its rule breaks.
    rule: str = ""

    @property
    def id(self) -> str:
        return f"{self.assignment}:{self.cell}:{self.why}"


@dataclass(frozen=True)
class Alternative:
    assignment: str
    cell: str
    why: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.assignment}:{self.cell}:{self.why}"


def _s(text: str) -> str:
    return dedent(text).strip("\n")


PS1, PS2, PS3, PS4, PS5 = ("ps1_nonlinearity", "ps2_saturation", "ps3_relu", "ps4_variants",
                           "ps5_custom")

BUGS: list[Bug] = [
    # ---------------------------------------------------------------- ps1
    Bug(PS1, "affine_stack", "test_affine_stack", "relu between layers", _s('''
        def affine_stack(x, weights, biases):
            h = np.asarray(x)
            if len(weights) != len(biases):
                raise ValueError("lengths differ")
            for w, b in zip(weights, biases):
                h = np.maximum(h @ w + b, 0)
            return h
    ''')),
    Bug(PS1, "affine_stack", "test_affine_stack", "bias forgotten", _s('''
        def affine_stack(x, weights, biases):
            h = np.asarray(x)
            if len(weights) != len(biases):
                raise ValueError("lengths differ")
            for w in weights:
                h = h @ w
            return h
    ''')),
    Bug(PS1, "affine_stack", "test_affine_stack", "zip silently drops a layer", _s('''
        def affine_stack(x, weights, biases):
            h = np.asarray(x)
            for w, b in zip(weights, biases):
                h = h @ w + b
            return h
    '''), rule="different lengths raise ValueError"),
    Bug(PS1, "collapse_linear", "test_collapse_linear", "biases simply added", _s('''
        def collapse_linear(weights, biases):
            if len(weights) == 0 or len(weights) != len(biases):
                raise ValueError("bad stack")
            W = weights[0]
            for w in weights[1:]:
                W = W @ w
            return W, sum(biases)
    ''')),
    Bug(PS1, "collapse_linear", "test_collapse_linear", "first bias not pushed through later weights", _s('''
        def collapse_linear(weights, biases):
            if len(weights) == 0 or len(weights) != len(biases):
                raise ValueError("bad stack")
            W, b = weights[0], biases[0]
            for w, c in zip(weights[1:], biases[1:]):
                W = W @ w
                b = b + c
            return W, b
    ''')),
    Bug(PS1, "collapse_linear", "test_collapse_linear", "IndexError instead of ValueError for an empty stack", _s('''
        def collapse_linear(weights, biases):
            W, b = weights[0], biases[0]
            for w, c in zip(weights[1:], biases[1:]):
                W = W @ w
                b = b @ w + c
            return W, b
    ''')),
    Bug(PS1, "xor_net", "test_xor_net", "computes OR", _s('''
        def xor_net(x):
            x = np.asarray(x, dtype=float)
            if x.ndim != 2 or x.shape[1] != 2:
                raise ValueError("shape")
            h = np.maximum(x @ np.array([[1.0], [1.0]]), 0)
            return (h[:, 0] > 0.5).astype(np.int64)
    ''')),
    Bug(PS1, "xor_net", "test_xor_net", "returns True/False", _s('''
        def xor_net(x):
            x = np.asarray(x, dtype=float)
            if x.ndim != 2 or x.shape[1] != 2:
                raise ValueError("shape")
            h = np.maximum(x @ np.array([[1.0, 1.0], [1.0, 1.0]]) + np.array([0.0, -1.0]), 0)
            return h @ np.array([1.0, -2.0]) > 0.5
    ''')),
    Bug(PS1, "xor_net", "test_xor_net", "column output of shape (n, 1)", _s('''
        def xor_net(x):
            x = np.asarray(x, dtype=float)
            h = np.maximum(x @ np.array([[1.0, 1.0], [1.0, 1.0]]) + np.array([0.0, -1.0]), 0)
            return (h @ np.array([[1.0], [-2.0]]) > 0.5).astype(np.int64)
    ''')),
    # ---------------------------------------------------------------- ps2
    Bug(PS2, "sigmoid", "test_sigmoid", "naive 1/(1+exp(-x)) overflows", _s('''
        def sigmoid(x):
            return 1 / (1 + np.exp(-as_float_array(x)))
    '''), may_also_fail=("test_sigmoid_grad",)),
    Bug(PS2, "sigmoid", "test_sigmoid", "exp(x)/(1+exp(x)) is NaN for large x", _s('''
        def sigmoid(x):
            e = np.exp(as_float_array(x))
            return e / (1 + e)
    '''), may_also_fail=("test_sigmoid_grad",)),
    Bug(PS2, "sigmoid", "test_sigmoid", "np.where evaluates both branches", _s('''
        def sigmoid(x):
            x = as_float_array(x)
            return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    '''), may_also_fail=("test_sigmoid_grad",)),
    Bug(PS2, "sigmoid", "test_sigmoid", "float64 for float32 input", _s('''
        def sigmoid(x):
            x = np.asarray(x, dtype=np.float64)
            out = np.empty_like(x)
            pos = x >= 0
            out[pos] = 1 / (1 + np.exp(-x[pos]))
            e = np.exp(x[~pos])
            out[~pos] = e / (1 + e)
            return out
    '''), may_also_fail=("test_sigmoid_grad",)),
    Bug(PS2, "sigmoid", "test_sigmoid", "takes |x| in place", _s('''
        def sigmoid(x):
            x = as_float_array(x)
            negative = x < 0
            x[negative] = -x[negative]  # |x| in place, so that exp never overflows
            e = np.exp(-x)
            return np.where(negative, e / (1 + e), 1 / (1 + e))
    '''), may_also_fail=("test_sigmoid_grad",)),
    Bug(PS2, "sigmoid_grad", "test_sigmoid_grad", "forgets the (1 - s) factor", _s('''
        def sigmoid_grad(x):
            return sigmoid(x)
    ''')),
    Bug(PS2, "sigmoid_grad", "test_sigmoid_grad", "exp(-x)/(1+exp(-x))**2 overflows", _s('''
        def sigmoid_grad(x):
            e = np.exp(-as_float_array(x))
            return e / (1 + e) ** 2
    ''')),
    Bug(PS2, "tanh_grad", "test_tanh_grad", "forgets the square", _s('''
        def tanh_grad(x):
            return 1 - np.tanh(as_float_array(x))
    ''')),
    Bug(PS2, "tanh_grad", "test_tanh_grad", "1/cosh(x)**2 overflows", _s('''
        def tanh_grad(x):
            return 1 / np.cosh(as_float_array(x)) ** 2
    ''')),
    Bug(PS2, "tanh_grad", "test_tanh_grad", "float64 for float32 input", _s('''
        def tanh_grad(x):
            return 1 - np.tanh(np.asarray(x, dtype=float)) ** 2
    ''')),
    Bug(PS2, "chain_gain", "test_chain_gain", "sum instead of product", _s('''
        def chain_gain(z, grad_fn):
            z = np.asarray(z, dtype=float)
            if z.ndim != 1:
                raise ValueError("1-D")
            return float(np.sum(grad_fn(z)))
    ''')),
    Bug(PS2, "chain_gain", "test_chain_gain", "numpy scalar, not a Python float", _s('''
        def chain_gain(z, grad_fn):
            z = np.asarray(z, dtype=float)
            if z.ndim != 1:
                raise ValueError("1-D")
            return np.prod(grad_fn(z))
    ''')),
    Bug(PS2, "chain_gain", "test_chain_gain", "assumes the sigmoid's 0.25", _s('''
        def chain_gain(z, grad_fn):
            z = np.asarray(z, dtype=float)
            if z.ndim != 1:
                raise ValueError("1-D")
            return float(0.25 ** len(z))
    ''')),
    Bug(PS2, "saturated_fraction", "test_saturated_fraction", "<= instead of <", _s('''
        def saturated_fraction(z, grad_fn, tol=1e-3):
            z = np.asarray(z, dtype=float)
            if z.size == 0:
                raise ValueError("empty")
            return float(np.mean(grad_fn(z) <= tol))
    '''), rule="strictly below tol"),
    Bug(PS2, "saturated_fraction", "test_saturated_fraction", "ignores tol", _s('''
        def saturated_fraction(z, grad_fn, tol=1e-3):
            z = np.asarray(z, dtype=float)
            if z.size == 0:
                raise ValueError("empty")
            return float(np.mean(grad_fn(z) < 1e-3))
    ''')),
    Bug(PS2, "saturated_fraction", "test_saturated_fraction", "a count, not a fraction", _s('''
        def saturated_fraction(z, grad_fn, tol=1e-3):
            z = np.asarray(z, dtype=float)
            if z.size == 0:
                raise ValueError("empty")
            return float(np.sum(grad_fn(z) < tol))
    ''')),
    # ---------------------------------------------------------------- ps3
    Bug(PS3, "relu", "test_relu", "zeroes the input in place", _s('''
        def relu(x):
            x = as_float_array(x)
            x[x < 0] = 0
            return x
    '''), rule="the input is never modified"),
    Bug(PS3, "relu", "test_relu", "integers stay integers", _s('''
        def relu(x):
            x = np.asarray(x)
            return x * (x > 0)
    ''')),
    Bug(PS3, "relu_grad", "test_relu_grad", "gradient 1 at 0", _s('''
        def relu_grad(x):
            x = as_float_array(x)
            return (x >= 0).astype(x.dtype)
    ''')),
    Bug(PS3, "relu_grad", "test_relu_grad", "returns booleans", _s('''
        def relu_grad(x):
            return as_float_array(x) > 0
    '''), rule="0.0 and 1.0, not booleans"),
    Bug(PS3, "relu_grad", "test_relu_grad", "heaviside with 0.5 at 0", _s('''
        def relu_grad(x):
            return np.heaviside(as_float_array(x), 0.5)
    ''')),
    Bug(PS3, "sparsity", "test_sparsity", "counts negatives as zeros", _s('''
        def sparsity(a):
            a = np.asarray(a)
            if a.size == 0:
                raise ValueError("empty")
            return float(np.mean(a <= 0))
    ''')),
    Bug(PS3, "sparsity", "test_sparsity", "a count, not a fraction", _s('''
        def sparsity(a):
            a = np.asarray(a)
            if a.size == 0:
                raise ValueError("empty")
            return float(np.sum(a == 0))
    ''')),
    Bug(PS3, "dead_units", "test_dead_units", "reduces over the wrong axis", _s('''
        def dead_units(z):
            z = np.asarray(z)
            if z.ndim != 2:
                raise ValueError("2-D")
            return np.all(z <= 0, axis=1)
    ''')),
    Bug(PS3, "dead_units", "test_dead_units", "strict < 0 misses units stuck at 0", _s('''
        def dead_units(z):
            z = np.asarray(z)
            if z.ndim != 2:
                raise ValueError("2-D")
            return np.all(z < 0, axis=0)
    ''')),
    Bug(PS3, "dead_units", "test_dead_units", "any instead of all", _s('''
        def dead_units(z):
            z = np.asarray(z)
            if z.ndim != 2:
                raise ValueError("2-D")
            return np.any(z <= 0, axis=0)
    ''')),
    Bug(PS3, "weight_grads", "test_weight_grads", "broadcasts delta over columns", _s('''
        def weight_grads(a, delta):
            return as_float_array(a) * as_float_array(delta)
    ''')),
    Bug(PS3, "weight_grads", "test_weight_grads", "sums over samples", _s('''
        def weight_grads(a, delta):
            a, delta = as_float_array(a), as_float_array(delta)
            if a.ndim != 2 or delta.shape != (a.shape[0],):
                raise ValueError("shapes")
            return np.tile(delta @ a, (a.shape[0], 1))
    ''')),
    Bug(PS3, "same_sign_rows", "test_same_sign_rows", "only positive rows count", _s('''
        def same_sign_rows(g):
            g = np.asarray(g)
            if g.ndim != 2:
                raise ValueError("2-D")
            return np.all(g >= 0, axis=1)
    ''')),
    Bug(PS3, "same_sign_rows", "test_same_sign_rows", "zeros are not ignored", _s('''
        def same_sign_rows(g):
            g = np.asarray(g)
            if g.ndim != 2:
                raise ValueError("2-D")
            return np.all(np.sign(g) == np.sign(g[:, :1]), axis=1)
    ''')),
    # ---------------------------------------------------------------- ps4
    Bug(PS4, "leaky_relu", "test_leaky_relu", "ignores alpha", _s('''
        def leaky_relu(x, alpha=0.01):
            x = as_float_array(x)
            return np.where(x > 0, x, 0.01 * x)
    ''')),
    Bug(PS4, "leaky_relu", "test_leaky_relu", "float64 for float32 input", _s('''
        def leaky_relu(x, alpha=0.01):
            x = np.asarray(x, dtype=float)
            return np.where(x > 0, x, alpha * x)
    ''')),
    Bug(PS4, "leaky_relu_grad", "test_leaky_relu_grad", "slope 1 at 0", _s('''
        def leaky_relu_grad(x, alpha=0.01):
            x = as_float_array(x)
            return np.where(x >= 0, x.dtype.type(1), x.dtype.type(alpha))
    ''')),
    Bug(PS4, "leaky_relu_grad", "test_leaky_relu_grad", "float64 for float32 input", _s('''
        def leaky_relu_grad(x, alpha=0.01):
            return np.where(as_float_array(x) > 0, 1.0, np.float64(alpha))
    ''')),
    Bug(PS4, "elu", "test_elu", "np.where with an unclipped exp overflows", _s('''
        def elu(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x, alpha * (np.exp(x) - 1))
    ''')),
    Bug(PS4, "elu", "test_elu", "ignores alpha", _s('''
        def elu(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    ''')),
    Bug(PS4, "elu", "test_elu", "exp(x) - 1 loses tiny inputs", _s('''
        def elu(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x, x.dtype.type(alpha) * (np.exp(np.minimum(x, 0)) - 1))
    '''), rule="accurate near 0"),
    Bug(PS4, "elu_grad", "test_elu_grad", "ignores alpha", _s('''
        def elu_grad(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x.dtype.type(1), np.exp(np.minimum(x, 0)))
    ''')),
    Bug(PS4, "elu_grad", "test_elu_grad", "np.where with an unclipped exp overflows", _s('''
        def elu_grad(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, 1.0, alpha * np.exp(x)).astype(x.dtype)
    ''')),
    Bug(PS4, "selu", "test_selu", "constants rounded to four decimals", _s('''
        def selu(x):
            x = as_float_array(x)
            return x.dtype.type(1.0507) * np.where(x > 0, x, x.dtype.type(1.6733) * np.expm1(np.minimum(x, 0)))
    '''), rule="the constants to full precision"),
    Bug(PS4, "selu", "test_selu", "scale applied to the positive side only", _s('''
        def selu(x):
            x = as_float_array(x)
            a, s = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
            return np.where(x > 0, x.dtype.type(s) * x, x.dtype.type(a) * np.expm1(np.minimum(x, 0)))
    ''')),
    Bug(PS4, "gelu", "test_gelu", "tanh approximation", _s('''
        def gelu(x):
            x = as_float_array(x)
            c = x.dtype.type(np.sqrt(2 / np.pi))
            return x.dtype.type(0.5) * x * (1 + np.tanh(c * (x + x.dtype.type(0.044715) * x ** 3)))
    ''')),
    Bug(PS4, "gelu", "test_gelu", "sigmoid approximation x*sigmoid(1.702x)", _s('''
        def gelu(x):
            x = as_float_array(x)
            return x * special.expit(x.dtype.type(1.702) * x)
    ''')),
    Bug(PS4, "swish", "test_swish", "ignores beta", _s('''
        def swish(x, beta=1.0):
            x = as_float_array(x)
            return x * special.expit(x)
    ''')),
    Bug(PS4, "swish", "test_swish", "naive sigmoid overflows", _s('''
        def swish(x, beta=1.0):
            x = as_float_array(x)
            return x / (1 + np.exp(-beta * x))
    '''), rule="no RuntimeWarning"),
    Bug(PS4, "swish_grad", "test_swish_grad", "beta missing in the second term", _s('''
        def swish_grad(x, beta=1.0):
            x = as_float_array(x)
            s = special.expit(x.dtype.type(beta) * x)
            return s + x * s * (1 - s)
    ''')),
    Bug(PS4, "swish_grad", "test_swish_grad", "the sigmoid's derivative only", _s('''
        def swish_grad(x, beta=1.0):
            x = as_float_array(x)
            s = special.expit(x.dtype.type(beta) * x)
            return s * (1 - s)
    ''')),
    Bug(PS4, "mish", "test_mish", "log(1 + exp(x)) overflows", _s('''
        def mish(x):
            x = as_float_array(x)
            return x * np.tanh(np.log(1 + np.exp(x)))
    ''')),
    Bug(PS4, "mish", "test_mish", "tanh(exp(x)) instead of tanh(softplus(x))", _s('''
        def mish(x):
            x = as_float_array(x)
            return x * np.tanh(np.exp(np.minimum(x, 20)))
    ''')),
    Bug(PS4, "softmax", "test_softmax", "always over axis 0", _s('''
        def softmax(x, axis=-1):
            x = as_float_array(x)
            e = np.exp(x - x.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    ''')),
    Bug(PS4, "softmax", "test_softmax", "no max subtraction", _s('''
        def softmax(x, axis=-1):
            e = np.exp(as_float_array(x))
            return e / e.sum(axis=axis, keepdims=True)
    ''')),
    Bug(PS4, "softmax", "test_softmax", "normalises over the whole array", _s('''
        def softmax(x, axis=-1):
            x = as_float_array(x)
            e = np.exp(x - x.max())
            return e / e.sum()
    ''')),
    Bug(PS4, "prelu_backward", "test_prelu_backward", "dalpha includes the positive side", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            a = np.asarray(alpha, dtype=x.dtype)
            if g.shape != x.shape or a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("shapes")
            dx = np.where(x > 0, g, a * g)
            if a.ndim == 0:
                return dx, float(np.sum(g * x))
            return dx, (g * x).reshape(-1, a.shape[0]).sum(axis=0)
    ''')),
    Bug(PS4, "prelu_backward", "test_prelu_backward", "per-channel sum over axis 0 only", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            a = np.asarray(alpha, dtype=x.dtype)
            if g.shape != x.shape or a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("shapes")
            dx = np.where(x > 0, g, a * g)
            neg = np.where(x > 0, 0, g * x)
            if a.ndim == 0:
                return dx, float(neg.sum())
            return dx, neg.sum(axis=0)
    ''')),
    Bug(PS4, "prelu_backward", "test_prelu_backward", "numpy scalar dalpha", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            a = np.asarray(alpha, dtype=x.dtype)
            if g.shape != x.shape or a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("shapes")
            dx = np.where(x > 0, g, a * g)
            neg = np.where(x > 0, 0, g * x)
            if a.ndim == 0:
                return dx, neg.sum()
            return dx, neg.reshape(-1, a.shape[0]).sum(axis=0)
    ''')),
    Bug(PS4, "prelu_backward", "test_prelu_backward", "dx ignores alpha", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            a = np.asarray(alpha, dtype=x.dtype)
            if g.shape != x.shape or a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("shapes")
            dx = np.where(x > 0, g, 0)
            neg = np.where(x > 0, 0, g * x)
            if a.ndim == 0:
                return dx, float(neg.sum())
            return dx, neg.reshape(-1, a.shape[0]).sum(axis=0)
    ''')),
    # ---------------------------------------------------------------- ps5
    Bug(PS5, "custom_activation", "test_custom_activation_contract", "linear", _s('''
        class CustomActivation:
            def forward(self, x):
                return 2 * as_float_array(x)

            def backward(self, x, grad_out):
                x = as_float_array(x)
                return 2 * np.asarray(grad_out, dtype=x.dtype)
    ''')),
    Bug(PS5, "custom_activation", "test_custom_activation_contract", "backward has the wrong sign", _s('''
        class CustomActivation:
            def forward(self, x):
                return np.tanh(as_float_array(x))

            def backward(self, x, grad_out):
                x = as_float_array(x)
                return -np.asarray(grad_out, dtype=x.dtype) * (1 - np.tanh(x) ** 2)
    '''), may_also_fail=("test_custom_activation_trains",)),
    Bug(PS5, "custom_activation", "test_custom_activation_contract", "overflows at large inputs", _s('''
        class CustomActivation:
            def forward(self, x):
                x = as_float_array(x)
                return x / (1 + np.exp(-x))

            def backward(self, x, grad_out):
                x = as_float_array(x)
                s = 1 / (1 + np.exp(-x))
                return np.asarray(grad_out, dtype=x.dtype) * (s + x * s * (1 - s))
    ''')),
    Bug(PS5, "check_activation", "test_check_activation_rejects", "accepts everything", _s('''
        def check_activation(f, df):
            return True
    ''')),
    Bug(PS5, "check_activation", "test_check_activation_accepts", "rejects everything", _s('''
        def check_activation(f, df):
            return False
    ''')),
    Bug(PS5, "check_activation", "test_check_activation_rejects", "float64 only: misses dtype changes", _s('''
        def check_activation(f, df):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    x = np.array([[-1e4, -3.0, 0.0, 3.0, 1e4]] * 2)
                    kept = x.copy()
                    for fn in (f, df):
                        out = fn(x)
                        if type(out) is not np.ndarray or out.shape != x.shape or not np.all(np.isfinite(out)):
                            return False
                    if not np.array_equal(x, kept):
                        return False
                    z = np.linspace(-4, 4, 40) + 0.01
                    num = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
                    return bool(np.allclose(df(z), num, rtol=1e-4, atol=1e-6))
            except Exception:
                return False
    ''')),
    Bug(PS5, "check_activation", "test_check_activation_rejects", "never compares the derivative", _s('''
        def check_activation(f, df):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    for dtype in (np.float64, np.float32):
                        x = np.array([[-1e4, -3.0, 0.0, 3.0, 1e4]] * 2, dtype=dtype)
                        kept = x.copy()
                        for fn in (f, df):
                            out = fn(x)
                            if type(out) is not np.ndarray or out.shape != x.shape or out.dtype != dtype:
                                return False
                            if not np.all(np.isfinite(out)) or not np.array_equal(x, kept):
                                return False
                return True
            except Exception:
                return False
    ''')),
    Bug(PS5, "output_activation", "test_output_activation", "softmax for multilabel", _s('''
        def output_activation(task):
            table = {"binary": "sigmoid", "multiclass": "softmax", "multilabel": "softmax", "regression": "identity"}
            if task not in table:
                raise ValueError(f"unknown task {task!r}")
            return table[task]
    ''')),
    Bug(PS5, "output_activation", "test_output_activation", "None for an unknown task", _s('''
        def output_activation(task):
            return {"binary": "sigmoid", "multiclass": "softmax", "multilabel": "sigmoid", "regression": "identity"}.get(task)
    ''')),
]

#: Bugs that only the (slow, about 10 s) training cell can reveal.
SLOW_BUGS: list[Bug] = [
    Bug(PS5, "custom_activation", "test_custom_activation_trains", "dead for ordinary inputs", _s('''
        class CustomActivation:
            def forward(self, x):
                x = as_float_array(x)
                return np.maximum(x - 2, 0)

            def backward(self, x, grad_out):
                x = as_float_array(x)
                return np.asarray(grad_out, dtype=x.dtype) * (x > 2).astype(x.dtype)
    ''')),
]

ALTERNATIVES: list[Alternative] = [
    Alternative(PS1, "affine_stack", "functools.reduce", _s('''
        from functools import reduce

        def affine_stack(x, weights, biases):
            if len(weights) != len(biases):
                raise ValueError("one bias per weight matrix")
            return reduce(lambda h, wb: h @ wb[0] + wb[1], zip(weights, biases), np.asarray(x))
    ''')),
    Alternative(PS1, "collapse_linear", "probe the stack with the identity", _s('''
        def collapse_linear(weights, biases):
            if len(weights) == 0 or len(weights) != len(biases):
                raise ValueError("need a non-empty stack with one bias per layer")
            d0 = np.shape(weights[0])[0]
            b = affine_stack(np.zeros((1, d0)), weights, biases)[0]
            W = affine_stack(np.eye(d0), weights, biases) - b
            return W, b
    ''')),
    Alternative(PS1, "xor_net", "|x0 - x1| with two ReLUs", _s('''
        def xor_net(x):
            x = np.asarray(x, dtype=float)
            if x.ndim != 2 or x.shape[1] != 2:
                raise ValueError("x must have shape (n, 2)")
            h = np.maximum(x @ np.array([[1.0, -1.0], [-1.0, 1.0]]), 0)
            return np.rint(h.sum(axis=1)).astype(int)
    ''')),
    Alternative(PS2, "sigmoid", "scipy.special.expit", _s('''
        from scipy.special import expit

        def sigmoid(x):
            return expit(as_float_array(x))
    ''')),
    Alternative(PS2, "sigmoid", "tanh identity", _s('''
        def sigmoid(x):
            x = as_float_array(x)
            half = x.dtype.type(0.5)
            return half * (1 + np.tanh(half * x))
    ''')),
    Alternative(PS2, "tanh_grad", "via the sigmoid", _s('''
        def tanh_grad(x):
            x = as_float_array(x)
            return 4 * sigmoid_grad(2 * x)
    ''')),
    Alternative(PS2, "chain_gain", "log-sum with math.prod fallback", _s('''
        import math

        def chain_gain(z, grad_fn):
            z = np.asarray(z, dtype=float)
            if z.ndim != 1:
                raise ValueError("z must be 1-D")
            return float(math.prod(np.asarray(grad_fn(z)).tolist()))
    ''')),
    Alternative(PS3, "relu", "np.clip", _s('''
        def relu(x):
            return np.clip(as_float_array(x), 0, None)
    ''')),
    Alternative(PS3, "relu_grad", "heaviside with 0 at 0", _s('''
        def relu_grad(x):
            return np.heaviside(as_float_array(x), 0.0)
    ''')),
    Alternative(PS3, "same_sign_rows", "sign products", _s('''
        def same_sign_rows(g):
            g = np.asarray(g)
            if g.ndim != 2:
                raise ValueError("g must be 2-D")
            s = np.sign(g)
            return (s.max(axis=1) * s.min(axis=1)) >= 0
    ''')),
    Alternative(PS4, "leaky_relu", "maximum(alpha x, x)", _s('''
        def leaky_relu(x, alpha=0.01):
            x = as_float_array(x)
            return np.maximum(x, x.dtype.type(alpha) * x)
    ''')),
    Alternative(PS4, "elu_grad", "elu(x) + alpha on the left", _s('''
        def elu_grad(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x.dtype.type(1), elu(x, alpha) + x.dtype.type(alpha))
    ''')),
    Alternative(PS4, "gelu", "erf instead of erfc", _s('''
        def gelu(x):
            x = as_float_array(x)
            return x.dtype.type(0.5) * x * (1 + special.erf(x / x.dtype.type(np.sqrt(2))))
    ''')),
    Alternative(PS4, "softmax", "log-sum-exp", _s('''
        def softmax(x, axis=-1):
            x = as_float_array(x)
            return np.exp(x - special.logsumexp(x, axis=axis, keepdims=True))
    ''')),
    Alternative(PS4, "prelu_backward", "masks and einsum", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            if g.shape != x.shape:
                raise ValueError("grad_out must have x's shape")
            a = np.asarray(alpha, dtype=x.dtype)
            if a.ndim > 1 or (a.ndim == 1 and (x.ndim == 0 or a.shape[0] != x.shape[-1])):
                raise ValueError("alpha must be a scalar or have one entry per channel")
            neg = (x <= 0).astype(x.dtype)
            dx = g * (1 - neg) + g * neg * a
            flat = (g * x * neg).reshape(-1, x.shape[-1] if x.ndim else 1)
            if a.ndim == 0:
                return dx, float(flat.sum())
            return dx, np.einsum("nc->c", flat)
    ''')),
    Alternative(PS5, "check_activation", "own centred differences", _s('''
        def check_activation(f, df):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    for dtype in (np.float32, np.float64):
                        x = np.array([[-1e4, -20.0, -1.0, 0.0, 1.0, 20.0, 1e4]] * 3, dtype=dtype)
                        kept = x.copy()
                        for fn in (f, df):
                            out = fn(x)
                            if type(out) is not np.ndarray or out.shape != x.shape or out.dtype != dtype:
                                return False
                            if not np.isfinite(out).all() or not np.array_equal(x, kept):
                                return False
                    z = np.concatenate([np.linspace(-5, -0.1, 20), np.linspace(0.1, 5, 20)])
                    h = 1e-6
                    numerical = (f(z + h) - f(z - h)) / (2 * h)
                    return bool(np.allclose(df(z), numerical, rtol=1e-4, atol=1e-6))
            except Exception:
                return False
    ''')),
    Alternative(PS5, "output_activation", "match statement", _s('''
        def output_activation(task):
            match task:
                case "binary" | "multilabel":
                    return "sigmoid"
                case "multiclass":
                    return "softmax"
                case "regression":
                    return "identity"
            raise ValueError(f"unknown task {task!r}; valid: binary, multiclass, multilabel, regression")
    ''')),
]
