"""Tests for actlab.experiment: the baseline experiment, source document 000's MNIST
comparison of hidden activations.

Most runs use scikit-learn's 8x8 digits (1,797 images) so that a whole experiment takes a
fraction of a second; one test checks the baseline configuration on the embedded MNIST.
"""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pytest

from actlab.data import Dataset, load_digits, load_mnist
from actlab.experiment import (
    BASELINE_ACTIVATIONS,
    ExperimentResult,
    hidden_widths,
    parse_activation_spec,
    results_table,
    run_experiment,
    write_outputs,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def small_run(digits):
    """ReLU and sigmoid, 3 epochs, 8x8 digits, models kept for independent checks."""
    return run_experiment(["relu", "sigmoid"], epochs=3, seed=0, dataset=digits,
                          keep_models=True, progress=False)


# --------------------------------------------------------------------------- configuration


def test_depth_two_is_the_baseline_network():
    """Does depth 2 give the baseline hidden widths 128 and 64?"""
    assert hidden_widths(2) == [128, 64]


def test_deeper_networks_add_64_wide_layers():
    """Does a depth of k give k hidden layers, the first 128 wide and the rest 64?"""
    assert hidden_widths(1) == [128]
    assert hidden_widths(5) == [128, 64, 64, 64, 64]


def test_explicit_widths_are_used_as_given():
    """Are explicit widths passed through, and nonsense depths refused with a clear error?"""
    assert hidden_widths([256, 32]) == [256, 32]
    with pytest.raises(ValueError, match="at least 1"):
        hidden_widths(0)
    with pytest.raises(ValueError, match="positive"):
        hidden_widths([64, 0])


def test_mixed_activation_spec_cycles_over_hidden_layers():
    """Does 'tanh/relu' assign tanh, relu, tanh, ... to successive hidden layers?"""
    assert parse_activation_spec("tanh/relu", 3) == ["tanh", "relu", "tanh"]
    assert parse_activation_spec("elu", 3) == "elu"


def test_unknown_activation_error_lists_valid_names():
    """Does a misspelt activation raise a ValueError that lists the valid names?"""
    with pytest.raises(ValueError) as info:
        parse_activation_spec("rleu", 2)
    message = str(info.value)
    assert "rleu" in message
    for name in BASELINE_ACTIVATIONS:
        assert name in message


def test_softmax_is_refused_as_a_hidden_activation():
    """Is a non-elementwise activation like softmax rejected for hidden layers?"""
    with pytest.raises(ValueError, match="hidden"):
        parse_activation_spec("softmax", 2)


def test_run_rejects_bad_settings_before_training(digits):
    """Are repeated activations and non-positive epochs refused up front?"""
    with pytest.raises(ValueError, match="repeated"):
        run_experiment(["relu", "relu"], epochs=1, dataset=digits)
    with pytest.raises(ValueError, match="epochs"):
        run_experiment(["relu"], epochs=0, dataset=digits)
    with pytest.raises(ValueError, match="valid names"):
        run_experiment(["relu", "nope"], epochs=1, dataset=digits)


# --------------------------------------------------------------------------- running


def test_histories_have_one_entry_per_epoch(small_run):
    """Does each activation's history hold one loss and accuracy per epoch, in [0, 1]?"""
    for name in ("relu", "sigmoid"):
        hist = small_run.results[name]["history"]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert len(hist[key]) == 3, key
        assert all(0.0 <= a <= 1.0 for a in hist["accuracy"] + hist["val_accuracy"])
        assert small_run.histories[name].epochs == 3


def test_data_sizes_add_up_to_the_dataset(small_run, digits):
    """Do train, validation and test sizes partition the dataset with 20 % validation?"""
    d = small_run.data
    assert d["n_train"] + d["n_val"] + d["n_test"] == len(digits)
    assert d["n_val"] == int(0.2 * (d["n_train"] + d["n_val"]))
    assert d["n_test"] == round(0.2 * len(digits))


def test_reported_test_accuracy_matches_an_independent_evaluation(small_run):
    """Is test_accuracy the fraction of test digits whose arg-max prediction is right?"""
    test = small_run.test_set
    for name, model in small_run.models.items():
        logits = model.forward(test.X, training=False)
        accuracy = float(np.mean(np.argmax(logits, axis=1) == test.y))
        assert small_run.results[name]["test_accuracy"] == pytest.approx(accuracy)


def test_relu_network_learns_digits_far_above_chance(small_run):
    """After 3 epochs, does the ReLU MLP classify held-out 8x8 digits far better than 10 %?"""
    assert small_run.results["relu"]["test_accuracy"] > 0.85


def test_same_seed_reproduces_the_run_exactly(digits):
    """Do two runs with the same seed give identical curves and test accuracy?"""
    a = run_experiment(["tanh"], epochs=2, seed=3, dataset=digits, progress=False)
    b = run_experiment(["tanh"], epochs=2, seed=3, dataset=digits, progress=False)
    assert a.results["tanh"]["history"] == b.results["tanh"]["history"]
    assert a.results["tanh"]["test_accuracy"] == b.results["tanh"]["test_accuracy"]


def test_depth_and_diagnostics_give_one_gradient_norm_per_layer(digits):
    """With depth 4 and diagnostics, is there a positive gradient norm for each of 5 layers?"""
    run = run_experiment(["sigmoid"], epochs=1, depth=4, dataset=digits, diagnostics=True,
                         progress=False)
    assert run.config["widths"] == [64, 128, 64, 64, 64, 10]
    (epoch0,) = run.results["sigmoid"]["diagnostics"]
    norms = [layer["grad_norm"] for layer in epoch0]
    assert len(norms) == 5
    assert all(n > 0 and np.isfinite(n) for n in norms)


def test_mixed_activations_build_the_requested_layers(digits):
    """Does 'tanh/relu' really put tanh in the first hidden layer and ReLU in the second?"""
    run = run_experiment(["tanh/relu"], epochs=1, dataset=digits, keep_models=True,
                         progress=False)
    model = run.models["tanh/relu"]
    names = [layer.name for layer in model.layers if hasattr(layer, "name")]
    assert names[:2] == ["tanh", "relu"]


def test_full_dataset_uses_its_official_test_part(digits):
    """With full=True, are the rows after test_start the test set, not a random split?"""
    ds = Dataset(digits.X, digits.y, "fake-full", 10, (8, 8), test_start=1497)
    run = run_experiment(["relu"], epochs=1, full=True, dataset=ds, keep_models=True,
                         progress=False)
    np.testing.assert_array_equal(run.test_set.X, digits.X[1497:])
    assert run.data["n_test"] == 300


def test_default_run_matches_the_baseline_configuration(mnist_cache):
    """On the embedded MNIST, is the network 784-128-64-10 with 3,200/800/1,000 digits?"""
    ds = load_mnist(cache_dir=mnist_cache)
    run = run_experiment(["relu"], epochs=1, dataset=ds, progress=False)
    assert run.config["widths"] == [784, 128, 64, 10]
    assert run.config["batch_size"] == 32
    assert run.config["validation_split"] == 0.2
    assert (run.data["n_train"], run.data["n_val"], run.data["n_test"]) == (3200, 800, 1000)
    # One epoch on real digits already puts a ReLU MLP far above chance.
    assert run.results["relu"]["test_accuracy"] > 0.8


# --------------------------------------------------------------------------- outputs


def test_outputs_are_strict_json_and_real_pngs(digits, tmp_path):
    """Is results.json strict JSON (NaN-free) that round-trips, and are the PNGs images?"""
    run = run_experiment(["relu", "tanh"], epochs=1, depth=3, dataset=digits, diagnostics=True,
                         progress=False)
    paths = write_outputs(run, tmp_path / "out")
    text = paths["json"].read_text()
    payload = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert payload["results"]["relu"]["test_accuracy"] == run.results["relu"]["test_accuracy"]
    assert "histories" not in payload
    for kind in ("curves", "grad_norms"):
        image = matplotlib.image.imread(paths[kind])
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_result_json_round_trips_without_the_live_objects(small_run):
    """Does to_json keep the numbers and provenance but no models, histories or test set, and
    does from_json give back the same results and per-epoch curves?"""
    payload = json.loads(small_run.to_json())
    assert set(payload) == {"config", "data", "results", "seconds", "provenance"}
    assert payload["provenance"]["versions"]["numpy"] == np.__version__
    back = ExperimentResult.from_json(small_run.to_json())
    assert back.results == json.loads(json.dumps(small_run.results))
    assert back.test_accuracy() == small_run.test_accuracy()
    for name, history in small_run.histories.items():
        assert back.histories[name].val_accuracy == history.val_accuracy
    assert back.models == {} and back.test_set is None


def test_models_and_test_set_are_kept_only_when_asked(digits, small_run):
    """Without keep_models, does the result hold no models and no test set?"""
    run = run_experiment(["relu"], epochs=1, dataset=digits, progress=False)
    assert run.models == {} and run.test_set is None
    assert set(small_run.models) == {"relu", "sigmoid"} and small_run.test_set is not None


def test_command_line_run_records_its_command(mnist_cache, tmp_path, monkeypatch):
    """Does results.json from main() carry the exact command that produced it?"""
    from actlab.experiment import main

    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(mnist_cache))
    argv = ["--activations", "relu", "--epochs", "1", "--subset", "200", "--out", str(tmp_path)]
    assert main(argv, prog="actlab experiment") == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["provenance"]["command"] == "actlab experiment " + " ".join(argv)
    assert payload["provenance"]["versions"]["actlab"]


def test_results_table_lists_every_activation(small_run):
    """Does the printed table have a row per activation with its test accuracy?"""
    table = results_table(small_run)
    for name, r in small_run.results.items():
        assert name in table
        assert f"{r['test_accuracy']:.4f}" in table


def test_progress_bars_appear_only_when_asked(digits, capsys):
    """Does progress=True draw tqdm bars on stderr, and progress=False keep stderr silent?"""
    run_experiment(["relu"], epochs=1, dataset=digits, progress=False)
    assert capsys.readouterr().err == ""
    run_experiment(["relu"], epochs=1, dataset=digits, progress=True)
    err = capsys.readouterr().err
    assert "activations" in err and "100%" in err
