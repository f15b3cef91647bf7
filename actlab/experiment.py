"""The baseline experiment: source document 000's MNIST comparison, reproduced with actlab's
numpy MLP. Which hidden activation trains best?

Introduced in chapter 5 (*Choosing activations*). Source document 000 trains (in Keras) an MLP
784-128-64-10 with Adam (batch 32, 10 epochs, 20 % of the training data held out for validation)
once per hidden activation -- sigmoid, tanh, ReLU and Leaky ReLU -- and compares accuracy curves and
test accuracy. :func:`run_experiment` does the same and more (other depths, batch normalisation,
per-layer gradient norms); :func:`main` is the command line::

    python -m actlab.experiment --activations relu,tanh --epochs 10 --out results/
    actlab experiment --depth 6 --diagnostics --out deep/

:func:`run_experiment` returns an :class:`ExperimentResult`: JSON-ready fields (``config``,
``data``, ``results``, ``seconds``, ``provenance``) beside the live objects (``histories``,
``models``, ``test_set``); :meth:`ExperimentResult.to_json` keeps only the former. Each
command-line run writes that JSON as ``results.json`` (configuration, test accuracy, per-epoch
curves, the command and the versions that produced it) and ``curves.png`` (accuracy curves);
with ``--diagnostics`` also ``grad_norms.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tabulate import tabulate

from actlab import util

__all__ = [
    "BASELINE_ACTIVATIONS",
    "BASELINE_HIDDEN",
    "ExperimentResult",
    "hidden_widths",
    "parse_activation_spec",
    "run_experiment",
    "write_outputs",
    "results_table",
    "build_parser",
    "main",
]

#: The four hidden activations compared in source document 000 (the baseline experiment).
BASELINE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")

#: Hidden widths of the baseline network (784-128-64-10).
BASELINE_HIDDEN = (128, 64)


def hidden_widths(depth) -> list[int]:
    """Hidden-layer widths for a depth given as a count or as explicit widths.

    ``depth`` is either an int ``k >= 1`` -- ``k`` hidden layers: the baseline's 128 then 64, and
    every further layer 64 wide (``2 -> [128, 64]``, ``4 -> [128, 64, 64, 64]``) -- or a
    sequence of positive widths used as given.
    """
    if isinstance(depth, (int, np.integer)) and not isinstance(depth, bool):
        if depth < 1:
            raise ValueError(f"depth must be at least 1 hidden layer, got {depth}")
        return [BASELINE_HIDDEN[0]] + [BASELINE_HIDDEN[1]] * (int(depth) - 1)
    widths = [int(w) for w in depth]
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"hidden widths must be positive integers, got {list(depth)!r}")
    return widths


def parse_activation_spec(spec: str, n_hidden: int):
    """Turn one activation spec into what :func:`actlab.nn.mlp` accepts, validating names.

    ``"relu"`` uses ReLU in every hidden layer; ``"tanh/relu"`` mixes activations, one per
    hidden layer, repeated cyclically when there are more layers than names (source document
    000's "combinations" exercise). Unknown names raise the registry's ``ValueError``, which lists
    every valid name.
    """
    from actlab import activations

    names = [part.strip() for part in str(spec).split("/")]
    if any(not n for n in names):
        raise ValueError(f"empty activation name in {spec!r}")
    for name in names:
        act = activations.get(name)
        if not act.elementwise and name != "maxout":
            raise ValueError(
                f"{name!r} is not an elementwise activation and cannot be a hidden layer here"
            )
    if len(names) == 1:
        return names[0]
    return [names[i % len(names)] for i in range(n_hidden)]


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _jsonable(obj):
    """Recursively convert numpy scalars and NaN (invalid in strict JSON) to plain values."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _finite_or_none(float(obj))
    if isinstance(obj, float):
        return _finite_or_none(obj)
    return obj


def _versions() -> dict[str, str]:
    """Versions of what decides the numbers: actlab, numpy, Python and the machine."""
    import actlab

    return {"actlab": actlab.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def _git_commit() -> str | None:
    """The commit of the actlab checkout that ran, or None outside a git checkout."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` measured.

    JSON-ready (what :meth:`to_json` writes):

    ``config``
        every setting of the run (activations, epochs, widths, seed, batch size, ...).
    ``data``
        the dataset's name and the sizes ``n_train``, ``n_val``, ``n_test``.
    ``results``
        per activation: ``test_accuracy``, ``test_loss``, ``final_val_accuracy``, ``seconds``,
        ``n_params``, ``history`` (lists per epoch) and, if asked, ``diagnostics``.
    ``seconds``
        wall time of the whole run.
    ``provenance``
        ``versions`` (actlab, numpy, Python, machine) and, for a command-line run, ``command``.

    Live objects, never serialised: ``histories`` (activation -> :class:`actlab.nn.History`),
    and with ``keep_models=True`` ``models`` (activation -> trained
    :class:`actlab.nn.Sequential`) and ``test_set`` (:class:`actlab.data.Dataset`).
    """

    config: dict
    data: dict
    results: dict
    seconds: float
    provenance: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict, repr=False)
    models: dict = field(default_factory=dict, repr=False)
    test_set: Any = field(default=None, repr=False)

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON (NaN written as null) of the JSON-ready fields."""
        payload = {"config": self.config, "data": self.data, "results": self.results,
                   "seconds": self.seconds, "provenance": self.provenance}
        return json.dumps(_jsonable(payload), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "ExperimentResult":
        """Read back what :meth:`to_json` wrote; ``histories`` are rebuilt from the per-epoch
        lists (without diagnostics), there are no models."""
        from actlab.nn import History

        payload = json.loads(text)
        histories = {}
        for name, r in payload["results"].items():
            h = {k: [math.nan if v is None else v for v in vals]
                 for k, vals in r["history"].items()}
            histories[name] = History(**h, n_train=payload["data"]["n_train"],
                                      n_val=payload["data"]["n_val"])
        return cls(payload["config"], payload["data"], payload["results"], payload["seconds"],
                   payload.get("provenance", {}), histories)

    def test_accuracy(self) -> dict[str, float]:
        """Test accuracy per activation, in the order they were trained."""
        return {name: r["test_accuracy"] for name, r in self.results.items()}


def run_experiment(
    activations: Sequence[str] = BASELINE_ACTIVATIONS,
    epochs: int = 10,
    depth=2,
    seed: int = 0,
    full: bool = False,
    *,
    batch_size: int = 32,
    lr: float = 1e-3,
    validation_split: float = 0.2,
    test_size: float | int = 0.2,
    subset: int | None = None,
    batchnorm: str | None = None,
    diagnostics: bool = False,
    dataset=None,
    cache_dir=None,
    progress: bool | None = None,
    keep_models: bool = False,
    blas_threads: int | None = 1,
) -> ExperimentResult:
    """Train one MLP per activation on MNIST and measure it on held-out test digits.

    Parameters
    ----------
    activations : sequence of str
        Hidden activations to compare (registry names, or ``"a/b"`` to mix per layer).
    epochs : int
        Passes over the training data (the baseline experiment uses 10).
    depth : int or sequence of int
        Number of hidden layers, or their widths; see :func:`hidden_widths`. 2 is the baseline
        784-128-64-10.
    seed : int
        Seeds the test split, the subset, the weights, the validation split and the shuffling.
    full : bool
        False: the 5,000 embedded digits, of which ``test_size`` (stratified) are the test set.
        True: the 70,000-digit MNIST with its official 60,000/10,000 train/test division.
    batch_size, lr, validation_split
        Adam with learning rate ``lr``; ``validation_split`` of the training digits are held
        out and evaluated after each epoch. Keras takes the *last* rows for this; actlab draws
        them with a seeded permutation (:func:`actlab.nn.train`), because the embedded digits
        are sorted by class and their last fifth holds only 8s and 9s.
    test_size : float or int
        Fraction or number of digits held out for testing (embedded set only).
    subset : int, optional
        Use only this many digits (class-balanced) before splitting -- for quick runs.
    batchnorm : None, 'before' or 'after'
        Batch normalisation in each hidden layer, before or after the activation.
    diagnostics : bool
        Record per-layer gradient norms, dead and saturated fractions after every epoch.
    dataset : actlab.data.Dataset, optional
        Use this dataset instead of MNIST (e.g. ``actlab.data.load_digits()``).
    cache_dir : path, optional
        Passed to :func:`actlab.data.load_mnist`.
    progress : bool, optional
        tqdm bars over activations and epochs; default only on a terminal.
    keep_models : bool
        Also keep the trained models and the test set (``models``, ``test_set``).
    blas_threads : int or None
        BLAS threads while training (``None``: leave numpy's default). One thread is the
        default because a batch of 32 makes matrices too small to gain from threads, and on a
        busy machine competing BLAS threads made training 10x slower in our measurements.

    Returns
    -------
    ExperimentResult
    """
    from threadpoolctl import threadpool_limits

    from actlab import data as data_mod
    from actlab import nn

    if isinstance(activations, str):
        activations = [a for a in activations.split(",") if a.strip()]
    activations = [a.strip() for a in activations]
    if not activations:
        raise ValueError("give at least one activation to compare")
    if len(set(activations)) != len(activations):
        raise ValueError(f"activations are repeated: {activations}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    hidden = hidden_widths(depth)
    # Validate every name before any training, so a typo costs nothing.
    specs = {name: parse_activation_spec(name, len(hidden)) for name in activations}

    start = time.perf_counter()
    if dataset is None:
        dataset = data_mod.load_mnist(full=full, cache_dir=cache_dir, progress=progress)
    if subset is not None:
        dataset = data_mod.stratified_subset(dataset, subset, seed=seed)
    if full and dataset.test_start is not None and subset is None:
        train_set = dataset.take(np.arange(dataset.test_start))
        test_set = dataset.take(np.arange(dataset.test_start, len(dataset)))
    else:
        train_set, _, test_set = data_mod.split(dataset, test_size=test_size, val_size=0, seed=seed)

    widths = [dataset.X.shape[1], *hidden, dataset.n_classes]
    results, histories, models = {}, {}, {}
    bar = util.progress(activations, enabled=progress, desc="activations", unit="model", leave=True)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for name in bar:
            bar.set_postfix(activation=name)
            t0 = time.perf_counter()
            model = nn.mlp(widths, activation=specs[name], seed=seed, batchnorm=batchnorm)
            history = nn.train(
                model,
                train_set.X,
                train_set.y,
                epochs=int(epochs),
                batch_size=batch_size,
                optimizer=nn.Adam(lr=lr),
                validation_split=validation_split,
                seed=seed,
                progress=progress,
                diagnostics=diagnostics,
            )
            test = nn.evaluate(model, test_set.X, test_set.y)
            histories[name] = history
            if keep_models:
                models[name] = model
            results[name] = {
                "test_accuracy": float(test.accuracy),
                "test_loss": float(test.loss),
                "final_val_accuracy": history.val_accuracy[-1] if history.val_accuracy else None,
                "seconds": time.perf_counter() - t0,
                "n_params": int(model.n_params()),
                "history": history.as_dict(),
            }
            if diagnostics:
                results[name]["diagnostics"] = history.diagnostics
    bar.close()
    n_val = next(iter(histories.values())).n_val
    return ExperimentResult(
        config={
            "activations": list(activations),
            "epochs": int(epochs),
            "widths": widths,
            "depth": len(hidden),
            "seed": int(seed),
            "full": bool(full),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "validation_split": float(validation_split),
            "test_size": test_size,
            "subset": subset,
            "batchnorm": batchnorm,
            "optimizer": "adam",
        },
        data={
            "name": dataset.name,
            "n_train": len(train_set) - n_val,
            "n_val": n_val,
            "n_test": len(test_set),
        },
        results=results,
        seconds=time.perf_counter() - start,
        provenance={"versions": _versions()},
        histories=histories,
        models=models,
        test_set=test_set if keep_models else None,
    )


def results_table(result: ExperimentResult) -> str:
    """A plain-text table of test accuracy, final validation accuracy and time per activation."""
    rows = []
    for name, r in result.results.items():
        val = r["final_val_accuracy"]
        rows.append(
            (name, f"{r['test_accuracy']:.4f}", "-" if val is None else f"{val:.4f}",
             f"{r['seconds']:.1f}")
        )
    return tabulate(rows, headers=("activation", "test acc", "val acc", "seconds"),
                    colalign=("left", "right", "right", "right"), disable_numparse=True)


def write_outputs(result: ExperimentResult, out_dir) -> dict[str, Path]:
    """Write ``results.json``, ``curves.png`` and, with diagnostics, ``grad_norms.png``.

    Returns the paths written, by kind. The plotting helpers draw outside pyplot (see
    :mod:`actlab.plotting`), so this works headless and leaves no figure open.
    """
    from actlab import plotting

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json"}
    paths["json"].write_text(result.to_json() + "\n", encoding="utf-8")

    figures = {"curves": plotting.training_curves(result.histories)}
    diag = {name: h.diagnostics for name, h in result.histories.items() if h.diagnostics}
    if diag:
        # The gradient-norm profile after the first epoch is where vanishing gradients show.
        figures["grad_norms"] = plotting.gradient_norms({name: d[0] for name, d in diag.items()})
    for kind, fig in figures.items():
        paths[kind] = out / f"{kind}.png"
        fig.savefig(paths[kind], dpi=120, bbox_inches="tight")
    return paths


# --------------------------------------------------------------------------- command line


def _depth_arg(text: str):
    """'3' -> 3 hidden layers; '256,128,64' -> those widths."""
    try:
        if "," in text:
            return hidden_widths([int(t) for t in text.split(",") if t.strip()])
        n_hidden = int(text)
        hidden_widths(n_hidden)
        return n_hidden
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--depth takes a number of hidden layers (e.g. 3) or comma-separated widths "
            f"(e.g. 256,128,64); got {text!r} ({err})"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``actlab experiment`` / ``python -m actlab.experiment``."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Reproduce the baseline experiment (source document 000): train an MLP on "
                    "MNIST once per hidden activation and compare accuracy curves and test "
                    "accuracy.",
    )
    p.add_argument("--activations", default=",".join(BASELINE_ACTIVATIONS),
                   help="comma-separated hidden activations; 'a/b' mixes them per layer "
                        "(default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=10, help="default: %(default)s")
    p.add_argument("--depth", type=_depth_arg, default=2,
                   help="number of hidden layers (128, then 64 wide) or comma-separated "
                        "widths (default: 2, i.e. 784-128-64-10)")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--full", action="store_true",
                   help="download the 70,000-digit MNIST (default: the 5,000 embedded digits)")
    p.add_argument("--subset", type=_positive_int, default=None,
                   help="use only this many digits, class-balanced (quick runs)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default: %(default)s")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="Adam learning rate (default: %(default)s)")
    p.add_argument("--validation-split", type=float, default=0.2, help="default: %(default)s")
    p.add_argument("--batchnorm", choices=("before", "after"), default=None,
                   help="batch normalisation before or after each hidden activation")
    p.add_argument("--diagnostics", action="store_true",
                   help="record per-layer gradient norms and write grad_norms.png")
    p.add_argument("--blas-threads", type=_positive_int, default=1,
                   help="BLAS threads while training (default: %(default)s; small batches "
                        "gain nothing from more)")
    p.add_argument("--out", default="experiment-results",
                   help="output folder (default: %(default)s)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: only on a terminal)")
    return p


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the experiment from the command line; returns the exit status (2 on bad input)."""
    from actlab import activations as act_mod

    parser = build_parser(prog)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv_list)
    names = [a.strip() for a in args.activations.split(",") if a.strip()]
    n_hidden = args.depth if isinstance(args.depth, int) else len(args.depth)
    try:
        for name in names:
            parse_activation_spec(name, n_hidden)
    except ValueError as err:
        # The registry's message already lists the valid names; argparse adds usage, exit 2.
        parser.error(f"argument --activations: {err}")
    if not names:
        parser.error("argument --activations: none given; valid names: "
                     f"{', '.join(act_mod.names())}")
    if not 0.0 <= args.validation_split < 1.0:
        parser.error("argument --validation-split: must lie in [0, 1)")
    try:
        result = run_experiment(
            names,
            epochs=args.epochs,
            depth=args.depth,
            seed=args.seed,
            full=args.full,
            batch_size=args.batch_size,
            lr=args.lr,
            validation_split=args.validation_split,
            subset=args.subset,
            batchnorm=args.batchnorm,
            diagnostics=args.diagnostics,
            progress=args.progress,
            blas_threads=args.blas_threads,
        )
    except Exception as err:  # data errors (offline, bad hash) deserve a message, not a trace
        from actlab.data import MNISTDownloadError, MNISTIntegrityError

        if isinstance(err, (MNISTDownloadError, MNISTIntegrityError)):
            print(f"error: {err}", file=sys.stderr)
            return 1
        raise
    result.provenance["command"] = " ".join([prog or "actlab experiment", shlex.join(argv_list)])
    result.provenance["git_commit"] = _git_commit()
    paths = write_outputs(result, args.out)
    d = result.data
    print(f"{d['name']}: {d['n_train']} training, {d['n_val']} validation, "
          f"{d['n_test']} test digits; widths {'-'.join(map(str, result.config['widths']))}, "
          f"{args.epochs} epochs")
    print(results_table(result))
    print(f"total {result.seconds:.1f} s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m actlab.experiment"))
