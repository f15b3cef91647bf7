"""Tests of actlab.plotting: the figures have the panels and curves the book relies on, and the
plotted data is exactly what actlab computes."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from actlab import activations as A  # noqa: E402
from actlab import plotting as P  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _line(ax, gid):
    found = [line for line in ax.lines if line.get_gid() == gid]
    assert len(found) == 1, f"expected one line with gid {gid!r}, got {len(found)}"
    return found[0]


def test_function_and_derivative_are_side_by_side_with_actlab_data():
    """Does plot_function_and_derivative draw f on the left and actlab's f' on the right?"""
    fig = P.plot_function_and_derivative("tanh")
    assert isinstance(fig, Figure)
    ax_f, ax_d = fig.axes
    f, d = _line(ax_f, "tanh:function"), _line(ax_d, "tanh:derivative")
    np.testing.assert_array_equal(f.get_xdata(), P.DEFAULT_X)
    np.testing.assert_array_equal(f.get_ydata(), A.tanh(P.DEFAULT_X))
    np.testing.assert_array_equal(d.get_ydata(), A.tanh_grad(P.DEFAULT_X))


def test_several_activations_share_the_two_panels_with_their_parameters():
    """With several names and parameters, is each curve drawn with those parameters and labelled?"""
    x = np.linspace(-3, 3, 61)
    fig = P.plot_function_and_derivative(["relu", "elu", ("swish", {"beta": 3.0})], x=x,
                                         params={"elu": {"alpha": 0.5}})
    ax_f, ax_d = fig.axes
    assert len(ax_f.lines) == len(ax_d.lines) == 3
    np.testing.assert_array_equal(_line(ax_d, "elu:derivative").get_ydata(), A.elu_grad(x, 0.5))
    np.testing.assert_array_equal(_line(ax_f, "swish:function").get_ydata(), A.swish(x, 3.0))
    labels = [t.get_text() for t in ax_f.get_legend().get_texts()]
    assert labels == ["ReLU", "ELU (alpha=0.5)", "Swish (beta=3)"]


def test_single_axes_holds_function_solid_and_derivative_dashed():
    """Given one Axes, are f (solid) and f' (dashed) drawn on it and its figure returned?"""
    fig, ax = plt.subplots()
    out = P.plot_function_and_derivative("sigmoid", ax=ax)
    assert out is fig and len(fig.axes) == 1
    assert _line(ax, "sigmoid:function").get_linestyle() == "-"
    d = _line(ax, "sigmoid:derivative")
    assert d.get_linestyle() == "--"
    np.testing.assert_array_equal(d.get_ydata(), A.sigmoid_grad(P.DEFAULT_X))


def test_plotting_a_non_elementwise_activation_is_refused():
    """Is softmax (no f'(x) curve) a ValueError, and an unknown name the registry's ValueError?"""
    with pytest.raises(ValueError, match="not elementwise"):
        P.plot_function_and_derivative("softmax")
    with pytest.raises(ValueError, match="valid names"):
        P.plot_function_and_derivative("sigmoidd")


def test_comparison_grid_has_one_panel_per_activation():
    """For 6 names and 4 columns, are there exactly 6 panels (2 rows, spare cells removed), each
    titled with its label, holding actlab's function and, on its own axis, its derivative?"""
    names = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "mish"]
    fig = P.comparison_grid(names, ncols=4)
    panels = fig.axes[:6]
    assert len(fig.axes) == 12  # each panel and its derivative's twin axis
    assert panels[0].get_gridspec().get_geometry() == (2, 4)
    for ax, name in zip(panels, names):
        assert A.get(name).label in ax.get_title()
        np.testing.assert_array_equal(_line(ax, f"{name}:function").get_ydata(),
                                      A.get(name)(P.DEFAULT_X))
        np.testing.assert_array_equal(_line(ax.derivative_axes, f"{name}:derivative").get_ydata(),
                                      A.get(name).grad(P.DEFAULT_X))


def test_comparison_grid_separates_function_and_derivative_and_prints_the_left_slope():
    """Do f and f' differ in colour and line style, and does each panel write f' at its left
    end, so that Leaky ReLU's slope 0.01 is readable beside ReLU's 0?"""
    fig = P.comparison_grid(["relu", "leaky_relu"], ncols=2)
    relu, leaky = fig.axes[:2]
    f, d = _line(relu, "relu:function"), _line(relu.derivative_axes, "relu:derivative")
    assert f.get_color() != d.get_color() and f.get_linestyle() != d.get_linestyle()
    texts = {t.get_gid(): t.get_text() for ax in (relu, leaky) for t in ax.derivative_axes.texts}
    assert texts["relu:left_slope"] == "f′(-5) = 0"
    assert texts["leaky_relu:left_slope"] == "f′(-5) = 0.01"


def test_curves_use_the_colour_blind_safe_palette_with_distinct_line_styles():
    """Are overlapping curves (ReLU and Leaky ReLU agree for x > 0) drawn in Okabe-Ito colours,
    each with its own line style, the earlier one wider so that both stay visible?"""
    fig = P.plot_function_and_derivative(["relu", ("leaky_relu", {"alpha": 0.1})])
    relu, leaky = _line(fig.axes[0], "relu:function"), _line(fig.axes[0], "leaky_relu:function")
    assert {relu.get_color(), leaky.get_color()} <= set(P.PALETTE)
    assert relu.get_color() != leaky.get_color()
    assert relu.get_linestyle() != leaky.get_linestyle()
    assert relu.get_linewidth() > leaky.get_linewidth()


def test_use_style_sets_the_palette_and_line_styles_for_chapter_code():
    """After use_style(), do a chapter's own ax.plot calls get Okabe-Ito colours and a new line
    style per series?"""
    with matplotlib.rc_context():
        P.use_style()
        fig, ax = plt.subplots()
        lines = [ax.plot([0, 1], [i, i])[0] for i in range(3)]
        assert [ln.get_color() for ln in lines] == list(P.PALETTE[:3])
        assert len({ln.get_linestyle() for ln in lines}) == 3


def test_comparison_grid_rejects_a_bad_column_count():
    """Is ncols = 0 a ValueError?"""
    with pytest.raises(ValueError, match="ncols"):
        P.comparison_grid(["relu"], ncols=0)


def test_training_curves_plot_each_history_in_both_panels():
    """Are training and validation accuracy drawn per activation against epochs 1..n?"""
    from actlab.nn import History

    histories = {
        "relu": History(accuracy=[0.8, 0.9, 0.95], val_accuracy=[0.78, 0.88, 0.9]),
        "sigmoid": {"accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.5, 0.6, 0.7]},
    }
    fig = P.training_curves(histories)
    ax_train, ax_val = fig.axes
    for name, h in histories.items():
        acc = h.accuracy if isinstance(h, History) else h["accuracy"]
        val = h.val_accuracy if isinstance(h, History) else h["val_accuracy"]
        train_line, val_line = _line(ax_train, f"{name}:train"), _line(ax_val, f"{name}:val")
        np.testing.assert_array_equal(train_line.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(train_line.get_ydata(), acc)
        np.testing.assert_array_equal(val_line.get_ydata(), val)
    assert "validation" in ax_val.get_title()
    assert ax_train.get_shared_y_axes().joined(ax_train, ax_val), "panels share the y-axis"


def test_training_curves_without_validation_draw_only_the_training_curve():
    """Does a run with no validation series get a training line and no validation line?"""
    fig = P.training_curves({"relu": {"loss": [2.0, 1.0]}}, metric="loss")
    ax_train, ax_val = fig.axes
    np.testing.assert_array_equal(_line(ax_train, "relu:train").get_ydata(), [2.0, 1.0])
    assert len(ax_val.lines) == 0


def test_training_curves_name_the_missing_series():
    """Does a history without the requested metric raise a ValueError naming it?"""
    with pytest.raises(ValueError, match="'loss'"):
        P.training_curves({"relu": {"accuracy": [0.5]}}, metric="loss")


@pytest.mark.parametrize("kind", ["bars", "lines"])
def test_gradient_norms_are_drawn_per_layer_on_a_log_scale(kind):
    """Are per-layer norms (floats or layer_diagnostics rows) drawn on a log y-axis, layer by
    layer?"""
    sigmoid = [1e-6, 1e-4, 1e-2, 0.5]
    relu_rows = [{"layer": i, "grad_norm": g} for i, g in enumerate([0.3, 0.4, 0.5, 0.5])]
    fig = P.gradient_norms({"sigmoid": sigmoid, "relu": relu_rows}, kind=kind)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(1, 5)]
    assert ax.get_xlabel().startswith("layer")
    if kind == "bars":
        assert [c.get_label() for c in ax.containers] == ["sigmoid", "relu"]
        heights = [[p.get_height() for p in c.patches] for c in ax.containers]
        np.testing.assert_array_equal(heights, [sigmoid, [0.3, 0.4, 0.5, 0.5]])
    else:
        np.testing.assert_array_equal(_line(ax, "sigmoid").get_ydata(), sigmoid)
        np.testing.assert_array_equal(_line(ax, "relu").get_xdata(), [1, 2, 3, 4])


def test_gradient_norms_legend_does_not_cover_the_bars():
    """Is the legend drawn outside the axes, clear of every bar (inside, it would cover the
    first layer's bars)?"""
    fig = P.gradient_norms({"sigmoid": [1e-6, 1e-3, 0.5], "tanh": [0.1, 0.2, 0.3],
                            "relu": [0.3, 0.3, 0.3]})
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    for container in ax.containers:
        for bar in container.patches:
            assert not legend.overlaps(bar.get_window_extent())
    assert legend.x0 >= ax.get_window_extent().x1 - 1  # right of the plotting area
    hatches = [c.patches[0].get_hatch() for c in ax.containers]
    assert len(set(hatches)) == 3  # a second cue besides colour


def test_gradient_norms_accept_real_layer_diagnostics():
    """Do the rows of actlab.nn.layer_diagnostics from a real small network plot as one bar each?"""
    from actlab import nn

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 8)).astype(np.float32), rng.integers(0, 3, size=32)
    rows = nn.layer_diagnostics(nn.mlp([8, 6, 5, 3], activation="sigmoid", seed=0), X, y)
    fig = P.gradient_norms({"sigmoid": rows})
    heights = [p.get_height() for p in fig.axes[0].containers[0].patches]
    np.testing.assert_allclose(heights, [r["grad_norm"] for r in rows])


def test_gradient_norms_of_a_dead_network_still_draw():
    """With every norm exactly 0 (all units dead), is the figure drawn linearly and without
    warning?"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = P.gradient_norms({"relu": [0.0, 0.0, 0.0]})
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    assert any("0" in t.get_text() for t in ax.texts)


def test_gradient_norms_reject_negative_values():
    """Is a negative 'norm' a ValueError?"""
    with pytest.raises(ValueError, match="non-negative"):
        P.gradient_norms({"relu": [0.1, -1.0]})


def test_figures_render_headless_without_warnings(tmp_path):
    """Does every helper render to PNG under Agg with no warning (missing glyphs, layout)?"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [
            P.plot_function_and_derivative(["gelu", "gelu_tanh"]),
            # a few panels suffice: constrained layout of all 16 costs seconds per render
            P.comparison_grid(["telu", "mish", "shifted_tanh"], ncols=2),
            P.training_curves({"tanh": {"accuracy": [0.1, 0.2], "val_accuracy": [0.1, 0.3]}}),
            P.gradient_norms({"tanh": [0.01, 0.1]}),
        ]
        for i, fig in enumerate(figs):
            path = tmp_path / f"fig{i}.png"
            fig.savefig(path, dpi=50)
            assert path.stat().st_size > 1000
