"""Find the numbers a chapter's prose states without computing them.

The book's rule: every quantitative or comparative sentence is glued from, or asserted in, the
cell that computes it. This module strips from a MyST page everything where a number is
allowed -- code cells and code blocks, mathematics, glued values, citations and
cross-references, inline code, directive options, labels, list markers -- and reports each
number left in the prose that is not on a short allowlist (years, layer sizes, image sizes,
names with digits, the numbering of chapters, problem sets and source documents, the sizes of
the MNIST sets).
Used by ``tests/test_book.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Blocks whose content is code or data, never prose.
_CODE_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{code-cell\}|\{glue:md\}|\{glue:figure\}"
                         r"|\{glue:math\}|\{math\}|[A-Za-z]*\s*$)")
_ROLES = re.compile(r"\{(?:glue(?::\w+)?|cite(?::\w+)?|ref|doc|numref|eq|term|download|math)\}"
                    r"`[^`]*`")
_INLINE_CODE = re.compile(r"`[^`]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_LABEL = re.compile(r"^\([\w-]+\)=\s*$")
_OPTION = re.compile(r"^:[\w-]+:.*$")
_LIST_MARKER = re.compile(r"^\s*\d+\.\s")
_NUMBER = re.compile(r"(?<![\w.])[-−+]?\d+(?:[.,]\d+)*(?:\s*%)?")

#: What may stay in prose: years, layer sizes (784-128-64-10), image sizes (8×8), names that
#: contain digits, and the numbering of chapters, problem sets, exercises and source documents.
ALLOWLIST = [
    re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b"),
    re.compile(r"\b\d+(?:\s*(?:[-–]|→)\s*\d+){2,}\b"),
    re.compile(r"\b\d+\s*[×x]\s*\d+\b"),
    re.compile(r"\b(?:GPT-2|YOLOv4|ps\d_\w+|float32|float64|int64|uint8|L2|log2|IDX\d|idx\d)\b"),
    re.compile(r"\b(?:[Cc]hapters?|[Pp]roblem sets?|[Ee]xercises?|[Ss]ource documents?|[Ss]ection|"
               r"[Pp]art|[Ss]tep|[Ss]teps)\s+\d+(?:\s*(?:,|and|or|to|–)\s*\d+)*"),
    # The sizes of the two MNIST sets the course names (the embedded digits, the full set).
    re.compile(r"\b(?:5|10|60|70),000\b"),
]


@dataclass(frozen=True)
class Number:
    """A number found in prose: the page's line number (1-based), the number and its line."""

    line: int
    text: str
    context: str


def prose_lines(source: str) -> list[tuple[int, str]]:
    """The page's prose, line by line, with code, math, glue, roles and options removed."""
    lines = source.splitlines()
    out: list[tuple[int, str]] = []
    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        i = lines.index("---", 1) + 1 if "---" in lines[1:] else len(lines)
    fence = None
    skipping = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if fence is None:
            match = _CODE_FENCE.match(stripped)
            if match:
                fence, skipping = match.group(1), True
                i += 1
                continue
            opener = re.match(r"^(`{3,}|~{3,})\{", stripped)
            if opener:  # a directive holding prose (admonition, glossary): keep its body
                i += 1
                continue
        elif stripped == fence or (stripped.startswith(fence[0] * 3)
                                   and stripped.strip("`~") == ""):
            fence, skipping = None, False
            i += 1
            continue
        if not skipping and stripped.strip("`~") != "" or (not skipping and stripped == ""):
            out.append((i + 1, line))
        i += 1
    return out


def _strip(text: str) -> str:
    text = _ROLES.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _LINK_TARGET.sub("]", text)
    return text


def numbers_in_prose(source: str) -> list[Number]:
    """Every number in the page's prose that the allowlist does not cover."""
    prose = prose_lines(source)
    # Display math may span lines: blank it over the joined text, keeping line breaks.
    joined = "\n".join(text for _, text in prose)
    joined = _DISPLAY_MATH.sub(lambda m: "\n" * m.group(0).count("\n"), joined)
    found = []
    for (lineno, _), text in zip(prose, joined.split("\n")):
        if _LABEL.match(text.strip()) or _OPTION.match(text.strip()):
            continue
        cleaned = _LIST_MARKER.sub(" ", _strip(text))
        for pattern in ALLOWLIST:
            cleaned = pattern.sub(" ", cleaned)
        for match in _NUMBER.finditer(cleaned):
            found.append(Number(lineno, match.group(0), text.strip()))
    return found
