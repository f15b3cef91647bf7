"""Header buttons that lead somewhere: shown only when the course's repository is set.

``_config.yml``'s ``repository.url`` is the one setting. Empty (the default: a copy of the course
need not have a public home), the book shows no repository button and no Binder or Colab launch
button, because each of them would send a reader to an error page. Set it to the repository that
holds this book, and the repository button and the launch buttons configured under
``launch_buttons`` appear on every chapter.

Jupyter Book passes ``repository.url`` to the theme as ``repository_url``; this extension
decides the theme's ``use_repository_button`` and ``launch_buttons`` from it when the
configuration is read, before any page is written.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

#: The launch providers that need a public repository to open a notebook from.
LAUNCH_KEYS = ("binderhub_url", "colab_url", "jupyterhub_url", "jupyterlite_url")


def button_options(theme_options: dict[str, Any]) -> dict[str, Any]:
    """The theme options with the repository and launch buttons on exactly when
    ``repository_url`` is a non-empty URL."""
    options = dict(theme_options)
    url = str(options.get("repository_url") or "").strip()
    launch = dict(options.get("launch_buttons") or {})
    if url:
        options["use_repository_button"] = True
    else:
        options["use_repository_button"] = False
        options.pop("repository_url", None)
        for key in LAUNCH_KEYS:
            launch.pop(key, None)
    options["launch_buttons"] = launch
    return options


def _on_config_inited(app: Sphinx, config) -> None:
    config.html_theme_options = button_options(config.html_theme_options or {})


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
