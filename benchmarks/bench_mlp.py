"""How fast is actlab's numpy MLP next to PyTorch on the course's MNIST configuration?

One epoch of chapter 5's baseline experiment: an MLP 784-128-64-10 with ReLU, Adam (lr 1e-3),
softmax cross-entropy, batch 32, float32, on the same rows for both (random MNIST-shaped data by
default: speed does not depend on the pixel values).  Both sides start from the same weights,
shuffle with the same permutation, and accumulate the epoch's loss and accuracy, so they do the same
arithmetic.  ``numpy`` is ``nn.train`` as the course runs it (``fast=True``: parameters in one flat
array while training, see actlab.fastpath); ``numpy_plain`` is ``fast=False``, the layers' arrays
stepped one by one, to show what that switch buys.  Runs are interleaved (numpy, numpy_plain, torch,
torch_fused, then rotated) so that a burst of load on a shared machine hits all alike; the script
prints every run, the medians and the ratios numpy / torch (below 1.0 means numpy is faster).

Threads: numpy's BLAS pool (threadpoolctl) and ``torch.set_num_threads`` get the same count for
each setting of ``--threads`` (default: 1 and numpy's own default).

    .venv/bin/python benchmarks/bench_mlp.py                 # as the machine is configured
    .venv/bin/python benchmarks/bench_mlp.py --runs 9 --rows 4000 --threads 1 2
    .venv/bin/python benchmarks/bench_mlp.py --unset-coretype   # also a child without
                                                                # OPENBLAS_CORETYPE

Requires benchmarks/requirements.txt (torch, CPU build).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm.auto import tqdm

from actlab import nn

WIDTHS = [784, 128, 64, 10]


def make_data(rows: int, seed: int = 0):
    """MNIST-shaped rows: ``X (rows, 784)`` float32 in [0, 1) and labels ``(rows,)`` int64."""
    rng = np.random.default_rng(seed)
    return rng.random((rows, WIDTHS[0]), dtype=np.float32), rng.integers(0, 10, rows)


def numpy_model(seed: int):
    return nn.mlp(WIDTHS, activation="relu", seed=seed)


def torch_model_like(model, torch):
    """A torch MLP holding the same initial weights as the numpy ``model``."""
    dense = [layer for layer in model.layers if isinstance(layer, nn.Dense)]
    modules = []
    for i, d in enumerate(dense):
        lin = torch.nn.Linear(d.n_in, d.n_out)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(d.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(d.b.copy()))
        modules.append(lin)
        if i < len(dense) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def numpy_epoch(model, X, y, seed: int, fast: bool = True) -> float:
    """Seconds for one epoch of :func:`actlab.nn.train` (no validation split, no progress)."""
    optimizer = nn.Adam(lr=1e-3)
    start = time.perf_counter()
    nn.train(model, X, y, epochs=1, batch_size=32, optimizer=optimizer, validation_split=0.0,
             seed=seed, progress=False, fast=fast)
    return time.perf_counter() - start


def torch_epoch(model, X, y, seed: int, torch, fused: bool) -> float:
    """Seconds for the same epoch written the usual way in PyTorch.

    The permutation comes from the same numpy generator as ``nn.train`` uses, the epoch's rows
    are gathered once and sliced (no DataLoader, whose per-batch overhead would dominate), and
    the loss and the number of correct predictions are accumulated as tensors.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(X)))
    Xe, ye = X[perm], y[perm]
    total_loss = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    for s in range(0, len(X), 32):
        xb, yb = Xe[s:s + 32], ye[s:s + 32]
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            total_loss += loss.detach() * len(xb)
            correct += (logits.argmax(dim=1) == yb).sum()
    float(total_loss), int(correct)  # the history values, as nn.train computes them
    return time.perf_counter() - start


def measure(threads: int, runs: int, rows: int, warmup: int = 1) -> dict:
    import torch

    X, y = make_data(rows)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    torch.set_num_threads(threads)
    times: dict[str, list[float]] = {"numpy": [], "numpy_plain": [], "torch": [],
                                     "torch_fused": []}
    kinds = list(times)
    with threadpool_limits(limits=threads, user_api="blas"):
        for r in tqdm(range(warmup + runs), desc=f"{threads} thread(s)", leave=False,
                      disable=None):
            # Rotate the order so that no side always runs first after a pause.
            order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
            for kind in order:
                seed = 1000 + r
                base = numpy_model(seed)
                if kind.startswith("numpy"):
                    t = numpy_epoch(base, X, y, seed, fast=kind == "numpy")
                else:
                    t = torch_epoch(torch_model_like(base, torch), Xt, yt, seed, torch,
                                    fused=kind == "torch_fused")
                if r >= warmup:
                    times[kind].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    # Runs of one round share the machine's load of the moment, so the median of the per-round
    # ratios is steadier than the ratio of medians when other jobs come and go.
    pairs = [("numpy", "torch"), ("numpy", "torch_fused"), ("numpy_plain", "torch"),
             ("numpy", "numpy_plain")]
    ratios = {f"{a}/{b}": {"of_medians": med[a] / med[b],
                           "paired": statistics.median(x / y for x, y in zip(times[a], times[b]))}
              for a, b in pairs}
    return {"threads": threads, "runs": times, "median": med, "ratios": ratios,
            "load_average": os.getloadavg()}


def environment() -> dict:
    import torch

    blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "cpu": cpu, "cores": os.cpu_count(),
            "numpy_blas": blas, "torch_default_threads": torch.get_num_threads(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)")}


def report(env: dict, results: list[dict], rows: int) -> None:
    steps = -(-rows // 32)
    print(f"MLP {'-'.join(map(str, WIDTHS))}, ReLU, Adam, batch 32, float32, "
          f"one epoch of {rows} rows ({-(-rows // 32)} steps)")
    print(f"python {env['python']}, numpy {env['numpy']}, torch {env['torch']}, "
          f"{env['cpu']} ({env['cores']} cores)")
    for b in env["numpy_blas"]:
        print(f"numpy BLAS: {b['internal_api']} {b['version']}, kernel {b['architecture']}, "
              f"default threads {b['num_threads']}")
    print(f"torch default threads {env['torch_default_threads']}; "
          f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}")
    load = ", ".join(f"{x:.1f}" for x in env["load_average_before"])
    print(f"load average before (1, 5, 15 min): {load}; on a shared machine expect spread")
    for res in results:
        print(f"\nthreads: numpy BLAS = torch.set_num_threads = {res['threads']}")
        for kind, ts in res["runs"].items():
            runs = " ".join(f"{t * 1e3:7.1f}" for t in ts)
            per_step = res["median"][kind] / steps * 1e6
            print(f"  {kind:<12} median {res['median'][kind] * 1e3:7.1f} ms "
                  f"({per_step:6.0f} µs/step)   runs: {runs}")
        for pair, ratio in res["ratios"].items():
            print(f"  ratio {pair:<24} = {ratio['of_medians']:.3f} (of medians), "
                  f"{ratio['paired']:.3f} (median of per-round ratios)")
        load = ", ".join(f"{x:.1f}" for x in res["load_average"])
        print(f"  load average after these runs (1, 5, 15 min): {load}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="rows in the epoch (4000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per side (7)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts to try (default: 1 and numpy's default)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--unset-coretype", action="store_true",
                        help="also measure in a child process without OPENBLAS_CORETYPE")
    args = parser.parse_args(argv)
    if args.rows < 32 or args.runs < 1:
        parser.error("need --rows >= 32 and --runs >= 1")
    blas_threads = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    threads = args.threads or sorted({1, *(blas_threads[:1] or [1])})
    env = environment()
    env["load_average_before"] = os.getloadavg()
    results = [measure(t, args.runs, args.rows) for t in threads]
    report(env, results, args.rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "results": results}, fh, indent=2)
    if args.unset_coretype:
        print("\n--- again with OPENBLAS_CORETYPE removed from the environment ---")
        if "OPENBLAS_CORETYPE" not in os.environ:
            print("(OPENBLAS_CORETYPE is not set here: the run above already is that case)")
        else:
            child_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--runs", str(args.runs),
                   "--threads", *map(str, threads)]
            subprocess.run(cmd, env=child_env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
