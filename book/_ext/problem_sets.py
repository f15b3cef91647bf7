"""The ``nbgrader-points`` directive: a problem set's graded cells and points, read at build time.

Usage in a page (the path is relative to the page, like ``{download}``)::

    ```{nbgrader-points} ../../exercises/ps1_nonlinearity/ps1_nonlinearity.ipynb
    ```

It renders a table with one row per graded cell (the part it belongs to, its ``grade_id``,
its points, and whether tests or a person grade it) followed by the total. Reading the
student notebook itself means the page can never disagree with what is graded, and doing it
in Sphinx rather than in a code cell keeps the pages from starting a kernel each.
A missing notebook is a build error, so a page never links a notebook that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


@dataclass(frozen=True)
class GradedCell:
    """One nbgrader-graded cell: the ``## `` heading above it, its id and points."""

    part: str
    grade_id: str
    points: float
    by_hand: bool


def graded_cells(path: Path) -> list[GradedCell]:
    """Graded cells of a notebook, in order. Raises ValueError if it has none."""
    notebook = nbformat.read(str(path), as_version=4)
    cells, part = [], ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            part = cell.source.splitlines()[0][3:].strip()
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("points"):
            # A graded cell that is also a solution cell is an answer marked by a person.
            cells.append(GradedCell(part, str(meta["grade_id"]), float(meta["points"]),
                                    bool(meta.get("solution"))))
    if not cells:
        raise ValueError(f"{path} has no nbgrader-graded cells")
    return cells


def _points(value: float) -> str:
    return f"{value:g}"


def _table(header: list[str], rows: list[list[str]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["nbgrader-points"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    for target, cells in ((head, [header]), (body, rows)):
        for values in cells:
            row = nodes.row()
            for value in values:
                entry = nodes.entry()
                entry += nodes.paragraph(text=value)
                row += entry
            target += row
    return table


class NbgraderPoints(SphinxDirective):
    """Table of a problem set's graded cells and a sentence with its total points."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        rel, absolute = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(rel)
        path = Path(absolute)
        if not path.is_file():
            raise self.error(f"nbgrader-points: notebook not found: {self.arguments[0]} "
                             f"(generate the student versions with `make exercises`)")
        try:
            cells = graded_cells(path)
        except (ValueError, OSError, nbformat.ValidationError) as exc:
            raise self.error(f"nbgrader-points: {exc}") from exc
        rows = [[c.part, c.grade_id, _points(c.points), "by hand" if c.by_hand else "by tests"]
                for c in cells]
        total = sum(c.points for c in cells)
        automatic = sum(c.points for c in cells if not c.by_hand)
        summary = nodes.paragraph(
            text=f"Total: {_points(total)} points, {_points(automatic)} of them graded "
                 f"automatically by tests.")
        return [_table(["part", "graded cell", "points", "graded"], rows, [50, 25, 10, 15]),
                summary]


def setup(app: Sphinx) -> dict:
    app.add_directive("nbgrader-points", NbgraderPoints)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
