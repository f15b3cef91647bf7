"""Build-time support for the book: MathJax served locally, numpy scalars in glue.

1. Serve MathJax 3 from the built book instead of a CDN.

The book must render its mathematics on a machine with no network. Sphinx's ``mathjax_path``
defaults to a CDN address; ``_config.yml`` points it at ``_static/mathjax/tex-chtml.js`` and
this extension copies MathJax 3.2.2 into ``_build/html/_static/mathjax`` from the
``django-static-mathjax`` wheel (pinned in requirements.txt), which ships MathJax's ``es5``
build as package data. Only what ``tex-chtml.js`` can load is copied: the CommonHTML output
with its woff fonts, the TeX extensions it autoloads, and the menu and accessibility
components that load when a reader opens the math menu.

2. Format numpy scalars pasted with ``{glue:text}``. Since numpy 2, ``repr(np.float64(0.5))``
is ``'np.float64(0.5)'``; myst-nb 1.4 formats the ``text/plain`` repr with ``float(...)`` and
fails (executablebooks/MyST-NB#610). The chapters glue plain Python numbers where they can,
but a numpy scalar must not break the build, so its repr is unwrapped before formatting.

3. Keep pages from reaching the network:
   - matplotlib's ``Animation.to_jshtml`` output starts with a stylesheet link to Font Awesome
     4 on a CDN, for its button icons. The theme already ships Font Awesome (which also
     understands the old ``fa fa-play`` class names), so the link is dropped from raw HTML
     outputs.
   - sphinx-thebe 1.x registers its inline configuration script on every read phase, and a
     page that declares ``const THEBE_JS_URL`` twice logs a JavaScript error; duplicate
     scripts are removed from each page's context.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from actlab.util import MATHJAX_ENTRY, mathjax_dir

logger = logging.getLogger(__name__)

#: Entry script that ``mathjax_path`` names, relative to ``_static/mathjax``.
ENTRY = MATHJAX_ENTRY
#: Folders of MathJax's es5 build that tex-chtml.js may fetch at run time.
RUNTIME_DIRS = ("input/tex/extensions", "output/chtml", "ui", "a11y", "sre", "adaptors")
#: Written last, so an interrupted copy is redone on the next build.
STAMP = ".actlab-mathjax-version"


def mathjax_es5_dir() -> Path:
    """Return the folder holding MathJax's ``es5`` build (:func:`actlab.util.mathjax_dir`),
    or stop the build with the reason."""
    try:
        return mathjax_dir()
    except FileNotFoundError as exc:
        raise ExtensionError(f"{exc}; the offline book needs them") from None


def mathjax_version(es5: Path) -> str:
    """Read MathJax's version from the package.json next to its es5 folder."""
    import json

    package = es5.parent / "package.json"
    return json.loads(package.read_text(encoding="utf-8"))["version"]


def copy_mathjax(es5: Path, target: Path) -> bool:
    """Copy the run-time subset of MathJax into ``target``; return False if already there."""
    version = mathjax_version(es5)
    stamp = target / STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == version:
        return False
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / ENTRY, target / ENTRY)
    for sub in RUNTIME_DIRS:
        if (es5 / sub).is_dir():
            shutil.copytree(es5 / sub, target / sub, dirs_exist_ok=True)
    stamp.write_text(version, encoding="utf-8")
    return True


def _check_config(app: Sphinx, config) -> None:
    # A CDN address here would silently bring the network back.
    if "://" in config.mathjax_path or config.mathjax_path.startswith("//"):
        raise ExtensionError(
            f"mathjax_path is {config.mathjax_path!r}; the book serves MathJax locally, "
            f"set it to 'mathjax/{ENTRY}' in _config.yml"
        )
    # Fail at start-up rather than after executing every notebook.
    mathjax_es5_dir()


def _copy_on_finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if copy_mathjax(mathjax_es5_dir(), target):
        logger.info("offline_assets: copied MathJax into %s", target)


#: ``np.float64(0.5)``, ``np.int64(3)``, ``np.True_``: numpy 2's scalar reprs.
_NUMPY_SCALAR = re.compile(
    r"^np\.(?:float|int|uint|complex|longdouble|double)\w*\((?P<value>.*)\)$")
_NUMPY_BOOL = re.compile(r"^np\.(?P<value>True|False)_$")


def unwrap_numpy_repr(text: str) -> str:
    """Turn ``'np.float64(0.25)'`` into ``'0.25'``; leave any other text unchanged."""
    stripped = text.strip()
    for pattern in (_NUMPY_SCALAR, _NUMPY_BOOL):
        match = pattern.match(stripped)
        if match:
            return match.group("value")
    return text


def _patch_glue_formatting() -> None:
    from myst_nb.core import variables
    from myst_nb.ext.glue import crossref, roles

    original = variables.format_plain_text
    if getattr(original, "_unwraps_numpy", False):
        return

    def format_plain_text(text: str, fmt_spec: str) -> str:
        return original(unwrap_numpy_repr(text), fmt_spec)

    format_plain_text._unwraps_numpy = True  # type: ignore[attr-defined]
    # Both modules imported the function by name, so each binding is replaced.
    for module in (variables, roles, crossref):
        module.format_plain_text = format_plain_text


#: The <link> to Font Awesome 4 on a CDN that matplotlib puts before every jshtml animation.
_CDN_FONT_AWESOME = re.compile(
    r"<link[^>]*href=[\"'](?:https?:)?//[^\"']*font-awesome[^\"']*[\"'][^>]*>\s*", re.I)


def strip_cdn_font_awesome(html: str) -> str:
    """Remove matplotlib's CDN Font Awesome stylesheet link from an HTML fragment."""
    return _CDN_FONT_AWESOME.sub("", html)


def _offline_raw_html(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        cleaned = strip_cdn_font_awesome(text)
        if cleaned != text:
            node.replace_self(nodes.raw(node.rawsource, cleaned, format=node["format"],
                                        classes=node.get("classes", [])))


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # An inline script's filename is None when added, '' after a pickled environment reload.
    return (str(getattr(script, "filename", script) or ""),
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(scripts: list) -> list:
    """The scripts in order, each identical one (same file or body and attributes) once."""
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _dedupe_page_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        context["script_files"] = dedupe_scripts(scripts)


def setup(app: Sphinx) -> dict:
    _patch_glue_formatting()
    app.connect("doctree-resolved", _offline_raw_html)
    # After every other handler has added its scripts to the page.
    app.connect("html-page-context", _dedupe_page_scripts, priority=900)
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _copy_on_finish)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
