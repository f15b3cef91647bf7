"""The Validate button's server side (``actlab.validate_server``), over HTTP on a real server.

A Jupyter server is started on 127.0.0.1 at a free port with a token, with the course venv's
own configuration (``jupyter-config/actlab.json``), where nbgrader's ``validate_assignment``
extension is on as well: so these tests also show that actlab's extension answers the button's
endpoints whichever other extension is loaded. (``tests/test_lab.py`` reads the learner's and
the instructor's configuration, where nbgrader's is off; ``tests/test_browser_lab.py`` clicks
the button in Chromium.)
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from helpers import answered, free_loopback_port, running_jupyter
from stated_rules import RULE_BREAKS

from actlab.lab import lab_command

REPO = Path(__file__).resolve().parent.parent
NAME = "ps2_saturation"

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("validate-server")]


def _notebook(folder: Path, file: str, answers: dict[str, str]) -> str:
    """The released problem set 2 with the instructor's answers, except ``answers``; its path
    relative to the server's root."""
    nb = answered(NAME, answers)
    path = folder / "work" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return f"work/{file}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Jupyter server with the course venv's configuration; yields (url, token, root)."""
    root = tmp_path_factory.mktemp("root")
    home = tmp_path_factory.mktemp("jupyter-home")
    port, token = free_loopback_port(), secrets.token_hex(16)
    # lab_command gives the interpreter, the loopback address and the PATH the kernel needs;
    # the plain server (no Lab, no learner configuration) is enough for the endpoints.
    argv, env = lab_command(root, instructor=True, port=port, token=token, open_browser=False)
    argv = [sys.executable, "-m", "jupyter_server", *argv[3:]]
    env.pop("JUPYTER_CONFIG_PATH", None)
    env.update({"JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime")})
    with running_jupyter(argv, port=port, token=token, cwd=root, env=env,
                         log_path=home / "server.log", timeout=120) as url:
        yield url, token, root


def _request(server, route: str, method: str = "GET", **params) -> dict:
    url, token, _ = server
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(f"{url}/{route}?{query}", method=method,
                                     data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=300) as reply:
        return json.loads(reply.read())


def test_the_button_checks_its_version_as_nbgraders_extension_does(server):
    """Does ``GET /nbgrader_version`` answer the button's version check as nbgrader does?"""
    import nbgrader

    assert _request(server, "nbgrader_version", version=nbgrader.__version__) == {"success": True}
    mismatch = _request(server, "nbgrader_version", version="0.0.1")
    assert mismatch["success"] is False and "0.0.1" in mismatch["message"]


def test_the_button_fails_a_function_that_uses_a_name_only_a_test_cell_imports(server):
    """Does the Validate button judge as grading does: does a sigmoid that uses ``expit``, which
    only the test cell imports (nbgrader's own Validate passes it; grading takes its points),
    fail, in nbgrader's reply format, with the hint that says why?"""
    (breaker,) = [b for b in RULE_BREAKS if b.assignment == NAME and "expit" in b.says]
    path = _notebook(server[2], "uses_expit.ipynb", {breaker.cell: breaker.source})
    reply = _request(server, "assignments/validate", "POST", path=path)
    assert reply["success"] is True, reply
    failed = reply["value"]["failed"]
    assert all(set(cell) == {"source", "error", "raw_error"} for cell in failed)
    (cell,) = [c for c in failed if 'Checks("sigmoid")' in c["source"]]
    assert cell["raw_error"].startswith("NameError: name 'expit' is not defined")
    assert " ".join(breaker.says.split()) in " ".join(cell["raw_error"].split())


def test_the_server_keeps_answering_while_it_validates_and_a_correct_notebook_passes(server):
    """While a notebook is validated (seconds), does the server still answer other requests
    (nbgrader's handler blocks it), and does the instructor's notebook get ``{"success": true,
    "value": {}}``, the reply nbgrader's dialog shows as "Success!"?"""
    path = _notebook(server[2], "correct.ipynb", {})
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(
        _request(server, "assignments/validate", "POST", path=path)))
    worker.start()
    time.sleep(0.3)
    answered_during = _request(server, "api/status") and worker.is_alive()
    worker.join(timeout=300)
    assert answered_during, "the status request waited for the validation to end"
    assert result == {"success": True, "value": {}}, result


def test_a_path_outside_the_servers_root_is_refused(server):
    """Is a notebook outside the server's root refused (403), as nbgrader refuses it?"""
    outside = shutil.copy(REPO / "exercises" / NAME / f"{NAME}.ipynb",
                          server[2].parent / "outside.ipynb")
    with pytest.raises(urllib.error.HTTPError) as err:
        _request(server, "assignments/validate", "POST", path=f"../{Path(outside).name}")
    assert err.value.code == 403
