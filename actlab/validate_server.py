"""The Lab's Validate button, answered by actlab: the same judged validation as the command.

nbgrader's Lab extension draws the **Validate** button. On a click it asks the server
``GET /nbgrader_version?version=...``, saves the notebook, then ``POST
/assignments/validate?path=...`` and shows the reply in its dialog. nbgrader's own server
extension (``nbgrader.server_extensions.validate_assignment``) answers with nbgrader's
``Validator``, hard-wired into its handler, which runs the test cells in a kernel; grading
judges them outside it. This Jupyter server extension answers the same two endpoints, with
replies in nbgrader's format (so nbgrader's dialog shows them unchanged), from
:func:`actlab.validate.validate`, the code ``actlab validate`` runs.

* The notebook is validated in a worker thread, so the server keeps serving (nbgrader's
  handler blocks it for the whole run); each run borrows a warm judge of the server
  process (:func:`actlab.grading.judge.borrowed_judge`).
* As in nbgrader's handler, a path outside the server's root is refused (403), and a
  notebook whose nbgrader metadata is too old or too new gets nbgrader's message.

Switched on for every Jupyter of the course's venv by ``jupyter-config/actlab.json``; the
learner's and the instructor's Lab (``jupyter-config/learner``, ``jupyter-config/instructor``)
also switch nbgrader's ``validate_assignment`` off. Jupyter loads extensions in alphabetical
order and the first handler registered for a URL serves it, so where nbgrader's is still on
this one answers anyway.
"""

from __future__ import annotations

import io
import json
import traceback
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.server_extensions.validate_assignment.handlers import NbGraderVersionHandler
from tornado import web
from tornado.ioloop import IOLoop

from actlab.validate import validate


def validate_reply(path: Path) -> dict:
    """What the endpoint answers for the notebook at ``path``: ``{"success": True, "value":
    nbgrader's result dict}``, or ``{"success": False, "value": message}`` when it cannot be
    validated (nbgrader's wording for metadata of another schema version)."""
    try:
        result = validate(path, stream=io.StringIO())
    except SchemaTooOldError:
        return {"success": False, "value": (
            f"The notebook '{path}' uses an old version of the nbgrader metadata format. Please "
            f"**back up this notebook** and then update the metadata using:\n\n"
            f"nbgrader update {path}\n")}
    except SchemaTooNewError:
        return {"success": False, "value": (
            f"The notebook '{path}' uses a newer version of the nbgrader metadata format. Please "
            "update your version of nbgrader to the latest version to be able to use this "
            "notebook.")}
    except Exception:  # shown in the dialog, as nbgrader's handler shows it
        return {"success": False, "value": traceback.format_exc()}
    return {"success": True, "value": result}


class JudgedValidateHandler(JupyterHandler):
    """``POST /assignments/validate?path=...``: what nbgrader's handler answers, validated as
    grading judges."""

    def initialize(self, root_dir: str) -> None:
        self._root = Path(root_dir).resolve()

    @web.authenticated
    async def post(self):
        path = self.get_argument("path", None)
        if path is None:
            path = (self.get_json_body() or {}).get("path")
        if not isinstance(path, str):
            raise web.HTTPError(400, "which notebook? (no path)")
        target = (self._root / path).resolve()
        if not target.is_relative_to(self._root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        reply = await IOLoop.current().run_in_executor(None, validate_reply, target)
        if not reply["success"]:
            self.log.error("actlab validate %s: %s", target, reply["value"])
        self.finish(json.dumps(reply))


def _jupyter_server_extension_points():
    return [{"module": "actlab.validate_server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    webapp = serverapp.web_app
    base_url = webapp.settings["base_url"]
    webapp.add_handlers(".*$", [
        (url_path_join(base_url, "/assignments/validate"), JudgedValidateHandler,
         {"root_dir": serverapp.root_dir}),
        (url_path_join(base_url, "/nbgrader_version"), NbGraderVersionHandler),
    ])
    serverapp.log.info("actlab: the Validate button judges notebooks as grading does")
