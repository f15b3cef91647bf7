"""The learner's JupyterLab: a work copy of the problem sets, and a Lab set up to work in.

``actlab lab`` (what ``make lab`` runs) does two things.

1. It keeps the learner's **work copy** ``mywork/`` (git-ignored): every problem set of
   ``exercises/`` that is not there yet is copied in; nothing already there is ever
   overwritten, and ``make exercises`` never touches the folder. ``mywork/.releases.json``
   records which release each copy was made from, so that when ``exercises/`` later holds a
   newer release, ``actlab lab`` says which notebooks changed and how to take the new version
   without losing work: ``actlab update NAME`` writes the new release with the learner's
   answer cells carried over (matched by their nbgrader ``grade_id``) and keeps the old
   notebook beside it.
2. It starts **JupyterLab** from the repository root, on 127.0.0.1 only, with this Python as
   the kernel (the course's virtual environment), opening on ``mywork/``. The configuration
   lives in ``jupyter-config/`` (beside ``actlab.json``, the formgrader repair every Jupyter
   of the venv loads):

   * ``jupyter-config/lab-settings/overrides.json``: the book's ``.md`` chapters open as
     notebooks on a double click (jupytext's "Jupytext Notebook" viewer), where
     jupyterlab-myst renders their MyST markup; and Lab never asks to fetch news from the web
     (the course works offline).
   * ``jupyter-config/learner/`` (put first on ``JUPYTER_CONFIG_PATH`` for learners): the
     instructor tools -- nbgrader's Assignment List, Course List, Formgrader, Create
     Assignment and their menu, and actlab's formgrader repair -- are switched off, in the
     browser and on the server; the Validate button stays.
     ``actlab lab --instructor`` (``make instructor-lab``) leaves them on and puts
     ``jupyter-config/instructor/`` first instead.
   * In both, the Validate button is answered by :mod:`actlab.validate_server` (the tests run
     apart from the notebook's code, as when graded), and nbgrader's own
     ``validate_assignment`` server extension, which runs them in the kernel, is off.

   Kernels talk to the server over CurveZMQ-encrypted sockets
   (``transport_encryption='auto'``: the kernelspec declares curve support), so ipykernel has no
   reason to warn that it runs "over TCP without encryption".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import nbformat

from actlab.grading.course import ensure_tools_on_path

#: The course repository this (editable) install of actlab belongs to.
REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_DIR_NAME = "mywork"
RELEASES_FILE = ".releases.json"
LAB_CONFIG = REPO_ROOT / "jupyter-config"


# --------------------------------------------------------------------------------------------
# The work copy
# --------------------------------------------------------------------------------------------


@dataclass
class WorkCopy:
    """What :func:`sync_work_copy` found and did.

    ``copied``: problem sets copied from the release because the work copy lacked them;
    ``outdated``: problem sets whose release changed since the learner's copy was made (the
    copy is left as it is); ``current``: the others.
    """

    work_dir: Path
    copied: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def report(self, command: str = "actlab update") -> str:
        """What a learner needs to read before starting: new copies, newer releases, the fix."""
        lines = []
        where = _shown(self.work_dir)
        if self.copied:
            lines.append(f"Copied into {where}/: {', '.join(self.copied)}.")
        if self.outdated:
            lines.append(f"exercises/ has a newer release of {len(self.outdated)} problem "
                         f"set(s) than your copy in {where}/:")
            for name in self.outdated:
                lines.append(f"  {name}: your {where}/{name}/{name}.ipynb is unchanged")
            lines.append("To take the new version and keep your answers, run")
            lines.append(f"  {command} {' '.join(self.outdated)}")
            lines.append("It copies your answer cells into the new notebook and keeps your "
                         "old one beside it.")
        return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release_notebooks(release_dir: Path) -> dict[str, Path]:
    """Problem-set name -> its released notebook ``<release_dir>/<name>/<name>.ipynb``."""
    return {p.parent.name: p for p in sorted(release_dir.glob("*/*.ipynb"))
            if p.stem == p.parent.name}


def _read_releases(work_dir: Path) -> dict[str, str]:
    path = work_dir / RELEASES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_releases(work_dir: Path, releases: dict[str, str]) -> None:
    (work_dir / RELEASES_FILE).write_text(json.dumps(releases, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")


def answers_in(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of a notebook's answer cells (nbgrader's solution cells)."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def write_answers(nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """Write ``answers`` (grade_id -> source) into the answer cells of those ids, in place;
    answer cells not named keep their source. Returns ``nb``."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    return nb


def _locked_sources(path: Path) -> dict[str, str]:
    """grade_id -> source of a notebook's read-only cells (instructions, tests, set-up)."""
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("locked")}


def sync_work_copy(release_dir: Path, work_dir: Path) -> WorkCopy:
    """Copy the problem sets that ``work_dir`` lacks; find the ones with a newer release.

    A copy is outdated when the release it was made from (recorded in ``.releases.json``)
    differs from today's; a copy made some other way is outdated when its read-only cells
    differ from the release's. Nothing already in ``work_dir`` is overwritten.
    """
    release_dir, work_dir = Path(release_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    releases = _read_releases(work_dir)
    state = WorkCopy(work_dir)
    for name, released in release_notebooks(release_dir).items():
        mine = work_dir / name / f"{name}.ipynb"
        if not mine.exists():
            mine.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(released, mine)
            releases[name] = _digest(released)
            state.copied.append(name)
            continue
        recorded = releases.get(name)
        if recorded is None:
            newer = _locked_sources(mine) != _locked_sources(released)
            if not newer:
                releases[name] = _digest(released)
        else:
            newer = recorded != _digest(released)
        (state.outdated if newer else state.current).append(name)
    _write_releases(work_dir, releases)
    return state


def take_release(name: str, release_dir: Path, work_dir: Path) -> tuple[Path, Path]:
    """Replace the learner's copy of ``name`` with the current release, keeping their answers.

    Every answer cell (an nbgrader solution cell) of the new release gets the learner's text
    of the cell with the same ``grade_id``; the old notebook is kept as
    ``<name>/<name>.before-update-<time>.ipynb``. Returns (new notebook, kept old notebook).
    Raises ``ValueError`` for an unknown problem set, ``FileNotFoundError`` for a missing copy.
    """
    from actlab.util import unknown_name

    release_dir, work_dir = Path(release_dir), Path(work_dir)
    released = release_notebooks(release_dir)
    if name not in released:
        raise unknown_name("problem set", name, released)
    mine = work_dir / name / f"{name}.ipynb"
    if not mine.is_file():
        raise FileNotFoundError(f"no work copy {mine} to update; `actlab lab` creates it")
    answers = answers_in(nbformat.read(mine, as_version=4))
    new = write_answers(nbformat.read(released[name], as_version=4), answers)
    kept = mine.with_name(f"{name}.before-update-{time.strftime('%Y%m%d-%H%M%S')}.ipynb")
    shutil.move(mine, kept)
    nbformat.write(new, mine)
    releases = _read_releases(work_dir)
    releases[name] = _digest(released[name])
    _write_releases(work_dir, releases)
    return mine, kept


# --------------------------------------------------------------------------------------------
# JupyterLab
# --------------------------------------------------------------------------------------------


def lab_command(root: Path = REPO_ROOT, *, instructor: bool = False, open_dir: Path | None = None,
                port: int | None = None, token: str | None = None, open_browser: bool = True,
                extra_args: Sequence[str] = ()) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start the course's JupyterLab from ``root``.

    Learners get ``jupyter-config/learner`` first on ``JUPYTER_CONFIG_PATH`` (nbgrader's instructor
    tools off), instructors (``instructor=True``) ``jupyter-config/instructor`` (nbgrader's tools
    on); both validate with :mod:`actlab.validate_server`. ``open_dir`` is the folder
    the file browser opens on (default: ``root``); ``port`` None lets the server pick a free
    one; ``token`` None lets it make one up. Run the command with ``cwd=root``: the Validate
    button reads ``nbgrader_config.py`` from the server's working folder.
    """
    root = Path(root).resolve()
    ensure_tools_on_path()  # the kernelspec starts `python` by name: this venv's must come first
    env = dict(os.environ)
    mine = LAB_CONFIG / ("instructor" if instructor else "learner")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(mine), *filter(None, [env.get("JUPYTER_CONFIG_PATH")])])
    argv = [sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            f"--FileContentsManager.preferred_dir={Path(open_dir or root).resolve()}",
            f"--LabApp.app_settings_dir={LAB_CONFIG / 'lab-settings'}",
            "--MappingKernelManager.transport_encryption=auto",
            f"--ServerApp.open_browser={open_browser}"]
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Jupyter refuses to start as root unless told; a course container or CI runs as root,
        # and the server listens on 127.0.0.1 with a token either way.
        argv.append("--ServerApp.allow_root=True")
    argv.extend(extra_args)
    return argv, env


def main(argv: Sequence[str] | None = None, prog: str = "actlab lab") -> int:
    """``actlab lab``: sync ``mywork/``, report newer releases, then run JupyterLab."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Start JupyterLab on 127.0.0.1 for the course, on your work copy mywork/ "
                    "(created from exercises/ when missing; never overwritten).")
    parser.add_argument("--instructor", action="store_true",
                        help="keep nbgrader's instructor tools (formgrader, create assignment, "
                             "course and assignment lists); no work copy")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / WORK_DIR_NAME,
                        help=f"the work copy (default: {WORK_DIR_NAME}/ in the repository)")
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args, rest = parser.parse_known_args(argv)
    open_dir = REPO_ROOT / "solutions" if args.instructor else args.work
    if not args.instructor:
        state = sync_work_copy(REPO_ROOT / "exercises", args.work)
        message = state.report()
        if message:
            print(message, flush=True)
    command, env = lab_command(REPO_ROOT, instructor=args.instructor, open_dir=open_dir,
                               port=args.port, open_browser=not args.no_browser, extra_args=rest)
    os.chdir(REPO_ROOT)
    os.execve(command[0], command, env)
    return 0  # not reached: the process is JupyterLab now


def update_main(argv: Sequence[str] | None = None, prog: str = "actlab update") -> int:
    """``actlab update NAME...``: take the newer release of problem sets, keeping answers."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Replace your copy of a problem set in mywork/ with the newer release in "
                    "exercises/, carrying your answers over; your old notebook is kept beside it.")
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="problem sets, e.g. ps2_saturation")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / WORK_DIR_NAME)
    args = parser.parse_args(argv)
    status = 0
    for name in args.names:
        try:
            new, kept = take_release(name, REPO_ROOT / "exercises", args.work)
        except (ValueError, FileNotFoundError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            status = 2
            continue
        print(f"{_shown(new)}: the new release, with your answers")
        print(f"{_shown(kept)}: your notebook as it was")
    return status
