"""Helpers shared by several test modules (imported as ``helpers``; never from a test module).

Grading: the course's assignment names, read from ``nbgrader_config.py`` by the one
:class:`actlab.grading.course.Course`.
"""

from __future__ import annotations

from pathlib import Path

from actlab.grading.course import load_course

REPO = Path(__file__).resolve().parent.parent

#: The problem sets, as the course's nbgrader configuration finds them in ``solutions/``.
ASSIGNMENTS: tuple[str, ...] = tuple(load_course(REPO).assignments())
