"""Writes tests/reference/torch_reference.npz: PyTorch's answers for the tests' second reference.

Some tests compare actlab with PyTorch: activation values, derivatives by autograd, and three
Adam steps on a small MLP. PyTorch is a large install that the course does not need, so its
answers are computed once, by this script, on fixed inputs that the file stores too; the tests
read the file and never import torch. Only ``make bench`` installs PyTorch.

Run it after changing an input or a reference below (PyTorch from benchmarks/requirements.txt):

    make torch-reference                                               # rewrite the file
    .venv/bin/python tests/reference/make_torch_reference.py --check   # compare: 1 if different

Keys of the file (all float64 unless said):

``activation_x`` (6, 7)
    inputs in [-6, 6], none closer than 1e-3 to the kinks at 0.
``value_names`` (strings), ``values`` (len(value_names), 6, 7)
    ``values[i]``: PyTorch's forward of activation ``value_names[i]`` (actlab's name, default
    parameters) at ``activation_x``.
``derivative_x`` (50,), ``derivative_names``, ``derivatives`` (len(derivative_names), 50)
    inputs, and the derivative of each activation there by autograd.
``adam/X``, ``adam/y``, ``adam/W0``, ``adam/b0``, ``adam/W1``, ``adam/b1``
    data (10, 4) with int64 labels (10,), and the starting weights (4, 8), (8,), (8, 3), (3,)
    (actlab's layout: ``out = x @ W + b``) of a 4-8-3 ReLU MLP.
``adam/loss`` (3,), ``adam/W0_final``, ``adam/b0_final``, ``adam/W1_final``, ``adam/b1_final``
    softmax cross-entropy before each of three Adam steps (lr 0.05, PyTorch's defaults
    otherwise), and the weights after them.
``torch_version``
    the PyTorch version that computed the file (a string).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().with_name("torch_reference.npz")

# actlab's name -> the same function in PyTorch, at actlab's default parameters.
VALUES = {
    "tanh": torch.tanh,
    "shifted_tanh": lambda z: torch.tanh(z - 1.0),
    "relu": F.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "prelu": lambda z: F.prelu(z, torch.tensor([0.25], dtype=z.dtype)),
    "rrelu": lambda z: F.rrelu(z, 1 / 8, 1 / 3, training=False),
    "elu": lambda z: F.elu(z, 1.0),
    "selu": F.selu,
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
    "swish": F.silu,
    "mish": F.mish,
    "softmax": lambda z: F.softmax(z, dim=-1),
    "log_softmax": lambda z: F.log_softmax(z, dim=-1),
}

DERIVATIVES = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "shifted_tanh": lambda z: torch.tanh(z - 1.0),
    "gelu": F.gelu,
    "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
    "swish": F.silu,
    "mish": F.mish,
    "softplus": lambda z: torch.log1p(torch.exp(z)),
    "elu": F.elu,
    "selu": F.selu,
    "telu": lambda z: z * torch.tanh(torch.exp(z)),
}


def away_from_kinks(x: np.ndarray) -> np.ndarray:
    """``x`` with entries closer than 1e-3 to 0 moved to 0.5, so that differences are clean."""
    x = x.copy()
    x[np.abs(x) < 1e-3] = 0.5
    return x


def activation_values(x: np.ndarray) -> dict[str, np.ndarray]:
    xt = torch.from_numpy(x)
    return {"value_names": np.array(list(VALUES)),
            "values": np.stack([fn(xt).numpy() for fn in VALUES.values()])}


def activation_derivatives(x: np.ndarray) -> dict[str, np.ndarray]:
    grads = []
    for fn in DERIVATIVES.values():
        xt = torch.from_numpy(x).requires_grad_(True)
        fn(xt).sum().backward()
        grads.append(xt.grad.numpy())
    return {"derivative_names": np.array(list(DERIVATIVES)), "derivatives": np.stack(grads)}


def adam_steps(rng: np.random.Generator, steps: int = 3) -> dict[str, np.ndarray]:
    """Three Adam steps of a 4-8-3 ReLU MLP in float64, from weights drawn here."""
    start = {"adam/X": rng.normal(size=(10, 4)), "adam/y": rng.integers(0, 3, size=10),
             "adam/W0": rng.normal(0, 0.5, size=(4, 8)), "adam/b0": rng.normal(0, 0.1, size=8),
             "adam/W1": rng.normal(0, 0.5, size=(8, 3)), "adam/b1": rng.normal(0, 0.1, size=3)}
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 3)).double()
    linear = {"0": model[0], "1": model[2]}
    with torch.no_grad():
        for i, lin in linear.items():
            lin.weight.copy_(torch.from_numpy(start[f"adam/W{i}"].T))
            lin.bias.copy_(torch.from_numpy(start[f"adam/b{i}"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    X, y = torch.from_numpy(start["adam/X"]), torch.from_numpy(start["adam/y"])
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    final = {}
    for i, lin in linear.items():
        final[f"adam/W{i}_final"] = lin.weight.detach().numpy().T.copy()
        final[f"adam/b{i}_final"] = lin.bias.detach().numpy().copy()
    return {**start, "adam/loss": np.array(losses), **final}


def compute() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    activation_x = away_from_kinks(rng.uniform(-6.0, 6.0, size=(6, 7)))
    derivative_x = away_from_kinks(rng.uniform(-6.0, 6.0, size=50))
    return {"activation_x": activation_x, **activation_values(activation_x),
            "derivative_x": derivative_x, **activation_derivatives(derivative_x),
            **adam_steps(rng), "torch_version": np.array(torch.__version__)}


def differences(new: dict[str, np.ndarray], path: Path) -> list[str]:
    """What differs between ``new`` and the file at ``path`` (beyond 1e-12 relative)."""
    with np.load(path) as old:
        stored = {k: old[k] for k in old.files}
    problems = [f"missing key {k}" for k in sorted(set(new) - set(stored))]
    problems += [f"extra key {k}" for k in sorted(set(stored) - set(new))]
    for key in sorted(set(new) & set(stored)):
        a, b = new[key], stored[key]
        if a.dtype.kind == "U":
            if not np.array_equal(a, b) and key != "torch_version":
                problems.append(f"{key} differs")
        elif a.shape != b.shape or not np.allclose(a, b, rtol=1e-12, atol=1e-15):
            problems.append(f"{key} differs")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the stored file instead of writing it")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    new = compute()
    if args.check:
        problems = differences(new, OUT)
        print("\n".join(problems) if problems else f"{OUT.name} is up to date")
        return 1 if problems else 0
    np.savez_compressed(OUT, **new)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(new)} arrays, torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
