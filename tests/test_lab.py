"""The learner's work copy (mywork/) and the command line that starts the course's JupyterLab.

The work-copy tests run on small fake releases in a temporary folder; the configuration tests read
the JSON files in ``jupyter-config/`` that Lab itself reads. ``tests/test_browser_lab.py`` starts
the real JupyterLab and drives it in Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import nbgrader_cell

from actlab import lab

REPO = Path(__file__).resolve().parent.parent


def _release(folder: Path, name: str, test_source: str = "assert f() == 1") -> Path:
    """A one-problem release: an answer cell ``f`` and a locked test cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbgrader_cell("def f():\n    raise NotImplementedError()", "f", solution=True),
                nbgrader_cell(test_source, "test_f", grade=True, points=1)]
    path = folder / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _answer(path: Path, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = source
    nbformat.write(nb, path)


def test_missing_work_copy_is_created_from_the_release(tmp_path):
    """Does the first `actlab lab` copy every released problem set into mywork/?"""
    _release(tmp_path / "exercises", "ps1_a")
    _release(tmp_path / "exercises", "ps2_b")
    state = lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    assert state.copied == ["ps1_a", "ps2_b"] and state.outdated == []
    for name in ("ps1_a", "ps2_b"):
        copy = tmp_path / "mywork" / name / f"{name}.ipynb"
        assert copy.read_bytes() == (tmp_path / "exercises" / name / f"{name}.ipynb").read_bytes()


def test_existing_work_is_never_overwritten_and_an_unchanged_release_is_quiet(tmp_path):
    """Does a second `actlab lab` leave the learner's answers alone and say nothing?"""
    _release(tmp_path / "exercises", "ps1_a")
    lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    mine = tmp_path / "mywork" / "ps1_a" / "ps1_a.ipynb"
    _answer(mine, "def f():\n    return 1")
    state = lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    assert state.copied == [] and state.outdated == [] and state.current == ["ps1_a"]
    assert state.report() == ""
    assert "return 1" in nbformat.read(mine, as_version=4).cells[0].source


def test_newer_release_is_reported_with_the_command_that_takes_it(tmp_path):
    """When exercises/ changes after the copy was made, does `actlab lab` name the notebook
    and the command to take it, without touching the learner's copy?"""
    _release(tmp_path / "exercises", "ps1_a")
    _release(tmp_path / "exercises", "ps2_b")
    lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    mine = tmp_path / "mywork" / "ps2_b" / "ps2_b.ipynb"
    _answer(mine, "def f():\n    return 1")
    before = mine.read_bytes()
    _release(tmp_path / "exercises", "ps2_b", test_source="assert f() == 1\nassert f() > 0")
    state = lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    assert state.outdated == ["ps2_b"] and state.current == ["ps1_a"]
    assert mine.read_bytes() == before
    text = state.report()
    assert "newer release" in text and "ps2_b" in text
    assert "actlab update ps2_b" in text


def test_copy_made_by_hand_is_outdated_only_if_its_read_only_cells_differ(tmp_path):
    """Without a record of its release, is a copy judged by its read-only cells?"""
    _release(tmp_path / "exercises", "ps1_a")
    _release(tmp_path / "mywork", "ps1_a")
    _answer(tmp_path / "mywork" / "ps1_a" / "ps1_a.ipynb", "def f():\n    return 1")
    assert lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork").outdated == []
    _release(tmp_path / "mywork", "ps2_b", test_source="assert f() == 2")
    _release(tmp_path / "exercises", "ps2_b")
    (tmp_path / "mywork" / lab.RELEASES_FILE).unlink()
    assert lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork").outdated == ["ps2_b"]


def test_taking_a_release_keeps_the_answers_and_the_old_notebook(tmp_path):
    """Does `actlab update` give the new tests with the learner's answers, old copy kept?"""
    _release(tmp_path / "exercises", "ps1_a")
    lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork")
    mine = tmp_path / "mywork" / "ps1_a" / "ps1_a.ipynb"
    _answer(mine, "def f():\n    return 1")
    old_bytes = mine.read_bytes()
    _release(tmp_path / "exercises", "ps1_a", test_source="assert f() == 1  # new test")
    new, kept = lab.take_release("ps1_a", tmp_path / "exercises", tmp_path / "mywork")
    assert new == mine and kept.read_bytes() == old_bytes
    cells = nbformat.read(new, as_version=4).cells
    assert cells[0].source == "def f():\n    return 1"
    assert cells[1].source == "assert f() == 1  # new test"
    assert lab.sync_work_copy(tmp_path / "exercises", tmp_path / "mywork").outdated == []


def test_taking_an_unknown_release_lists_the_valid_names(tmp_path):
    """Does a typo in `actlab update NAME` list the problem sets there are?"""
    _release(tmp_path / "exercises", "ps1_a")
    with pytest.raises(ValueError, match="ps1_a"):
        lab.take_release("ps1_x", tmp_path / "exercises", tmp_path / "mywork")


def test_learner_lab_runs_on_loopback_with_the_learner_configuration_first():
    """Does the learner's Lab listen on 127.0.0.1, from the repository, with jupyter-config/learner
    first on JUPYTER_CONFIG_PATH and this interpreter's bin folder first on PATH?"""
    argv, env = lab.lab_command(REPO, open_dir=REPO / "mywork", port=8899, token="t0k",
                                open_browser=False)
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in argv and "--ServerApp.port=8899" in argv
    assert f"--ServerApp.root_dir={REPO}" in argv
    assert f"--FileContentsManager.preferred_dir={REPO / 'mywork'}" in argv
    assert "--IdentityProvider.token=t0k" in argv
    assert (env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0]
            == str(REPO / "jupyter-config" / "learner"))
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    instructor_argv, instructor_env = lab.lab_command(REPO, instructor=True)
    paths = instructor_env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert paths[0] == str(REPO / "jupyter-config" / "instructor")
    assert str(REPO / "jupyter-config" / "learner") not in paths


def test_learner_configuration_switches_off_exactly_the_instructor_tools():
    """Are nbgrader's instructor plugins and server extensions off for learners, and the
    Validate button (its Lab plugin, answered by actlab's server extension) on?"""
    page = json.loads((REPO / "jupyter-config/learner/labconfig/page_config.json").read_text())
    disabled = {k for k, v in page["disabledExtensions"].items() if v}
    assert disabled == {f"@jupyter/nbgrader:{p}" for p in
                        ("menu", "assignment-list", "course-list", "formgrader",
                         "create-assignment")}
    server = json.loads((REPO / "jupyter-config/learner/jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions.pop("actlab.validate_server") is True
    assert extensions.pop("nbgrader.server_extensions.validate_assignment") is False
    assert extensions and not any(extensions.values())


def _seen_by_jupyter(env: dict, config_dir: Path) -> dict:
    """What jupyter_server's own config loader, in a fresh process with ``env``, makes of the
    server extensions and of the Lab plugins switched off."""
    env = dict(env, JUPYTER_CONFIG_DIR=str(config_dir))
    code = ("from jupyter_server.serverapp import ServerApp\n"
            "from jupyterlab_server.config import get_static_page_config\n"
            "import json\n"
            "app = ServerApp(); app.load_config_file(); app.find_server_extensions()\n"
            "print(json.dumps({'server': dict(app.jpserver_extensions),"
            " 'page': get_static_page_config(level='all').get('disabledExtensions', {})}))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_jupyter_reads_the_learner_configuration_from_the_config_path(tmp_path):
    """Does Jupyter itself, given the learner's environment, see the instructor tools off and
    the Validate button answered by actlab, not by nbgrader's extension? (Asks jupyter_server's
    own config loader in a fresh process, so a misspelt file or key would show up here rather
    than in a learner's browser.)"""
    seen = _seen_by_jupyter(lab.lab_command(REPO)[1], tmp_path)
    assert seen["server"]["nbgrader.server_extensions.formgrader"] is False
    assert seen["server"]["nbgrader.server_extensions.validate_assignment"] is False
    assert seen["server"]["actlab.validate_server"] is True
    assert seen["page"]["@jupyter/nbgrader:assignment-list"] is True


def test_the_instructors_lab_keeps_nbgraders_tools_and_validates_as_grading_does(tmp_path):
    """Does `actlab lab --instructor` keep formgrader and the assignment list, with the Validate
    button answered by actlab's extension and nbgrader's own validate_assignment off?"""
    seen = _seen_by_jupyter(lab.lab_command(REPO, instructor=True)[1], tmp_path)
    assert seen["server"]["nbgrader.server_extensions.formgrader"] is True
    assert seen["server"]["nbgrader.server_extensions.assignment_list"] is True
    assert seen["server"]["nbgrader.server_extensions.validate_assignment"] is False
    assert seen["server"]["actlab.validate_server"] is True
    assert not seen["page"].get("@jupyter/nbgrader:formgrader")


def test_chapters_open_as_jupytext_notebooks_and_lab_fetches_no_news():
    """Do the Lab settings make .md files open with jupytext's notebook viewer, offline?"""
    overrides = json.loads((REPO / "jupyter-config/lab-settings/overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    news = overrides["@jupyterlab/apputils-extension:notification"]
    assert news == {"fetchNews": "false", "checkForUpdates": False}
