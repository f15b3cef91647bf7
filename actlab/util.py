"""Conventions every part of ``actlab`` shares: progress bars, unknown-name errors, files.

* :func:`progress` wraps long loops in a tqdm bar. ``enabled=None`` (the default everywhere)
  shows the bar only when stderr is a terminal, so notebooks, logs, CI output and the book's
  build stay clean; ``True`` and ``False`` force it on or off.
* :func:`unknown_name` builds the ``ValueError`` for a name that is not one of the valid ones,
  always worded the same way and always listing every valid name, so that a typo in an
  activation, an initialiser, a loss or an assignment is fixed from the message alone.
* :func:`write_csv` and :func:`zip_entry`: the reports, LMS files and bundles the course
  writes are the same bytes for the same content (UTF-8 CSV with Unix line ends; zip
  entries with a fixed date and mode), so a rerun can be compared with ``cmp``.
* :func:`mathjax_dir`: every page the course serves (the book, formgrader's) loads MathJax
  from the installed ``django-static-mathjax`` package, never from a CDN, so it works offline.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterable

from tqdm.auto import tqdm

__all__ = ["mathjax_dir", "progress", "shows_progress", "unknown_name", "write_csv",
           "zip_entry"]

#: The date of every zip entry the course writes (the earliest a zip file can hold).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def shows_progress(enabled: bool | None) -> bool:
    """Whether a progress bar is shown: ``None`` means only when stderr is a terminal."""
    return sys.stderr.isatty() if enabled is None else bool(enabled)


def progress(iterable: Iterable | None = None, *, enabled: bool | None = None, **tqdm_kwargs: Any):
    """``iterable`` wrapped in a tqdm bar on stderr, shown as ``enabled`` says.

    ``enabled``: ``None`` shows the bar only when stderr is a terminal; ``True`` always;
    ``False`` never. Other keyword arguments go to tqdm (``desc``, ``unit``, ``total``, ...).
    Without ``iterable`` the bar is updated by hand (``bar.update()``); use it as a context
    manager then.
    """
    tqdm_kwargs.setdefault("leave", False)
    return tqdm(iterable, file=sys.stderr, disable=not shows_progress(enabled), **tqdm_kwargs)


def unknown_name(kind: str, name: Any, valid: Iterable[str]) -> ValueError:
    """The error for ``name`` that is not a valid ``kind``: it lists every valid name.

    >>> str(unknown_name("activation", "relu6", ["relu", "tanh"]))
    "unknown activation 'relu6'; valid names: relu, tanh"
    """
    valid = list(valid)
    listed = ", ".join(valid) if valid else "(none)"
    return ValueError(f"unknown {kind} {name!r}; valid names: {listed}")


def write_csv(path: Path | str, header: Iterable, rows: Iterable[Iterable]) -> None:
    """Write ``header`` then ``rows`` to ``path`` as UTF-8 CSV with Unix line ends (the
    folder is created when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def zip_entry(name: str) -> zipfile.ZipInfo:
    """A deflated zip entry called ``name``, dated :data:`ZIP_DATE`, mode 0644: the same
    files give the same archive, byte for byte."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


#: MathJax 3's entry script (TeX input, CommonHTML output) in :func:`mathjax_dir`.
MATHJAX_ENTRY = "tex-chtml.js"


def mathjax_dir() -> Path:
    """The folder of MathJax 3's ``es5`` build that the ``django-static-mathjax`` package ships
    (pinned in requirements.txt); :class:`FileNotFoundError` naming the package when it is
    not installed."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "static" / "mathjax" / "es5"
        if (candidate / MATHJAX_ENTRY).is_file():
            return candidate
    raise FileNotFoundError("MathJax 3 files not found: they come with the 'django-static-mathjax' "
                            "package (pip install -r requirements.txt, or `make venv`)")
