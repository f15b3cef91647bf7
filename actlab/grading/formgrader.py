"""``actlab formgrader``: nbgrader's formgrader on this course, repaired and offline.

    actlab formgrader [--course DIR] [--port N] [--no-browser] [JUPYTER OPTIONS ...]

starts JupyterLab from the course folder, on 127.0.0.1, with this module loaded as a Jupyter
server extension, and opens ``/formgrader``. Problem set 5's hand-marked answer is graded
there: formgrader reads the course gradebook that ``actlab grade`` writes and the autograded
notebooks it puts in the course's ``autograded_directory``.

The extension (``_load_jupyter_server_extension``, whether it is loaded before or after
nbgrader's formgrader extension) makes two repairs:

* nbgrader 0.9.6's page for a submission whose autograded notebook is missing,
  ``formgrade_404.tpl``, imports ``formgrade_macros.tpl``, a template nbgrader does not ship
  (its macros live in ``formgrade/formgrade_macros.html.j2``), so instead of a "not found"
  page the instructor gets a server error. :func:`repair_templates` gives formgrader's Jinja
  environment that missing name, pointing at the shipped macros.
* The page that shows a submission for marking loads MathJax 2 from a CDN, so offline its
  mathematics stays raw and its script stops at "MathJax is not defined" (before it sets up
  its keyboard shortcuts). The server serves the course's own MathJax 3
  (:func:`actlab.util.mathjax_dir`) at ``MATHJAX_URL`` under its base URL, and
  :func:`offline_mathjax` makes formgrader's page exporter load it from there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..util import MATHJAX_ENTRY, mathjax_dir
from .course import CourseError, add_course_argument, load_course

MISSING_TEMPLATE = "formgrade_macros.tpl"
SHIPPED_MACROS = "formgrade/formgrade_macros.html.j2"
#: Where the server serves MathJax, under its base URL.
MATHJAX_URL = "actlab/mathjax/"

# nbconvert's classic page template (which formgrader's submission page extends) imports its
# `mathjax` macro from `mathjax.html.j2`. This one loads MathJax 3 from the server (the URL
# nbconvert would pass is ignored) with the delimiters nbconvert's MathJax 2 configuration
# sets, and gives formgrader's page script the one MathJax 2 call it makes,
# MathJax.Hub.Startup.signal.Interest(listener), by which it learns that the page is typeset.
_MATHJAX_MACRO = r"""{%- macro mathjax(url=None) -%}
<script>
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true, processEnvironments: true, tags: "ams"}
};
</script>
<script src="{{ src }}"></script>
<script>
MathJax.Hub = {Startup: {signal: {Interest: function (listener) {
  MathJax.startup.promise.then(function () { listener("End"); });
}}}};
</script>
{%- endmacro %}
"""


def repair_templates(env) -> None:
    """Let ``env`` (formgrader's Jinja environment) resolve ``formgrade_macros.tpl``."""
    from jinja2 import ChoiceLoader, FunctionLoader

    if getattr(env, "_actlab_repaired", False):
        return
    original = env.loader

    def alias(name):
        if name != MISSING_TEMPLATE:
            return None
        source, filename, uptodate = original.get_source(env, SHIPPED_MACROS)
        return source, filename, uptodate

    env.loader = ChoiceLoader([original, FunctionLoader(alias)])
    env._actlab_repaired = True


def offline_mathjax(exporter, src: str) -> None:
    """Make ``exporter`` (formgrader's page exporter, an nbconvert ``HTMLExporter``) load
    MathJax from ``src``, the URL where the server serves :func:`actlab.util.mathjax_dir`."""
    from jinja2 import DictLoader

    if getattr(exporter, "_actlab_mathjax", None) == src:
        return
    macro = _MATHJAX_MACRO.replace("{{ src }}", src)
    exporter.extra_loaders = [DictLoader({"mathjax.html.j2": macro}), *exporter.extra_loaders]
    exporter._actlab_mathjax = src


def _jupyter_server_extension_points():
    return [{"module": "actlab.grading.formgrader"}]


def _repair(settings: dict, mathjax_src: str | None) -> None:
    repair_templates(settings["nbgrader_jinja2_env"])
    if mathjax_src is not None:
        offline_mathjax(settings["nbgrader_exporter"], mathjax_src)


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
    from tornado.web import StaticFileHandler

    webapp = serverapp.web_app
    try:
        folder = mathjax_dir()
    except FileNotFoundError as exc:
        serverapp.log.warning("actlab: formgrader's pages load MathJax from a CDN: %s", exc)
        mathjax_src = None
    else:
        route = url_path_join(serverapp.base_url, MATHJAX_URL)
        webapp.add_handlers(".*$", [(route + "(.*)", StaticFileHandler, {"path": str(folder)})])
        mathjax_src = route + MATHJAX_ENTRY
    settings = webapp.settings
    if "nbgrader_jinja2_env" in settings:  # nbgrader's extension was loaded first
        _repair(settings, mathjax_src)
        return
    if getattr(FormgradeExtension, "_actlab_repaired", False):
        return
    original = FormgradeExtension.init_tornado_settings

    def init_tornado_settings(self, webapp):
        original(self, webapp)
        _repair(webapp.settings, mathjax_src)

    FormgradeExtension.init_tornado_settings = init_tornado_settings
    FormgradeExtension._actlab_repaired = True
    serverapp.log.info("actlab: formgrader's missing-submission page repaired, MathJax served "
                       "locally")


def command(course_root: Path, port: int | None = None, browser: bool = True,
            extra: list[str] | None = None) -> list[str]:
    """The command line that starts JupyterLab with formgrader for the course."""
    args = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={course_root}",
            "--ServerApp.jpserver_extensions=actlab.grading.formgrader=True",
            "--ServerApp.default_url=/formgrader"]
    if port is not None:
        args.append(f"--ServerApp.port={port}")
    if not browser:
        args.append("--ServerApp.open_browser=False")
    return args + list(extra or [])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``actlab formgrader``; ``argv`` is everything after ``formgrader``."""
    p = argparse.ArgumentParser(
        prog="actlab formgrader",
        description="Open nbgrader's formgrader on this course (JupyterLab on 127.0.0.1) to mark "
                    "answers by hand; afterwards, `actlab export` writes the final grades.")
    add_course_argument(p)
    p.add_argument("--port", type=int,
                   help="port to listen on (default: Jupyter's, 8888 or the next free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    try:
        args, extra = p.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        course = load_course(args.course)
    except CourseError as exc:
        print(f"actlab formgrader: error: {exc}", file=sys.stderr)
        return 2
    # nbgrader's extensions read nbgrader_config.py from the working folder.
    os.chdir(course.root)
    try:
        return subprocess.call(command(course.root, args.port, not args.no_browser, extra))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
