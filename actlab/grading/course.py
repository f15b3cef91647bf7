"""The course side of grading: find the course, read its nbgrader config, build templates.

A *template* is everything one grading job needs to know about an assignment, packed into
bytes so that it can travel to a worker process or a Dask worker without a shared
filesystem: a private course folder in which ``nbgrader generate_assignment`` has already
run (its SQLite gradebook, the instructor source and the generated release version).
The parent builds each template once; every job unpacks its own copy, so no two jobs ever
write to the same SQLite file.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

CONFIG_NAME = "nbgrader_config.py"
# Sections of the nbgrader config that matter inside a job. CourseDirectory is left out on
# purpose: the job lays out its own private course folder.
_JOB_CONFIG_SKIP = {"CourseDirectory", "NbGrader", "NbGraderAPI", "Exchange"}


class CourseError(Exception):
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

    ``config`` is the traitlets ``Config`` loaded from that file.
    """

    root: Path
    config: object
    source_dir: Path = field(init=False)
    release_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        cd = self.config.CourseDirectory
        self.root = Path(self.root).resolve()
        self.source_dir = self.root / cd.get("source_directory", "source")
        self.release_dir = self.root / cd.get("release_directory", "release")

    @property
    def course_id(self) -> str:
        return str(self.config.CourseDirectory.get("course_id", "default_course"))

    @property
    def db_url(self) -> str:
        return str(self.config.CourseDirectory.get("db_url", f"sqlite:///{self.root / 'gradebook.db'}"))

    @property
    def ignore(self) -> list[str]:
        return list(self.config.CourseDirectory.get(
            "ignore", [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]))

    def assignments(self) -> list[str]:
        """Names of the assignments in the source folder (sorted)."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_")) and any(p.glob("*.ipynb")))

    def job_config(self) -> dict:
        """The course's nbgrader config as a plain, picklable dict (job-relevant sections)."""
        return _plain(self.config, skip=_JOB_CONFIG_SKIP)


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


def find_course_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding nbgrader_config.py."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise CourseError(f"no {CONFIG_NAME} found in {here} or any parent folder; "
                      "run from inside the course or pass --course DIR")


def load_course(root: Path | str) -> Course:
    """Load the course whose ``nbgrader_config.py`` sits in ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
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
    """Make creating a gradebook work, and fast, from an unactivated venv.

    Puts this interpreter's bin folder on PATH for any other tool nbgrader starts.

    nbgrader stamps a new gradebook by running the ``alembic`` command found on PATH, which
    fails when the venv is used without being activated (``.venv/bin/actlab grade ...``).
    """
    import nbgrader.api

    # nbgrader learns that version by starting the `alembic` command, a fresh Python that
    # imports alembic and nbgrader: seconds per new gradebook on a busy machine. Reading
    # the same migration scripts here gives the same answer (asserted in the tests).
    nbgrader.api.get_alembic_version = _alembic_head
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def build_template(course: Course, assignment: str) -> AssignmentTemplate:
    """Run ``generate_assignment`` for ``assignment`` in a private folder and pack it.

    Nothing in the course folder is written: the release version and gradebook this
    produces live only in the returned archive.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    src = course.source_dir / assignment
    if not src.is_dir():
        raise CourseError(f"unknown assignment {assignment!r}; "
                          f"valid names: {', '.join(course.assignments()) or '(none)'}")
    with tempfile.TemporaryDirectory(prefix="actlab-template-") as tmp:
        tmp = Path(tmp)
        ignore = shutil.ignore_patterns(*course.ignore)
        shutil.copytree(src, tmp / "source" / assignment, ignore=ignore)
        cfg = copy.deepcopy(course.config)
        cd = cfg.CourseDirectory
        cd.root = str(tmp)
        cd.source_directory = "source"
        cd.release_directory = "release"
        cd.db_url = f"sqlite:///{tmp / 'gradebook.db'}"
        cd.assignment_id = assignment
        cd.course_id = course.course_id
        coursedir = CourseDirectory(config=cfg)
        converter = GenerateAssignment(coursedir=coursedir, config=cfg)
        converter.log.setLevel("ERROR")
        try:
            converter.start()
        except Exception as exc:
            raise CourseError(f"generate_assignment failed for {assignment!r}: {exc}") from exc

        release = tmp / "release" / assignment
        notebooks = tuple(sorted(p.stem for p in release.glob("*.ipynb")))
        cells = []
        for name in notebooks:
            nb = nbformat.read(release / f"{name}.ipynb", as_version=4)
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("grade") or meta.get("task"):
                    cells.append(GradeCellInfo(name, meta["grade_id"], float(meta.get("points", 0))))
        return AssignmentTemplate(assignment, course.course_id, notebooks, tuple(cells),
                                  pack_folder(tmp))


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


def matches_any(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


# --------------------------------------------------------------------------------------
# A tiny self-contained course: used by the tests and the benchmark while the real problem
# sets are in flux, and handy for trying `actlab grade` without student data.

DEMO_ASSIGNMENT = "ps0_demo"
_DEMO_SOLUTION = '''def leaky(x, alpha=0.1):
    """Leaky ReLU of a float: x if x > 0 else alpha * x."""
    ### BEGIN SOLUTION
    return x if x > 0 else alpha * x
    ### END SOLUTION'''
_DEMO_TEST_POSITIVE = "assert leaky(2.0) == 2.0\nassert leaky(0.5) == 0.5"
_DEMO_TEST_NEGATIVE = ("assert abs(leaky(-2.0) - (-0.2)) < 1e-12\n"
                       "### BEGIN HIDDEN TESTS\n"
                       "assert abs(leaky(-1.0, alpha=0.5) - (-0.5)) < 1e-12\n"
                       "### END HIDDEN TESTS")

# What a student could hand in: the body that replaces the solution region.
DEMO_ANSWERS = {
    "correct": "    return x if x > 0 else alpha * x",
    "partial": "    return max(x, 0.0)",  # right for x > 0 only
    "wrong": "    return -x",
}


def nbgrader_cell(source: str, grade_id: str, *, cell_type: str = "code", solution=False,
                  grade=False, points=0):
    """A code (or markdown) cell with nbgrader's metadata; locked unless it is a solution."""
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    meta = {"grade": grade, "solution": solution, "locked": not solution,
            "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def write_demo_course(root: Path | str, assignment: str = DEMO_ASSIGNMENT) -> Path:
    """Write a minimal course (config + one source notebook, 3 points) under ``root``.

    The notebook has one solution cell (``leaky``) and two autograded test cells worth
    1 and 2 points, the second with hidden tests. Returns the course root.
    """
    root = Path(root)
    (root / "source" / assignment).mkdir(parents=True, exist_ok=True)
    (root / CONFIG_NAME).write_text(
        "c = get_config()  # noqa: F821\n"
        "import os\n"
        "_ROOT = os.path.dirname(os.path.abspath(__file__))\n"
        "c.CourseDirectory.root = _ROOT\n"
        "c.CourseDirectory.course_id = 'demo'\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        "c.CourseDirectory.db_url = 'sqlite:///' + os.path.join(_ROOT, 'gradebook.db')\n"
        "c.Execute.timeout = 60\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("Write `leaky(x, alpha)`."),
        nbgrader_cell(_DEMO_SOLUTION, "leaky", solution=True),
        nbgrader_cell(_DEMO_TEST_POSITIVE, "test_leaky_positive", grade=True, points=1),
        nbgrader_cell(_DEMO_TEST_NEGATIVE, "test_leaky_negative", grade=True, points=2),
    ]
    nbformat.write(nb, root / "source" / assignment / f"{assignment}.ipynb")
    return root


def demo_submission(release_nb_path: Path | str, kind: str) -> bytes:
    """A student notebook made from the release version: ``kind`` in DEMO_ANSWERS or 'blank'."""
    nb = nbformat.read(release_nb_path, as_version=4)
    if kind != "blank":
        body = DEMO_ANSWERS[kind]
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                lines = cell.source.splitlines()
                keep = [ln for ln in lines if "YOUR CODE HERE" not in ln and "NotImplementedError" not in ln]
                cell.source = "\n".join(keep + [body])
    return nbformat.writes(nb).encode()
