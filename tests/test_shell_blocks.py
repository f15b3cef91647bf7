"""Every command in a fenced shell block of README.md and the book runs here, or says why not.

The text cannot drift from the code: each command line of a ```bash / ```sh / ```shell /
```console block is matched by the first rule below that fits. A ``Run`` rule executes it
as written, in a clean copy of the repository (the course's ``.venv`` linked in), with small
sizes appended where the full run would take minutes; a ``Skip`` rule gives the reason it
cannot run in a test and where the same thing is tested instead. A command that no rule
matches fails ``test_every_shell_command_is_run_or_skipped_with_a_reason``: add a rule.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import copy_clean_tree

from actlab.lab import sync_work_copy

REPO = Path(__file__).resolve().parent.parent
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
TINY_EXPERIMENT = ("--epochs", "1", "--subset", "400")


@dataclass(frozen=True)
class Command:
    """One command line of a fenced shell block: where it is and what it says."""

    file: str
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.text}"


@dataclass(frozen=True)
class Run:
    """Run the command (with ``append`` added) and expect ``status``; ``output`` must appear."""

    pattern: str
    append: tuple[str, ...] = ()
    status: int = 0
    output: str = ""
    work_copy: bool = False  # create mywork/ first, as `make lab` does


@dataclass(frozen=True)
class Skip:
    pattern: str
    reason: str = field(default="")


RULES: list[Run | Skip] = [
    Skip(r"^make test\b", "the test suite itself"),
    Skip(r"^make book\b", "the built_book fixture (tests/conftest.py) runs the same "
                          "`jupyter-book build . -W -n --keep-going` on a clean copy; "
                          "tests/test_book.py checks the result"),
    Skip(r"^make (instructor-)?lab\b|^(\.venv/bin/)?actlab lab\b",
         "starts a server that runs until it is stopped; tests/test_browser_lab.py starts the "
         "same JupyterLab (actlab.lab.lab_command) and works in it through Chromium"),
    Skip(r"--full\b", "downloads the 70,000-digit MNIST, and tests have no network; "
                      "tests/test_cli.py checks the download failure message"),
    Skip(r"--scheduler tcp://", "needs a running Dask cluster; tests/test_grading_parallel.py "
                                "grades through a local one"),
    Skip(r"^make grade\b|^(\.venv/bin/)?actlab grade\b",
         "needs a folder of students' submissions; tests/test_grading_cli.py grades real ones"),
    Skip(r"^make exercises\b", "rewrites exercises/; tests/test_assignments.py generates all five "
                               "problem sets with the same routine and compares with exercises/"),
    Skip(r"^python3 -m venv .venv && ", "installs a new environment from the LMS bundle; "
                                       "tests/test_release.py installs the bundle's wheel into a "
                                       "fresh venv and validates with it"),
    Skip(r"^(\.venv/bin/)?jupyter lab\b|^(\.venv/bin/)?actlab formgrader\b",
         "starts a server that runs until it is stopped; tests/test_browser_lab.py and "
         "tests/test_grading_formgrader.py start them"),
    Skip(r"^(\.venv/bin/)?actlab collect\b", "needs an LMS's submissions download; "
                                             "tests/test_grading_collect.py unpacks Canvas and "
                                             "Moodle ones"),
    Skip(r"^(\.venv/bin/)?actlab export\b", "needs a gradebook with grades and an LMS export; "
                                            "tests/test_grading_lms.py runs the loop"),
    Run(r"^make release\b", output="activation-functions-exercises.zip"),
    Run(r"^(\.venv/bin/)?actlab experiment\b", append=TINY_EXPERIMENT, output="test acc"),
    # A fresh copy fails its tests; make reports a failed recipe with status 2.
    Run(r"^make validate FILE=mywork/", status=2, output="VALIDATION FAILED", work_copy=True),
]


def shell_commands() -> list[Command]:
    """Every command line of every fenced shell block in README.md and book/**/*.md."""
    files = [REPO / "README.md", *sorted((REPO / "book").rglob("*.md"))]
    commands = []
    for path in files:
        if "_build" in path.parts:
            continue
        fence, language, pending, start = None, None, "", 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if fence is None:
                match = re.match(r"^(`{3,}|~{3,})\s*\{?([\w-]*)\}?", stripped)
                if match:
                    fence, language = match.group(1), match.group(2)
                continue
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = None
                continue
            if language not in SHELL_LANGUAGES:
                continue
            text = stripped[2:] if language == "console" and stripped.startswith("$ ") else stripped
            if not pending:
                start = number
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            text = re.sub(r"\s+#.*$", "", pending + text).strip()
            pending = ""
            if text and not text.startswith("#"):
                commands.append(Command(str(path.relative_to(REPO)), start, text))
    return commands


def rule_for(command: Command) -> Run | Skip | None:
    return next((r for r in RULES if re.search(r.pattern, command.text)), None)


COMMANDS = shell_commands()


def test_the_readme_and_the_book_have_shell_blocks_to_check():
    """Does the parser find the commands that README and the book are known to show?"""
    texts = {c.text for c in COMMANDS}
    assert "make lab" in texts and "make book" in texts
    assert any(t.startswith("make validate FILE=") for t in texts)


def test_every_shell_command_is_run_or_skipped_with_a_reason():
    """Is every command of every shell block either run below or skipped with a reason?"""
    unmatched = [c.id for c in COMMANDS if rule_for(c) is None]
    assert not unmatched, f"add a Run or Skip rule for: {unmatched}"
    assert all(r.reason for r in RULES if isinstance(r, Skip))


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A clean copy of the repository with the course's virtual environment linked in."""
    root = tmp_path_factory.mktemp("checkout")
    copy_clean_tree(REPO, root)
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


RUNS = [c for c in COMMANDS if isinstance(rule_for(c), Run)]


@pytest.mark.grading
@pytest.mark.parametrize("command", RUNS, ids=lambda c: c.id)
def test_shell_command_runs_as_the_text_says(command, checkout, mnist_cache, tmp_path):
    """Does the command, run as written (small sizes added), do what the text promises?"""
    rule = rule_for(command)
    argv = shlex.split(command.text) + list(rule.append)
    if argv[0] == "make":
        # The install stamp is taken as it is: the tests run inside the installed venv.
        argv[1:1] = ["-o", ".venv/.installed"]
    if rule.work_copy:
        sync_work_copy(checkout / "exercises", checkout / "mywork")
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=os.pathsep.join([bindir, "/usr/bin", "/bin"]),
               ACTLAB_CACHE_DIR=str(mnist_cache), MPLBACKEND="Agg")
    proc = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == rule.status, out[-3000:]
    assert rule.output in out, out[-3000:]
