"""The course: the one place where ``actlab`` drives nbgrader's course machinery.

A :class:`Course` is the folder that holds ``nbgrader_config.py`` (:func:`load_course`,
:func:`find_course_root`), with that file's traitlets ``Config``. Everything else asks it:

* **configuration**: folders, course id, gradebook URL, ignore patterns, stubs and timeouts are
  read from ``nbgrader_config.py`` only; :meth:`Course.private_config` is the same config for a
  private course folder, and :meth:`Course.job_config` the part a grading job needs;
* **the assignment list**: :meth:`Course.assignments`, the folders of the source directory
  (``solutions/``) that hold a notebook;
* **generation**: :meth:`Course.generate` runs nbgrader's ``GenerateAssignment`` for one
  assignment in a private course folder, never in the course's own. Two things are built on
  it: :meth:`Course.write_exercises`, the student versions in the release directory
  (``exercises/``; ``actlab exercises``, which ``make exercises`` runs), and
  :meth:`Course.build_template`, what a grading job needs to know about an assignment;
* **tools on PATH**: :func:`ensure_tools_on_path`.

A *template* is packed into bytes so that it can travel to a worker process or a Dask worker
without a shared filesystem: a private course folder in which generation has run (its SQLite
gradebook, the instructor source and the generated release version). The parent builds each
template once; every job unpacks its own copy, so no two jobs ever write to the same SQLite
file.
"""

from __future__ import annotations

import argparse
import copy
import functools
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import nbformat
from traitlets.config import Config

from ..util import progress as progress_bar
from ..util import unknown_name

CONFIG_NAME = "nbgrader_config.py"
# Sections of the nbgrader config that matter inside a job. CourseDirectory is left out on
# purpose: the job lays out its own private course folder.
_JOB_CONFIG_SKIP = {"CourseDirectory", "NbGrader", "NbGraderAPI", "Exchange"}
# What a private course folder keeps of the course's CourseDirectory; its layout is nbgrader's
# default (source/, release/, submitted/, autograded/, feedback/) under its own root.
_PRIVATE_KEEPS = ("course_id", "ignore", "include", "max_file_size")


class CourseError(ValueError):
    """The course folder, its config or an assignment cannot be used (a usage error)."""


@dataclass(frozen=True)
class GradeCellInfo:
    """One graded cell of an assignment notebook, in notebook order."""

    notebook: str
    grade_id: str
    max_score: float


@dataclass(frozen=True)
class AssignmentTemplate:
    """A generated assignment ready to ship to a grading job.

    ``archive`` is a tar (bytes) of a private course folder holding ``gradebook.db``,
    ``source/<name>/`` and ``release/<name>/``. ``notebooks`` are the notebook names
    (without ``.ipynb``) the gradebook expects; ``cells`` lists every graded cell in
    notebook order, which fixes the row order of ``details.csv``.
    """

    name: str
    course_id: str
    notebooks: tuple[str, ...]
    cells: tuple[GradeCellInfo, ...]
    archive: bytes

    @property
    def max_score(self) -> float:
        return float(sum(c.max_score for c in self.cells))


@dataclass
class Course:
    """A course folder: the one holding ``nbgrader_config.py``.

    ``config`` is the traitlets ``Config`` loaded from that file; the folders and names below
    are nbgrader's reading of it (its defaults where the file is silent).
    """

    root: Path
    config: Config
    source_dir: Path = field(init=False)
    release_dir: Path = field(init=False)
    course_id: str = field(init=False)
    db_url: str = field(init=False)
    ignore: list = field(init=False)

    def __post_init__(self) -> None:
        from nbgrader.coursedir import CourseDirectory

        self.root = Path(self.root).resolve()
        cfg = copy.deepcopy(self.config)
        cfg.CourseDirectory.root = str(self.root)
        coursedir = CourseDirectory(config=cfg)
        self.source_dir = self.root / coursedir.source_directory
        self.release_dir = self.root / coursedir.release_directory
        # nbgrader's Gradebook names an unnamed course "default_course".
        self.course_id = coursedir.course_id or "default_course"
        self.db_url = coursedir.db_url
        self.ignore = list(coursedir.ignore)

    def assignments(self) -> list[str]:
        """Names of the assignments: folders of the source directory holding a notebook (sorted)."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))
                      and any(p.glob("*.ipynb")))

    def check_assignment(self, name: str) -> None:
        """Raise :class:`CourseError` listing the valid names unless ``name`` is an assignment."""
        valid = self.assignments()
        if name not in valid:
            raise CourseError(str(unknown_name("assignment", name, valid)))

    def job_config(self) -> dict:
        """The course's nbgrader config as a plain, picklable dict (job-relevant sections)."""
        return _plain(self.config, skip=_JOB_CONFIG_SKIP)

    def private_config(self, folder: Path | str) -> Config:
        """The course's nbgrader config for a private course folder at ``folder``.

        The folder has nbgrader's default layout and its own ``gradebook.db``; the course id,
        the ignore patterns, the stubs, the timeouts and every other setting are the course's.
        """
        folder = Path(folder).resolve()
        cfg = copy.deepcopy(self.config)
        kept = {k: v for k, v in cfg.CourseDirectory.items() if k in _PRIVATE_KEEPS}
        cfg.CourseDirectory = Config(kept)
        cfg.CourseDirectory.root = str(folder)
        cfg.CourseDirectory.course_id = self.course_id
        cfg.CourseDirectory.db_url = f"sqlite:///{folder / 'gradebook.db'}"
        return cfg

    def generate(self, assignment: str, folder: Path | str) -> Path:
        """Run nbgrader's ``GenerateAssignment`` for ``assignment`` in the private course folder
        ``folder``.

        The instructor version is copied to ``folder/source/<assignment>``, the student version
        is written to ``folder/release/<assignment>`` (returned) and the assignment's cells are
        recorded in ``folder/gradebook.db``; ``folder`` may already hold other assignments.
        Nothing in the course folder is written. Raises :class:`CourseError` for an unknown
        assignment and when nbgrader fails (with nbgrader's error lines).
        """
        from nbgrader.converters import GenerateAssignment
        from nbgrader.coursedir import CourseDirectory

        self.check_assignment(assignment)
        ensure_tools_on_path()
        folder = Path(folder).resolve()
        source = folder / "source" / assignment
        if source.exists():
            shutil.rmtree(source)
        shutil.copytree(self.source_dir / assignment, source,
                        ignore=shutil.ignore_patterns(*self.ignore))
        cfg = self.private_config(folder)
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = assignment
        converter = GenerateAssignment(coursedir=coursedir, config=cfg)
        converter.force = True
        converter.log.setLevel(logging.ERROR)
        errors = _Collect()
        converter.log.addHandler(errors)
        try:
            converter.start()
        except Exception as exc:  # nbgrader wraps its own errors in NbGraderException
            detail = "\n".join(errors.lines[-3:]) or str(exc)
            raise CourseError(f"nbgrader could not generate {assignment}:\n{detail}") from exc
        finally:
            converter.log.removeHandler(errors)
        release = folder / "release" / assignment
        if not any(release.glob("*.ipynb")):
            raise CourseError(f"nbgrader produced no student notebook for {assignment}")
        return release

    def write_exercises(self, assignments: Iterable[str] | None = None,
                        release_dir: Path | str | None = None, *, progress: bool | None = None,
                        work_dir: Path | str | None = None) -> list[Path]:
        """Generate the student version of each assignment into ``release_dir``.

        ``assignments``: names, all of them by default; every name is checked before anything
        is written. ``release_dir``: where ``<name>/`` folders go, the course's release
        directory (``exercises/``) by default; an existing ``<name>`` folder there is replaced.
        ``work_dir``: the private course folder to generate in, kept afterwards with its
        ``source/``, ``release/`` and a ``gradebook.db`` that holds every assignment (tests
        autograde against it); a temporary folder by default. ``progress``: a bar, by default
        only on a terminal. nbgrader's ``ClearOutput`` step leaves no outputs in what is
        written. Returns the student notebooks written.
        """
        names = self.assignments() if assignments is None else list(assignments)
        for name in names:
            self.check_assignment(name)
        release_dir = Path(release_dir) if release_dir is not None else self.release_dir
        written = []
        with tempfile.TemporaryDirectory(prefix="actlab-generate-") as tmp:
            folder = Path(work_dir if work_dir is not None else tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for name in progress_bar(names, enabled=progress, desc="generate", unit="assignment"):
                produced = self.generate(name, folder)
                target = release_dir / name
                if target.exists():
                    shutil.rmtree(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(produced, target)
                written += sorted(target.glob("*.ipynb"))
        return written

    def build_template(self, assignment: str) -> AssignmentTemplate:
        """Generate ``assignment`` in a private folder and pack that folder for grading jobs.

        Nothing in the course folder is written: the release version and gradebook this
        produces live only in the returned archive.
        """
        with tempfile.TemporaryDirectory(prefix="actlab-template-") as tmp:
            tmp = Path(tmp)
            release = self.generate(assignment, tmp)
            notebooks = tuple(sorted(p.stem for p in release.glob("*.ipynb")))
            cells = []
            for name in notebooks:
                nb = nbformat.read(release / f"{name}.ipynb", as_version=4)
                for cell in nb.cells:
                    meta = cell.get("metadata", {}).get("nbgrader", {})
                    if meta.get("grade") or meta.get("task"):
                        cells.append(GradeCellInfo(name, meta["grade_id"],
                                                   float(meta.get("points", 0))))
            return AssignmentTemplate(assignment, self.course_id, notebooks, tuple(cells),
                                      pack_folder(tmp))


class _Collect(logging.Handler):
    """Keeps nbgrader's error log lines, to put them in the exception we raise."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _plain(cfg, skip=frozenset()) -> dict:
    """Convert a traitlets Config to nested dicts of JSON-able values, dropping the rest."""
    out = {}
    for key, value in cfg.items():
        if key in skip:
            continue
        if hasattr(value, "items"):
            out[key] = _plain(value)
            continue
        try:
            json.dumps(value)
        except TypeError:
            continue  # classes and callables cannot travel; the job falls back to defaults
        out[key] = value
    return out


def add_course_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--course DIR`` option of every command that works on the course; without it,
    :func:`load_course` finds the course from the current folder."""
    parser.add_argument("--course", type=Path,
                        help="course folder (default: found from the current folder)")


def find_course_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding nbgrader_config.py."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise CourseError(f"no {CONFIG_NAME} found in {here} or any parent folder; "
                      "run from inside the course or pass --course DIR")


def load_course(root: Path | str | None = None) -> Course:
    """Load the course whose ``nbgrader_config.py`` sits in ``root`` (default: found from cwd)."""
    from traitlets.config.loader import PyFileConfigLoader

    root = find_course_root() if root is None else Path(root).resolve()
    if not (root / CONFIG_NAME).is_file():
        raise CourseError(f"{root} has no {CONFIG_NAME}")
    try:
        config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()
    except Exception as exc:  # a broken config file is the user's to fix, not a crash
        raise CourseError(f"cannot load {root / CONFIG_NAME}: {exc}") from exc
    return Course(root=root, config=config)


@functools.lru_cache(maxsize=1)
def _alembic_head() -> str:
    """The gradebook schema version nbgrader stamps into a new gradebook, read in-process."""
    import nbgrader
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def ensure_tools_on_path() -> None:
    """Make nbgrader work, and create gradebooks fast, from an unactivated venv.

    Puts this interpreter's bin folder on PATH, for this process and its children: nbgrader
    stamps a new gradebook by running the ``alembic`` command found on PATH, and the venv's
    ``python3`` kernelspec starts ``python`` by name; neither is on PATH when the venv is
    used without being activated (``.venv/bin/actlab grade ...``).
    """
    import nbgrader.api

    # nbgrader learns the schema version by starting the `alembic` command, a fresh Python
    # that imports alembic and nbgrader: seconds per new gradebook on a busy machine. Reading
    # the same migration scripts here gives the same answer (asserted in the tests).
    nbgrader.api.get_alembic_version = _alembic_head
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def silence_nbgrader_warnings() -> None:
    """Hide, for the rest of this process, the warnings nbgrader 0.9 trips in SQLAlchemy 2
    about its own session handling: they are not ours to fix and would bury a command's
    summary."""
    warnings.filterwarnings("ignore", module=r"nbgrader\..*")
    warnings.filterwarnings("ignore", message=r".*not in session.*")


def pack_folder(folder: Path) -> bytes:
    """A tar of ``folder`` with sorted entries and zeroed times (same input, same bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_file():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def unpack_folder(archive: bytes, dest: Path) -> None:
    """Extract an archive made by :func:`pack_folder` into ``dest``."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(dest, filter="data")


def exercises_main(argv: Sequence[str] | None = None, prog: str = "actlab exercises") -> int:
    """``actlab exercises [NAME ...]``: regenerate the student versions (``make exercises``).

    Returns the exit status: 0 done, 1 nbgrader failed, 2 usage error (an unknown name).
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Generate the student versions of the problem sets (exercises/) from the "
                    "instructor versions (solutions/) with nbgrader.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="assignments to generate (default: every one)")
    add_course_argument(parser)
    parser.add_argument("--release", type=Path,
                        help="where the <name>/ folders go (default: the course's release folder)")
    args = parser.parse_args(argv)  # exits 2 on bad usage and 0 for --help, as argparse does
    try:
        course = load_course(args.course)
        for name in args.names:
            course.check_assignment(name)
    except CourseError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        paths = course.write_exercises(args.names or None, args.release)
    except CourseError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0
