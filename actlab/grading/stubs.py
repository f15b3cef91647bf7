"""Student stubs that say what to do:
``NotImplementedError("write sigmoid here, then delete this line")``.

nbgrader's ``ClearSolutions`` replaces every solution region with one fixed stub per language.
:class:`NamedStubs` replaces it in ``GenerateAssignment`` (``nbgrader_config.py`` sets
``c.GenerateAssignment.preprocessors = with_named_stubs()``): its ``code_stub`` may contain
``{name}``, filled with the qualified name of the function the region sits in
(``CustomActivation.forward`` for a method), so a learner who runs a blank notebook reads
which function is missing. The name comes from the source text alone, so generating twice
gives the same notebook (``make exercises`` stays reproducible).

A region must sit inside a function: a stub that raises directly in a class body or at the
top of a cell would fail the cell that defines it, before the learner has started.
"""

from __future__ import annotations

import re
from typing import Sequence

from nbgrader.preprocessors import ClearSolutions
from traitlets import Dict

_BLOCK = re.compile(r"^(?P<indent>\s*)(?:async\s+)?(?P<kind>def|class)\s+(?P<name>\w+)")


def enclosing_name(lines: Sequence[str], index: int) -> str | None:
    """Qualified name of the innermost ``def`` around ``lines[index]`` (``Class.method``).

    Returns None when the line is not inside a function.
    """
    width = len(lines[index]) - len(lines[index].lstrip())
    names, kinds = [], []
    for line in reversed(lines[:index]):
        match = _BLOCK.match(line)
        if match and len(match.group("indent")) < width:
            names.append(match.group("name"))
            kinds.append(match.group("kind"))
            width = len(match.group("indent"))
    if not kinds or kinds[0] != "def":
        return None
    return ".".join(reversed(names))


class NamedStubs(ClearSolutions):
    """``ClearSolutions`` whose code stub names the function it stands in for."""

    code_stub = Dict(
        dict(python='raise NotImplementedError("write {name} here, then delete this line")'),
        help="Code that replaces a solution region; {name} becomes the enclosing function's "
             "qualified name.",
    ).tag(config=True)

    def _replace_solution_region(self, cell, language: str) -> bool:
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        lines = cell.source.split("\n")
        template = self.code_stub[language]
        new_lines: list[str] = []
        inside = replaced = False
        for index, line in enumerate(lines):
            if self.begin_solution_delimeter in line:
                if inside:
                    raise RuntimeError("encountered nested begin solution statements")
                name = enclosing_name(lines, index)
                if name is None:
                    raise RuntimeError(f"a solution region outside any function:\n{cell.source}")
                inside = replaced = True
                indent = re.match(r"\s*", line).group(0)
                new_lines.extend(indent + s for s in template.format(name=name).split("\n"))
            elif self.end_solution_delimeter in line:
                inside = False
            elif not inside:
                new_lines.append(line)
        if inside:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(new_lines)
        return replaced


def with_named_stubs(preprocessors: Sequence[type] | None = None) -> list[type]:
    """``preprocessors`` (default: ``GenerateAssignment``'s own list) with nbgrader's
    ``ClearSolutions`` replaced by :class:`NamedStubs`."""
    if preprocessors is None:
        from nbgrader.converters import GenerateAssignment

        preprocessors = GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default()
    swapped = [NamedStubs if p is ClearSolutions else p for p in preprocessors]
    if NamedStubs not in swapped:
        raise ValueError("no ClearSolutions among the preprocessors to replace")
    return swapped
