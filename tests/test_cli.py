"""Tests for the command line: ``actlab`` (actlab.cli) and ``python -m actlab.experiment``.

The end-to-end tests run the real entry points in a subprocess on a tiny configuration
(1 epoch, 2 activations, 400 digits) and inspect what they write to tmp_path.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import matplotlib.image
import pytest

from actlab import cli

ACTLAB_SCRIPT = Path(sys.executable).with_name("actlab")


@pytest.fixture(scope="module")
def cache_env(mnist_cache):
    """Environment whose ACTLAB_CACHE_DIR is the run's folder already holding the digits."""
    env = dict(os.environ, ACTLAB_CACHE_DIR=str(mnist_cache), MPLBACKEND="Agg")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return env


def _run(args, env, cwd):
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


TINY = ["--activations", "relu,tanh", "--epochs", "1", "--subset", "400", "--seed", "1"]


def test_module_entry_point_writes_sane_results(cache_env, tmp_path):
    """Does `python -m actlab.experiment` on a tiny setting write sane JSON and a PNG?"""
    out = tmp_path / "out"
    proc = _run([sys.executable, "-m", "actlab.experiment", *TINY, "--out", str(out)],
                cache_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["activations"] == ["relu", "tanh"]
    assert payload["config"]["epochs"] == 1
    assert payload["data"]["n_train"] + payload["data"]["n_val"] + payload["data"]["n_test"] == 400
    for name in ("relu", "tanh"):
        r = payload["results"][name]
        assert 0.0 <= r["test_accuracy"] <= 1.0
        assert len(r["history"]["accuracy"]) == len(r["history"]["val_accuracy"]) == 1
        assert r["seconds"] > 0
        assert name in proc.stdout  # the summary table
    image = matplotlib.image.imread(out / "curves.png")
    assert image.ndim == 3 and image.shape[1] > 100


def test_actlab_console_script_runs_the_experiment(cache_env, tmp_path):
    """Does the installed `actlab experiment` command do the same run, with diagnostics?"""
    if not ACTLAB_SCRIPT.exists():
        pytest.skip("the actlab console script is not installed next to this Python")
    out = tmp_path / "o"
    proc = _run([str(ACTLAB_SCRIPT), "experiment", *TINY, "--depth", "3", "--diagnostics",
                 "--out", str(out)], cache_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["widths"] == [784, 128, 64, 64, 10]
    assert len(payload["results"]["relu"]["diagnostics"][0]) == 4
    assert (out / "grad_norms.png").stat().st_size > 1000


def test_bad_activation_exits_2_listing_valid_names(capsys, tmp_path):
    """Does `actlab experiment --activations relu,foo` exit 2 and list the valid names?"""
    code = cli.main(["experiment", "--activations", "relu,foo", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "foo" in err and "valid names" in err
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu"):
        assert name in err
    assert not (tmp_path / "results.json").exists()  # nothing was trained


def test_bad_activation_exit_status_through_the_real_process(cache_env, tmp_path):
    """Is the exit status 2 also for the real process, not only for main()'s return value?"""
    proc = _run([sys.executable, "-m", "actlab", "experiment", "--activations", "sigmoid,relux"],
                cache_env, tmp_path)
    assert proc.returncode == 2
    assert "relux" in proc.stderr and "valid names" in proc.stderr


def test_unknown_subcommand_prints_usage_and_exits_2(capsys):
    """Does `actlab frobnicate` print usage with the valid commands and return 2?"""
    code = cli.main(["frobnicate"])
    err = capsys.readouterr().err
    assert code == 2
    assert "usage: actlab" in err
    assert "experiment" in err and "grade" in err


def test_missing_subcommand_exits_2(capsys):
    """Is `actlab` with no command a usage error?"""
    assert cli.main([]) == 2
    assert "usage: actlab" in capsys.readouterr().err


def test_help_exits_0_and_names_the_commands(capsys):
    """Does `actlab --help` succeed and describe both commands?"""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "experiment" in out and "grade" in out


def test_bad_option_value_is_a_usage_error(capsys):
    """Are --epochs 0 and a malformed --depth refused with exit 2 before any training?"""
    assert cli.main(["experiment", "--epochs", "0"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert cli.main(["experiment", "--depth", "two"]) == 2
    assert "--depth" in capsys.readouterr().err


def test_grade_delegates_arguments_to_the_grading_cli(monkeypatch):
    """Does `actlab grade ...` call actlab.grading.cli.main with the remaining arguments?"""
    seen = []
    fake = types.ModuleType("actlab.grading.cli")

    def fake_main(argv=None):
        seen.append(list(argv))
        return 3

    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "actlab.grading.cli", fake)
    assert cli.main(["grade", "submitted/", "--workers", "2"]) == 3
    assert seen == [["submitted/", "--workers", "2"]]


def test_experiment_works_without_the_grading_package(cache_env, tmp_path):
    """With actlab.grading unimportable, does `actlab experiment --help` still work?"""
    code = (
        "import sys; sys.modules['actlab.grading'] = None\n"
        "from actlab.cli import main\n"
        "sys.exit(main(['experiment', '--help']))\n"
    )
    proc = _run([sys.executable, "-c", code], cache_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--activations" in proc.stdout


@pytest.mark.parametrize("command", ["grade", "exercises"])
def test_grading_commands_without_the_grading_extra_name_what_to_install(tmp_path, command):
    """With nbgrader missing, do `actlab grade` and `actlab exercises` exit 2 and name the
    missing module and the extra that provides it, instead of a traceback?"""
    code = (
        "import sys; sys.modules['nbgrader'] = None; sys.modules['nbformat'] = None\n"
        "from actlab.cli import main\n"
        f"sys.exit(main([{command!r}, '--help']))\n"
    )
    proc = _run([sys.executable, "-c", code], dict(os.environ), tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"actlab {command}: no module named" in proc.stderr
    assert "pip install -e '.[grading]'" in proc.stderr


@pytest.mark.network
def test_full_download_failure_is_a_clean_message(cache_env, tmp_path):
    """With --full and the mirror down, is the exit 1 with the offline hint and no traceback?"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(cache_env, ACTLAB_MNIST_URL=f"http://127.0.0.1:{port}/",
               ACTLAB_CACHE_DIR=str(tmp_path / "empty-cache"), NO_PROXY="127.0.0.1")
    proc = _run([sys.executable, "-m", "actlab", "experiment", "--full", "--epochs", "1",
                 "--activations", "relu", "--out", str(tmp_path / "o")], env, tmp_path)
    assert proc.returncode == 1
    assert "load_mnist()" in proc.stderr and "5,000" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["collect", "grade", "export", "formgrader"])
def test_every_instructor_command_prints_its_own_help(command, capsys):
    """Does `actlab COMMAND --help` exit 0 with that command's own usage line?"""
    assert cli.main([command, "--help"]) == 0
    assert f"usage: actlab {command}" in capsys.readouterr().out
