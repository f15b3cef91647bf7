"""actlab: the numpy library behind the course *Activation Functions*.

Chapters, problem-set solutions, graders and tests all import it, so every formula lives once.
See ``docs/DESIGN.md`` for the public contract of each module.
"""

__version__ = "0.1.0"
