"""Figures for the book, drawn from :mod:`actlab` so every curve comes from the formula it shows.

Each helper returns the matplotlib :class:`~matplotlib.figure.Figure` it drew on and never calls
``plt.show()``. New figures are created outside pyplot, so in a notebook make the figure the
cell's value (or ``display(fig)``) to show it exactly once; in scripts save it with
``fig.savefig(path)``. Nothing needs closing: an unreferenced figure is simply collected.
When you pass your own ``ax``, the figure is yours and is drawn on as usual.

Where the book uses each helper:

* :func:`plot_function_and_derivative` — chapters 1–4 (``book/01_nonlinearity.md`` …
  ``book/04_variants.md``), one activation or a few side by side with their derivatives.
* :func:`comparison_grid` — chapter 4 (``book/04_variants.md``), every activation from source
  document 003 on one page, and the properties table of chapter 5.
* :func:`training_curves` — chapter 5 (``book/05_choosing.md``), the MNIST experiment's accuracy
  per epoch (training and validation) for each activation.
* :func:`gradient_norms` — chapters 2 and 5 (``book/02_saturation.md``,
  ``book/05_choosing.md``), per-layer gradient norms on a log scale: vanishing gradients
  through depth, and the gradients after the first epoch of the MNIST experiment.

Lines carry a ``gid`` such as ``"tanh:function"`` or ``"tanh:derivative"`` so that tests (and
readers) can find a particular curve.

Colours come from the Okabe–Ito palette (:data:`PALETTE`), which stays distinguishable with
every common form of colour blindness, and every series also gets its own line style
(:data:`LINESTYLES`), marker or hatch, so that no figure relies on colour alone.
:func:`use_style` sets the same cycle for a chapter's own matplotlib code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from actlab import activations as A

__all__ = [
    "DEFAULT_X",
    "PALETTE",
    "LINESTYLES",
    "MARKERS",
    "HATCHES",
    "series_style",
    "use_style",
    "plot_function_and_derivative",
    "comparison_grid",
    "training_curves",
    "gradient_norms",
]

#: Default inputs: wide enough to show saturation, fine enough that kinks look sharp.
DEFAULT_X = np.linspace(-5.0, 5.0, 1001)

#: Okabe & Ito's colour-blind-safe palette, in the order series use it: blue, vermillion,
#: bluish green, reddish purple, orange, sky blue, black; yellow, faint on white, comes last.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
#: The second cue: series i also gets LINESTYLES[i] (and MARKERS[i] or HATCHES[i]).
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)),
              (0, (3, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")


def series_style(i: int) -> dict[str, Any]:
    """Colour and line style of the i-th series of a figure (cycling after eight)."""
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def use_style() -> None:
    """Make matplotlib's default cycle the course's: Okabe–Ito colours, each with its own line
    style. Chapters call it once, so their own ``ax.plot`` calls follow it too."""
    matplotlib.rcParams["axes.prop_cycle"] = (cycler(color=list(PALETTE))
                                              + cycler(linestyle=list(LINESTYLES)))
    matplotlib.rcParams["image.cmap"] = "cividis"


def _enable_notebook_display() -> None:
    """Let Jupyter render a returned Figure even if the notebook never used pyplot.

    IPython learns to display Figures when the inline backend module is loaded, which normally
    happens on the first pyplot figure. Our figures bypass pyplot, so load it here, and only
    when it is the configured backend (never under Agg). Before any pyplot figure exists there
    is nothing for its backend switch to close.
    """
    backend = matplotlib.get_backend(auto_select=False)
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        import matplotlib_inline.backend_inline  # noqa: F401  (registers the formatter)


def _new_figure(nrows: int, ncols: int, width: float, height: float,
                sharey: bool = False) -> tuple[Figure, np.ndarray]:
    # Figure() rather than plt.figure(): pyplot would keep every figure alive and the notebook's
    # inline backend would show a returned figure twice (once as the cell's value, once on
    # flush). An unmanaged Figure is shown once, is collected when unused, and is safe in
    # worker processes.
    _enable_notebook_display()
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharey=sharey))
    axes = axes.reshape(nrows, ncols)
    return fig, axes


def _inputs(x: Any) -> np.ndarray:
    xs = DEFAULT_X if x is None else np.asarray(x, dtype=np.float64)
    if xs.ndim != 1 or xs.size < 2:
        raise ValueError(f"x must be a 1-d array of at least 2 points, got shape {xs.shape}")
    return xs


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                     for k, v in params.items())


def _curves(name_or_names: Any, params: Any) -> list[tuple[A.Activation, dict, str]]:
    """Normalise the many ways of naming curves into (activation, params, legend label).

    Accepted: a name, an Activation, a list of either, or a list of ``(name, params)`` pairs
    (to draw one activation with several parameters, e.g. Swish for three β). ``params`` is a
    dict of parameters for a single activation, or a dict from name to such a dict.
    """
    is_pair = (isinstance(name_or_names, tuple) and len(name_or_names) == 2
               and isinstance(name_or_names[1], Mapping))
    single = isinstance(name_or_names, (str, A.Activation)) or is_pair
    items = [name_or_names] if single else list(name_or_names)
    if not items:
        raise ValueError("give at least one activation to plot")
    params = dict(params or {})
    per_name = bool(params) and all(isinstance(v, Mapping) for v in params.values())
    curves = []
    for item in items:
        own: dict = {}
        if isinstance(item, tuple):
            item, own = item
        act = A.get(item)
        if not act.elementwise:
            raise ValueError(
                f"{act.name} is not elementwise, so it has no curve f(x) and derivative f'(x) "
                "to draw; plot it for a fixed vector instead"
            )
        merged = {**(params.get(act.name, {}) if per_name else params), **own}
        label = act.label + (f" ({_describe(merged)})" if merged else "")
        curves.append((act, merged, label))
    return curves


def _draw(ax_f: Axes, ax_d: Axes, act: A.Activation, p: dict, label: str, xs: np.ndarray,
          i: int, n: int) -> None:
    """Curve i of n: its own colour and line style; earlier curves are drawn wider, so a curve
    that coincides with a later one (ReLU and Leaky ReLU for x > 0) still shows beside it."""
    width = 1.5 + 1.2 * (n - 1 - i) / max(n - 1, 1)
    style = series_style(i)
    if ax_f is ax_d:  # one panel: the derivative is told apart by its dashes
        ax_f.plot(xs, act(xs, **p), color=style["color"], linestyle="-", linewidth=width,
                  label=label, gid=f"{act.name}:function")
        ax_d.plot(xs, act.grad(xs, **p), color=style["color"], linestyle="--", linewidth=width,
                  label=f"{label}′", gid=f"{act.name}:derivative")
        return
    ax_f.plot(xs, act(xs, **p), **style, linewidth=width, label=label,
              gid=f"{act.name}:function")
    ax_d.plot(xs, act.grad(xs, **p), **style, linewidth=width, label=label,
              gid=f"{act.name}:derivative")


def plot_function_and_derivative(name_or_names: Any, x: Any = None, ax: Any = None,
                                 params: Any = None) -> Figure:
    """Draw activations (left) and their derivatives from :mod:`actlab.activations` (right).

    Used in chapters 1–4 wherever an activation is introduced.

    Parameters
    ----------
    name_or_names : a registry name (``"tanh"``), an :class:`~actlab.activations.Activation`, a
        list of them, or a list of ``(name, params)`` pairs such as
        ``[("swish", {"beta": 0.5}), ("swish", {"beta": 5})]``.
    x : 1-d array of inputs, float64; default :data:`DEFAULT_X` (−5 to 5).
    ax : ``None`` for a new figure with two panels; a pair of Axes ``(ax_function,
        ax_derivative)``; or a single Axes, which then holds the function (solid) and the
        derivative (dashed) together.
    params : parameters of a single activation (``{"alpha": 0.1}``) or a dict from name to
        parameters (``{"elu": {"alpha": 0.5}}``).

    Returns
    -------
    The Figure drawn on. Curves have ``gid`` ``"<name>:function"`` / ``"<name>:derivative"``.
    """
    xs = _inputs(x)
    curves = _curves(name_or_names, params)
    if ax is None:
        fig, axes = _new_figure(1, 2, 9.0, 3.4)
        ax_f, ax_d = axes[0]
    elif isinstance(ax, Axes):
        ax_f = ax_d = ax
    else:
        ax_f, ax_d = ax
    for i, (act, p, label) in enumerate(curves):
        _draw(ax_f, ax_d, act, p, label, xs, i, len(curves))
    single = curves[0][2] if len(curves) == 1 else None
    if ax_f is ax_d:
        ax_f.set_title(f"{single} and its derivative" if single else "activations and derivatives")
    else:
        ax_f.set_title(single or "activations")
        ax_d.set_title(f"derivative of {single}" if single else "derivatives")
        ax_d.set_ylabel("f′(x)")
        ax_d.set_xlabel("x")
    ax_f.set_xlabel("x")
    ax_f.set_ylabel("f(x)")
    for a in {ax_f, ax_d}:
        a.grid(True, alpha=0.3)
        if len(curves) > 1 or a is ax_f is ax_d:
            a.legend(fontsize="small")
    return ax_f.figure


def comparison_grid(names: Iterable[Any], x: Any = None, ncols: int = 4,
                    params: Any = None) -> Figure:
    """One small panel per activation: the function (solid, left axis) and its derivative
    (dashed, another colour, on its own right-hand axis).

    Used in chapter 4 to put every activation of source document 003 side by side. The
    derivative has its own scale because it is often much smaller than the function; its value
    at the left end is also written in the panel, so that a slope such as Leaky ReLU's 0.01
    reads as a number rather than as a line indistinguishable from ReLU's 0. Panels are titled
    with the activation's label and its ``saturates`` property; unused cells of the last row
    are removed.

    Parameters
    ----------
    names : names, Activations or ``(name, params)`` pairs (as for
        :func:`plot_function_and_derivative`); only elementwise activations.
    x : 1-d inputs; default :data:`DEFAULT_X`.
    ncols : panels per row (≥ 1).
    params : as for :func:`plot_function_and_derivative`.

    Returns the Figure; ``fig.axes[:n]`` are the n function panels in order, and each holds
    its derivative axis in the attribute ``derivative_axes``.
    """
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    xs = _inputs(x)
    curves = _curves(list(names) if not isinstance(names, str) else [names], params)
    ncols = min(int(ncols), len(curves))
    nrows = -(-len(curves) // ncols)
    fig, axes = _new_figure(nrows, ncols, 2.6 * ncols, 2.3 * nrows)
    flat = axes.ravel()
    f_style = {"color": PALETTE[0], "linestyle": "-", "linewidth": 1.8}
    d_style = {"color": PALETTE[1], "linestyle": "--", "linewidth": 1.6}
    for ax, (act, p, label) in zip(flat, curves):
        ax.plot(xs, act(xs, **p), **f_style, label="f(x)", gid=f"{act.name}:function")
        ax_d = ax.twinx()
        d = act.grad(xs, **p)
        ax_d.plot(xs, d, **d_style, label="f′(x)", gid=f"{act.name}:derivative")
        ax_d.tick_params(axis="y", colors=PALETTE[1], labelsize="x-small")
        ax.tick_params(labelsize="x-small")
        ax.derivative_axes = ax_d
        ax_d.text(0.03, 0.92, f"f′({xs[0]:g}) = {d[0]:.2g}", transform=ax_d.transAxes,
                  fontsize="x-small", color=PALETTE[1], va="top",
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
                  gid=f"{act.name}:left_slope")
        ax.set_title(f"{label}\nsaturates: {act.saturates}", fontsize="small")
        ax.axhline(0, color="0.6", linewidth=0.6, gid="zero")
        ax.grid(True, alpha=0.3)
    for ax in flat[len(curves):]:
        fig.delaxes(ax)
    first = flat[0]
    first.legend(first.lines[:1] + first.derivative_axes.lines[:1], ["f(x)", "f′(x)"],
                 fontsize="x-small", loc="center left")
    return fig


def _series(history: Any, key: str) -> list[float]:
    """``history.key`` for an actlab History, ``history[key]`` for a dict, Keras' ``.history``."""
    for source in (history, getattr(history, "history", None)):
        if source is None:
            continue
        if isinstance(source, Mapping) and key in source:
            return list(source[key])
        if not isinstance(source, Mapping) and hasattr(source, key):
            return list(getattr(source, key))
    raise ValueError(f"history has no {key!r} series")


def training_curves(histories: Mapping[str, Any], metric: str = "accuracy",
                    ax: Any = None) -> Figure:
    """Training (left) and validation (right) ``metric`` per epoch, one colour per activation.

    Used in chapter 5 for the MNIST experiment of source document 000 (MLP 128-64-10, Adam, batch
    32, validation split 0.2), reproduced with :func:`actlab.nn.train`.

    Parameters
    ----------
    histories : dict from a label (usually the activation's name) to a History-like object with
        lists ``metric`` and ``"val_" + metric`` (an :class:`actlab.nn.History`, a dict, or a
        Keras History). A run without validation draws only its training curve.
    metric : ``"accuracy"`` (default) or ``"loss"``.
    ax : ``None`` for a new figure, or a pair of Axes ``(ax_train, ax_val)``.

    Returns the Figure; lines have ``gid`` ``"<label>:train"`` and ``"<label>:val"``; epochs
    are numbered from 1.
    """
    if not histories:
        raise ValueError("give at least one history to plot")
    if ax is None:
        # A shared y-axis makes the gap between training and validation readable at a glance.
        fig, axes = _new_figure(1, 2, 9.0, 3.4, sharey=True)
        ax_train, ax_val = axes[0]
    else:
        ax_train, ax_val = ax
    for i, (label, history) in enumerate(histories.items()):
        train = _series(history, metric)
        try:
            val = _series(history, f"val_{metric}")
        except ValueError:
            val = []
        style = {**series_style(i), "marker": MARKERS[i % len(MARKERS)], "markersize": 4}
        ax_train.plot(np.arange(1, len(train) + 1), train, **style, label=label,
                      gid=f"{label}:train")
        if val:
            ax_val.plot(np.arange(1, len(val) + 1), val, **style, label=label,
                        gid=f"{label}:val")
    for a, title in ((ax_train, "training"), (ax_val, "validation")):
        a.set_title(f"{title} {metric}")
        a.set_xlabel("epoch")
        a.set_ylabel(metric)
        a.grid(True, alpha=0.3)
        a.xaxis.get_major_locator().set_params(integer=True)
    ax_train.legend(fontsize="small")
    return ax_train.figure


def _norms(values: Any) -> np.ndarray:
    """Per-layer gradient norms from floats or from :func:`actlab.nn.layer_diagnostics` rows."""
    values = list(values)
    if values and isinstance(values[0], Mapping):
        values = [row["grad_norm"] for row in values]
    norms = np.asarray(values, dtype=np.float64)
    if norms.ndim != 1 or norms.size == 0:
        raise ValueError(f"expected a non-empty list of per-layer norms, got shape {norms.shape}")
    if np.any(norms < 0) or not np.all(np.isfinite(norms)):
        raise ValueError("gradient norms must be finite and non-negative")
    return norms


def gradient_norms(diagnostics: Mapping[str, Any], ax: Axes | None = None,
                   kind: str = "bars") -> Figure:
    """Gradient norm of each layer's weights, log scale, one colour per activation.

    Used in chapter 2 (vanishing gradients: sigmoid's norms fall by orders of magnitude towards
    the input, while tanh and ReLU keep them level) and chapter 5 (the MNIST experiment).

    Parameters
    ----------
    diagnostics : dict from a label (activation name) to per-layer gradient norms, input layer
        first: a list of floats, or the list of dicts from :func:`actlab.nn.layer_diagnostics`
        (its ``grad_norm`` entries are used).
    ax : an Axes to draw on, or ``None`` for a new figure.
    kind : ``"bars"`` (grouped bars per layer) or ``"lines"`` (one line per activation).

    The y-axis is logarithmic unless every norm is 0 (a fully dead network); a zero norm has no
    visible bar on the log axis. Returns the Figure. Bars are grouped as one container per label
    (``ax.containers``, whose ``get_label()`` is the label; each bar has ``gid`` ``"<label>"``);
    lines have ``gid`` ``"<label>"``. Layers are numbered from 1.
    """
    if kind not in ("bars", "lines"):
        raise ValueError(f"kind must be 'bars' or 'lines', got {kind!r}")
    if not diagnostics:
        raise ValueError("give at least one set of gradient norms to plot")
    if ax is None:
        fig, axes = _new_figure(1, 1, 6.0, 3.6)
        ax = axes[0, 0]
    series = {label: _norms(v) for label, v in diagnostics.items()}
    n_layers = max(len(v) for v in series.values())
    layers = np.arange(1, n_layers + 1)
    width = 0.8 / len(series)
    for i, (label, norms) in enumerate(series.items()):
        pos = np.arange(1, len(norms) + 1)
        if kind == "bars":
            bars = ax.bar(pos + (i - (len(series) - 1) / 2) * width, norms, width=width,
                          label=label, color=PALETTE[i % len(PALETTE)],
                          hatch=HATCHES[i % len(HATCHES)], edgecolor="white", linewidth=0.4)
            for patch in bars.patches:
                patch.set_gid(label)
        else:
            ax.plot(pos, norms, **series_style(i), marker=MARKERS[i % len(MARKERS)],
                    label=label, gid=label)
    # Norms spanning orders of magnitude are the point of the figure, hence the log axis; a
    # network whose gradients are all exactly zero (every unit dead) cannot be log-scaled.
    if any(np.any(norms > 0) for norms in series.values()):
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "every gradient is exactly 0", transform=ax.transAxes,
                ha="center", va="center")
    # Plain numbers: "layer 10" labels would run into each other in a deep network.
    ax.set_xticks(layers, [str(i) for i in layers])
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖")
    ax.set_title("gradient norm per layer")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    # Outside the axes: inside, the legend sat on the first layers' bars, the ones that matter.
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax.figure
