"""Grading: ``actlab grade`` autogrades a folder of submissions with nbgrader.

The engine (this package's ``cli``, ``job``, ``batch``, ``report``, ``course``) grades
submissions one job each, in parallel or on a Dask cluster; the safety modules
(``intake``, ``sandbox``, ``integrity``) check and isolate what the students hand in.
See ``docs/DESIGN.md``.
"""
