"""The book's pages in reading order, as `_toc.yml` lists them, and its chapters (shared by the
book and browser tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = ["01_nonlinearity", "02_saturation", "03_relu", "04_variants", "05_choosing"]


def toc_files() -> list[str]:
    """Every file named in `_toc.yml` (root first, then each part's chapters and sections)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(items):
        for item in items:
            if "file" in item:
                files.append(item["file"])
            walk(item.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files
