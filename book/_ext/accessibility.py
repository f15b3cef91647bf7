"""Two repairs to the theme's HTML so that every page passes axe-core's serious and critical
checks (tests/test_browser.py runs them):

1. The sidebar's collapsible sections open with a ``<summary>`` that holds only a chevron
   icon, so a screen reader announces an unnamed control (axe: ``summary-name``). Each such
   summary gets an ``aria-label``.
2. docutils writes the bibliography as ``<div role="list">`` whose entries carry
   ``role="doc-biblioentry"``, a role ARIA 1.2 deprecated and which a list may not contain
   (axe: ``aria-required-children``). The entries become ``role="listitem"``.

Both are applied while a page is rendered (``html-page-context``), after the theme has added
its own functions to the page's context, so the written files are correct; nothing is
patched in the browser.
"""

from __future__ import annotations

from sphinx.application import Sphinx

#: The name a screen reader announces for a sidebar section's open/close control.
SUMMARY_LABEL = "Show or hide the pages of this section"


def label_empty_summaries(soup):
    """Give every ``<summary>`` without text an aria-label; returns ``soup`` (BeautifulSoup)."""
    for summary in soup.find_all("summary"):
        if not summary.get_text(strip=True) and not summary.get("aria-label"):
            summary["aria-label"] = SUMMARY_LABEL
    return soup


def fix_bibliography_roles(body: str) -> str:
    """Bibliography entries as list items, the role their ``role="list"`` parent requires."""
    return body.replace('role="doc-biblioentry"', 'role="listitem"')


def _on_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    toctree = context.get("generate_toctree_html")
    if toctree is not None and not getattr(toctree, "_labels_summaries", False):
        def generate_toctree_html(*args, **kwargs):
            result = toctree(*args, **kwargs)
            return label_empty_summaries(result) if hasattr(result, "find_all") else result

        generate_toctree_html._labels_summaries = True  # type: ignore[attr-defined]
        context["generate_toctree_html"] = generate_toctree_html
    if isinstance(context.get("body"), str):
        context["body"] = fix_bibliography_roles(context["body"])


def setup(app: Sphinx) -> dict:
    # After the theme (priority 500), which puts generate_toctree_html into the context.
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
