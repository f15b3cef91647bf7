"""Two conventions every part of ``actlab`` shares: progress bars and unknown-name errors.

* :func:`progress` wraps long loops in a tqdm bar. ``enabled=None`` (the default everywhere)
  shows the bar only when stderr is a terminal, so notebooks, logs, CI output and the book's
  build stay clean; ``True`` and ``False`` force it on or off.
* :func:`unknown_name` builds the ``ValueError`` for a name that is not one of the valid ones,
  always worded the same way and always listing every valid name, so that a typo in an
  activation, an initialiser, a loss or an assignment is fixed from the message alone.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm.auto import tqdm

__all__ = ["progress", "shows_progress", "unknown_name"]


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
