"""Grading: ``actlab grade`` autogrades a folder of submissions with nbgrader.

The engine (this package's ``cli``, ``job``, ``batch``, ``report``, ``course``) grades
submissions one job each, in parallel or on a Dask cluster; the safety modules
(``intake``, ``sandbox``, ``integrity``) check and isolate what the students hand in.
See ``docs/DESIGN.md``.
"""

import sys as _sys

# jsonschema (through nbformat) imports rfc3987_syntax when it is installed, and that module
# builds a grammar at import: about 3 s for every process that reads a notebook. nbformat's
# schema never checks the 'iri' format it serves, so grading processes (the CLI and its
# workers) skip it. jsonschema treats it as optional.
_sys.modules.setdefault("rfc3987_syntax", None)
