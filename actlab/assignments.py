"""The helpers that the problem sets' test cells import, under their first name.

Notebooks already handed out write ``from actlab.assignments import quiet, contract_problems``;
the helpers live in :mod:`actlab.checks`, and this module re-exports the very same objects.
Generating the student versions is :meth:`actlab.grading.course.Course.write_exercises`
(``actlab exercises``, which ``make exercises`` runs).
"""

from .checks import (CONTRACT_KINDS, EXTREME_INPUTS, Checks, allow_actlab,  # noqa: F401
                     centred_difference, contract_problems, quiet)

__all__ = ["EXTREME_INPUTS", "CONTRACT_KINDS", "Checks", "quiet", "contract_problems",
           "centred_difference", "allow_actlab"]
