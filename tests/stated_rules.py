"""A zoo of learner answers that each break one rule a problem-set notebook states.

"Validate tells the truth": when Validate (``actlab validate``, the Lab's button) says a
notebook passes, no point is lost for a rule that the notebook states. So every answer below,
which is plausible and breaks one stated rule (``rule`` quotes or paraphrases where the
notebook states it), must fail validation, in the test cell ``fails`` (and, where ``says`` is
given, with that text in its message). The bugs of the bug zoo that name a stated rule
(``Bug.rule`` in ``tests/assignment_bugs.py``) are rule breaks too, written there once.
``tests/test_validate.py`` validates each one for real, as grading judges it.
The correct answers written differently from the instructor's (``ALTERNATIVES`` of the bug zoo,
``tests/assignment_bugs.py``, plus the ones below) must pass validation and grading.
"""

from __future__ import annotations

from dataclasses import dataclass

from assignment_bugs import ALTERNATIVES as BUG_ZOO_ALTERNATIVES
from assignment_bugs import BUGS, PS1, PS2, PS3, PS4, PS5, SLOW_BUGS, Alternative, _s


@dataclass(frozen=True)
class RuleBreak:
    assignment: str
    cell: str  # grade_id of the answer cell it replaces
    fails: str  # grade_id of the visible test cell that must catch it
    rule: str  # the stated rule it breaks
    source: str
    says: str = ""  # text Validate's message for that cell must contain

    @property
    def id(self) -> str:
        return f"{self.assignment}:{self.cell}:{self.rule}"


RULE_BREAKS: list[RuleBreak] = [
    *(RuleBreak(bug.assignment, bug.cell, bug.fails, bug.rule, bug.source)
      for bug in (*BUGS, *SLOW_BUGS) if bug.rule),
    # ---------------------------------------------------------------- ps1
    RuleBreak(PS1, "affine_stack", "test_affine_stack", "no layers return x", _s('''
        def affine_stack(x, weights, biases):
            if len(weights) != len(biases):
                raise ValueError("one bias per weight matrix")
            h = None
            for w, b in zip(weights, biases):
                h = (np.asarray(x) if h is None else h) @ w + b
            return h
    ''')),
    RuleBreak(PS1, "collapse_linear", "test_collapse_linear", "an empty stack raises ValueError", _s('''
        def collapse_linear(weights, biases):
            if len(weights) != len(biases):
                raise ValueError("one bias per weight matrix")
            W, b = np.asarray(weights[0]), np.asarray(biases[0])
            for w, bb in zip(weights[1:], biases[1:]):
                W, b = W @ w, b @ w + bb
            return W, b
    ''')),
    RuleBreak(PS1, "xor_net", "test_xor_net", "integer predictions", _s('''
        def xor_net(x):
            x = np.asarray(x, dtype=float)
            if x.ndim != 2 or x.shape[1] != 2:
                raise ValueError("x must have shape (n, 2)")
            h = np.maximum(x @ np.array([[1.0, 1.0], [1.0, 1.0]]) + np.array([0.0, -1.0]), 0)
            return (h @ np.array([1.0, -2.0]) > 0.5).astype(float)
    ''')),
    RuleBreak(PS1, "xor_net", "test_xor_net", "x is left unchanged", _s('''
        def xor_net(x):
            z = np.asarray(x)
            if z.ndim != 2 or z.shape[1] != 2:
                raise ValueError("x must have shape (n, 2)")
            z[:, 1] = z[:, 0] + z[:, 1]  # the number of ones, in place of the second input
            return (np.maximum(z[:, 1], 0) - 2 * np.maximum(z[:, 1] - 1, 0) > 0.5).astype(int)
    ''')),
    # ---------------------------------------------------------------- ps2
    RuleBreak(PS2, "sigmoid", "test_sigmoid", "float32 stays float32", _s('''
        from scipy.special import expit

        def sigmoid(x):
            return expit(np.asarray(x, dtype=float))
    ''')),
    RuleBreak(PS2, "sigmoid", "test_sigmoid", "the input is never modified", _s('''
        def sigmoid(x):
            x = as_float_array(x)
            e = np.exp(-np.abs(x))
            x[...] = np.where(x < 0, e / (1 + e), 1 / (1 + e))
            return x
    ''')),
    # A name that only a visible test cell imports: nbgrader's stock Validate ran the test
    # cells in the kernel, so this passed Validate and lost its points when graded.
    RuleBreak(PS2, "sigmoid", "test_sigmoid", "never a name that only a test cell imports", _s('''
        def sigmoid(x):
            return expit(as_float_array(x))
    '''), says="`expit` exists only because a test cell imports or defines it"),
    RuleBreak(PS2, "sigmoid", "test_sigmoid", "your code may not import actlab's modules", _s('''
        from actlab.activations import sigmoid
    '''), says="actlab.activations is not available in this problem set"),
    RuleBreak(PS2, "tanh_grad", "test_tanh_grad", "your code may not import actlab's modules", _s('''
        def tanh_grad(x):
            from actlab import activations
            return activations.tanh_grad(x)
    '''), says="ImportError: actlab.activations is not available in this problem set"),
    RuleBreak(PS2, "sigmoid_grad", "test_sigmoid_grad", "no RuntimeWarning, no NaN", _s('''
        def sigmoid_grad(x):
            x = as_float_array(x)
            return np.exp(-x) / (1 + np.exp(-x)) ** 2
    ''')),
    RuleBreak(PS2, "tanh_grad", "test_tanh_grad", "float32 stays float32", _s('''
        def tanh_grad(x):
            t = np.tanh(np.asarray(x, dtype=np.float64))
            return 1 - t * t
    ''')),
    RuleBreak(PS2, "chain_gain", "test_chain_gain", "any other shape raises ValueError", _s('''
        def chain_gain(z, grad_fn):
            return float(np.prod(grad_fn(np.asarray(z, dtype=float))))
    ''')),
    RuleBreak(PS2, "chain_gain", "test_chain_gain", "a Python float", _s('''
        def chain_gain(z, grad_fn):
            z = np.asarray(z, dtype=float)
            if z.ndim != 1:
                raise ValueError("z must be 1-D")
            return np.prod(grad_fn(z))
    ''')),
    RuleBreak(PS2, "saturated_fraction", "test_saturated_fraction", "empty z raises ValueError", _s('''
        def saturated_fraction(z, grad_fn, tol=1e-3):
            z = np.asarray(z, dtype=float)
            return float(np.mean(grad_fn(z) < tol))
    ''')),
    # ---------------------------------------------------------------- ps3
    RuleBreak(PS3, "relu", "test_relu", "integers give float64", _s('''
        def relu(x):
            return np.maximum(np.asarray(x), 0)
    ''')),
    RuleBreak(PS3, "sparsity", "test_sparsity", "exactly 0", _s('''
        def sparsity(a):
            a = np.asarray(a, dtype=float)
            if a.size == 0:
                raise ValueError("empty")
            return float(np.mean(np.abs(a) < 1e-9))
    ''')),
    RuleBreak(PS3, "dead_units", "test_dead_units", "anything but 2-D raises ValueError", _s('''
        def dead_units(z):
            return np.all(np.asarray(z) <= 0, axis=0)
    ''')),
    RuleBreak(PS3, "weight_grads", "test_weight_grads", "shapes (n, d) and (n,), else ValueError", _s('''
        def weight_grads(a, delta):
            return np.asarray(delta, dtype=float)[:, None] * np.asarray(a, dtype=float)
    ''')),
    RuleBreak(PS3, "same_sign_rows", "test_same_sign_rows", "zeros are ignored", _s('''
        def same_sign_rows(g):
            g = np.asarray(g)
            if g.ndim != 2:
                raise ValueError("g must be 2-D")
            return np.all(g > 0, axis=1) | np.all(g < 0, axis=1)
    ''')),
    # ---------------------------------------------------------------- ps4
    RuleBreak(PS4, "leaky_relu", "test_leaky_relu", "float32 stays float32", _s('''
        def leaky_relu(x, alpha=0.01):
            x = as_float_array(x)
            return x * np.where(x > 0, 1.0, alpha)
    ''')),
    RuleBreak(PS4, "elu_grad", "test_elu_grad", "no RuntimeWarning", _s('''
        def elu_grad(x, alpha=1.0):
            x = as_float_array(x)
            return np.where(x > 0, x.dtype.type(1), x.dtype.type(alpha) * np.exp(x))
    ''')),
    RuleBreak(PS4, "gelu", "test_gelu", "float32 stays float32", _s('''
        def gelu(x):
            x = as_float_array(x)
            return 0.5 * x * (1 + special.erf(x / np.sqrt(2)))
    ''')),
    RuleBreak(PS4, "mish", "test_mish", "softplus without overflow", _s('''
        def mish(x):
            x = as_float_array(x)
            return x * np.tanh(np.log1p(np.exp(x)))
    ''')),
    RuleBreak(PS4, "softmax", "test_softmax", "honour axis", _s('''
        def softmax(x, axis=-1):
            x = as_float_array(x)
            e = np.exp(x - np.max(x, axis=-1, keepdims=True))
            return e / np.sum(e, axis=-1, keepdims=True)
    ''')),
    RuleBreak(PS4, "prelu_backward", "test_prelu_backward", "dalpha a Python float", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = as_float_array(x)
            g = np.asarray(grad_out, dtype=x.dtype)
            if g.shape != x.shape:
                raise ValueError("grad_out must have x's shape")
            a = np.asarray(alpha, dtype=x.dtype)
            if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("alpha must be a scalar or have one entry per channel")
            negative = x <= 0
            dx = np.where(negative, a * g, g)
            contribution = np.where(negative, g * x, 0)
            if a.ndim == 0:
                return dx, contribution.sum()
            return dx, contribution.reshape(-1, a.shape[0]).sum(axis=0)
    ''')),
    RuleBreak(PS4, "prelu_backward", "test_prelu_backward", "float32 stays float32", _s('''
        def prelu_backward(x, alpha, grad_out):
            x = np.asarray(x, dtype=float)
            g = np.asarray(grad_out, dtype=float)
            if g.shape != x.shape:
                raise ValueError("grad_out must have x's shape")
            a = np.asarray(alpha, dtype=float)
            if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != x.shape[-1]):
                raise ValueError("alpha must be a scalar or have one entry per channel")
            negative = x <= 0
            dx = np.where(negative, a * g, g)
            contribution = np.where(negative, g * x, 0.0)
            if a.ndim == 0:
                return dx, float(contribution.sum())
            return dx, contribution.reshape(-1, a.shape[0]).sum(axis=0)
    ''')),
    # ---------------------------------------------------------------- ps5
    RuleBreak(PS5, "output_activation", "test_output_activation", "exactly these lower-case names", _s('''
        def output_activation(task):
            choices = {"binary": "sigmoid", "multiclass": "softmax", "multilabel": "sigmoid",
                       "regression": "identity"}
            key = str(task).strip().lower()
            if key not in choices:
                raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(choices)}")
            return choices[key]
    ''')),
    RuleBreak(PS5, "check_activation", "test_check_activation_rejects", "a numpy ndarray, not a list", _s('''
        def check_activation(f, df):
            x64 = np.array([[-1e4, -30.0, -1.0, 0.0, 1.0, 30.0, 1e4]] * 2)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    for x in (x64, x64.astype(np.float32)):
                        kept = x.copy()
                        for fn in (f, df):
                            out = np.asarray(fn(x))
                            if out.shape != x.shape or out.dtype != x.dtype:
                                return False
                            if not np.all(np.isfinite(out)) or not np.array_equal(x, kept):
                                return False
                    z = np.concatenate([np.linspace(-5, -0.1, 20), np.linspace(0.1, 5, 20)])
                    return bool(gradcheck.check_grad(f, df, z, tol=1e-5).ok)
            except Exception:
                return False
    ''')),
    RuleBreak(PS5, "check_activation", "test_check_activation_accepts", "except its check_activation", _s('''
        from actlab.gradcheck import check_activation
    '''), says="cannot import name 'check_activation'"),
    RuleBreak(PS5, "custom_activation", "test_custom_activation_contract", "float32 backward stays float32", _s('''
        class CustomActivation:
            def forward(self, x):
                x = as_float_array(x)
                return x.dtype.type(0.1) * x + x.dtype.type(0.9) * np.logaddexp(x.dtype.type(0), x)

            def backward(self, x, grad_out):
                x = as_float_array(x)
                return np.asarray(grad_out, dtype=float) * (0.1 + 0.9 * special.expit(x))
    ''')),
]

#: Correct answers written differently from the instructor's, beyond the bug zoo's.
MORE_ALTERNATIVES: list[Alternative] = [
    Alternative(PS2, "sigmoid", "exp of minus softplus", _s('''
        def sigmoid(x):
            x = as_float_array(x)
            return np.exp(-np.logaddexp(x.dtype.type(0), -x))
    ''')),
    Alternative(PS3, "relu", "x times its mask", _s('''
        def relu(x):
            x = as_float_array(x)
            return x * (x > 0)
    ''')),
    Alternative(PS5, "output_activation", "if-chain", _s('''
        def output_activation(task):
            if task in ("binary", "multilabel"):
                return "sigmoid"
            if task == "multiclass":
                return "softmax"
            if task == "regression":
                return "identity"
            raise ValueError("valid tasks: binary, multiclass, multilabel, regression")
    ''')),
]

ALTERNATIVES: list[Alternative] = [*BUG_ZOO_ALTERNATIVES, *MORE_ALTERNATIVES]
