"""One submission = one job: picklable bytes in, picklable rows and feedback out.

:func:`run_job` is what a process-pool worker or a Dask worker runs. It needs no shared
filesystem: the :class:`JobSpec` carries the student's notebooks and the assignment
template (see :mod:`actlab.grading.course`) as bytes, and the :class:`JobResult` carries
back the score of every graded cell, the feedback HTML and the autograded notebooks.

Inside, the job lays out a private course folder in a temporary directory, with its own
copy of the template gradebook, and applies nbgrader's own autograde preprocessors
(sanitize, execute, save grades) and its feedback exporter directly, without starting
nbgrader's converter applications: the scores are nbgrader's, the start-up costs are not
paid per notebook. Every phase is timed and the timings are returned.

Safety: ``intake.inspect_submission`` before anything runs, ``integrity.scan`` on what the
student handed in, and ``sandbox.SandboxedExecute`` in place of nbgrader's ``Execute``
(with ``--no-sandbox`` too: same limits and caps, no isolation).
"""

from __future__ import annotations

import functools
import importlib
import os
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

# Every status a submission or notebook can end with, mildest first; a submission takes
# the most severe status among its notebooks.
STATUSES = ("graded", "missing", "no_notebook", "several_notebooks", "quarantined", "crashed",
            "timed_out", "killed_memory", "tampering_suspected")


def worst_status(statuses) -> str:
    statuses = list(statuses) or ["missing"]
    return max(statuses, key=STATUSES.index)


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to grade one student's copy of one assignment.

    ``notebooks`` maps a notebook name (without ``.ipynb``) to the raw bytes the student
    handed in; names the assignment expects but the student did not hand in are graded as
    missing. ``template`` is :attr:`AssignmentTemplate.archive`; ``config`` is the course's
    nbgrader config as plain dicts (:meth:`Course.job_config`). ``extra_files`` maps
    relative paths to bytes of other files in the student's folder (for intake checks).
    """

    student_id: str
    assignment: str
    notebooks: dict
    template: bytes
    expected_notebooks: tuple
    config: dict = field(default_factory=dict)
    course_id: str = "default_course"
    sandbox: bool = True
    extra_files: dict = field(default_factory=dict)


class GradeRow(NamedTuple):
    """The grade of one graded cell, as the job's private gradebook recorded it."""

    grade_id: str
    score: float
    max_score: float
    auto_score: float | None
    needs_manual_grade: bool


@dataclass
class NotebookResult:
    """The outcome for one notebook: its status, and a :class:`GradeRow` per graded cell.

    ``test_reasons`` says, per failed test cell (grade_id), why it failed in one line."""

    name: str
    status: str
    reason: str = ""
    grades: list[GradeRow] = field(default_factory=list)
    feedback_html: str | None = None
    autograded: bytes | None = None
    findings: list = field(default_factory=list)
    test_reasons: dict = field(default_factory=dict)


@dataclass
class JobResult:
    """What a job sends back. ``timings`` are seconds per phase (see :func:`run_job`)."""

    student_id: str
    assignment: str
    status: str
    notebooks: list
    timings: dict
    worker: str = ""

    @property
    def score(self) -> float:
        return float(sum(g[1] for nb in self.notebooks for g in nb.grades))

    @property
    def reason(self) -> str:
        return "; ".join(f"{nb.name}: {nb.reason}" for nb in self.notebooks if nb.reason)

    @property
    def overhead(self) -> float:
        """Job time spent neither in the student's code nor in the tests: everything but the
        kernel's cells and the judged test cells (``cells``)."""
        return self.timings.get("total", 0.0) - self.timings.get("cells", 0.0)


# ----------------------------------------------------------------------------------------
# Warm, per-process caches: a worker builds these once and reuses them for every job.

@functools.lru_cache(maxsize=1)
def _preprocessor_classes():
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                        DeduplicateIds, Execute, IgnorePattern, LimitOutput,
                                        OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
    # Same lists, same order as nbgrader's Autograde converter (nbgrader 0.9).
    sanitize = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
    autograde = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                 AssignLatePenalties, CheckCellMetadata]
    return sanitize, autograde


def _feedback_exporter_class():
    from nbconvert.exporters import HTMLExporter, TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FeedbackExporter(HTMLExporter):
        """HTMLExporter that skips its BeautifulSoup pass when the page has no image.

        That pass re-parses the whole page (most of it inlined CSS) to give images alt
        text and lab-template cells a tabindex; nbgrader's feedback template is the
        classic one, which has no such cells, so without images it changes nothing and
        costs about half of the feedback time. Notebooks that may show an image get the
        full HTMLExporter; either way the page is rendered once.
        """

        def from_notebook_node(self, nb, resources=None, **kw):
            if _may_show_images(nb):
                return super().from_notebook_node(nb, resources, **kw)
            # HTMLExporter.from_notebook_node up to its BeautifulSoup pass.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return FeedbackExporter


def _may_show_images(nb) -> bool:
    """Whether the rendered page could contain an <img>: image outputs, HTML outputs with
    one, or markdown with an image or attachment."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if "<img" in cell.source or "![" in cell.source or cell.get("attachments"):
                return True
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if (any(k.startswith("image/") for k in data)
                    or "<img" in str(data.get("text/html", ""))):
                return True
    return False


@functools.lru_cache(maxsize=1)
def _feedback_exporter():
    """nbgrader's feedback HTML exporter, configured as GenerateFeedback configures it."""
    import nbgrader
    from traitlets.config import Config

    HTMLExporter = _feedback_exporter_class()

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    c.HTMLExporter.extra_template_paths = [
        str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    c.HTMLExporter.default_preprocessors = []
    return HTMLExporter(config=c)


def warm_up() -> str:
    """Import and build everything a job needs, so the first job in a worker is not slower.

    Used as the process-pool initializer and run once on every Dask worker.
    """
    _preprocessor_classes()
    _feedback_exporter()
    for name in ("nbgrader.api", "actlab.grading.sandbox", "actlab.grading.intake",
                 "actlab.grading.integrity", "actlab.grading.judge", "actlab.grading.feedback",
                 "actlab.grading.allowlist"):
        importlib.import_module(name)
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        # A pool worker: its judge starts now, while the pool hands out the first jobs. (A
        # parent that forks workers must not start one: the workers would share it.)
        from .judge import prestart

        prestart()
    return f"{os.uname().nodename}:{os.getpid()}"


# ----------------------------------------------------------------------------------------

class _Clock:
    """Accumulates wall time per phase name."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    def phase(self, name):
        clock = self

        class _Phase:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.timings[name] = clock.timings.get(name, 0.0) + time.perf_counter() - self.t0
                return False

        return _Phase()


def _cell_seconds(nb) -> tuple[float, float | None]:
    """Kernel time spent on cells (sum over cells) and when the first cell started (epoch s).

    Read from the timing metadata nbclient records on every executed cell.
    """
    total, first = 0.0, None
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        start, end = ex.get("iopub.status.busy"), ex.get("shell.execute_reply")
        if not (start and end):
            continue
        t0 = datetime.fromisoformat(start).timestamp()
        total += max(0.0, datetime.fromisoformat(end).timestamp() - t0)
        first = t0 if first is None else min(first, t0)
    return total, first


def run_job(spec: JobSpec) -> JobResult:
    """Grade one submission; never raises for a bad notebook (the status says what happened).

    Timings (seconds): ``unpack`` (private course folder), ``intake``, ``sanitize``
    (nbgrader's restore of locked cells), ``execute`` (kernel start, sandbox and cells),
    ``cells`` (time inside cells: the kernel's cells and the judged test cells, proxied calls
    into the kernel included; part of ``execute``), ``kernel_start`` (from the
    start of execution to the first cell, part of ``execute``), ``bookkeeping`` (saving
    grades into the gradebook), ``feedback`` (HTML) and ``total``.
    """
    clock = _Clock()
    t_start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="actlab-job-") as tmp, warnings.catch_warnings():
            # nbgrader 0.9 trips SQLAlchemy 2 warnings about its own session handling.
            warnings.filterwarnings("ignore", message=r".*not in session.*")
            notebooks = _run_in(Path(tmp), spec, clock)
    except Exception as exc:  # the job itself failed: report it, do not take the batch down
        detail = f"grading job failed: {type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=4)
        notebooks = [NotebookResult(n, "crashed", detail + "\n" + tb
                                    if os.environ.get("ACTLAB_DEBUG") else detail)
                     for n in spec.expected_notebooks]
    clock.timings["total"] = time.perf_counter() - t_start
    status = worst_status(nb.status for nb in notebooks)
    return JobResult(spec.student_id, spec.assignment, status, notebooks,
                     {k: round(v, 6) for k, v in clock.timings.items()},
                     worker=f"{os.uname().nodename}:{os.getpid()}")


def _run_in(tmp: Path, spec: JobSpec, clock: _Clock) -> list[NotebookResult]:
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    from .course import unpack_folder
    from .intake import NotebookIntake, inspect_submission

    with clock.phase("unpack"):
        unpack_folder(spec.template, tmp)
        db_url = f"sqlite:///{tmp / 'gradebook.db'}"
        student_dir = tmp / "submitted" / spec.student_id / spec.assignment
        student_dir.mkdir(parents=True)
        for name, data in spec.notebooks.items():
            (student_dir / f"{name}.ipynb").write_bytes(data)
        # The kernel runs in the autograded folder laid out as nbgrader's autograde lays it
        # out: the student's other files, then the instructor's data files over them. Other
        # notebooks go where intake looks for renamed ones; they are never run.
        work_dir = tmp / "autograded" / spec.student_id / spec.assignment
        work_dir.mkdir(parents=True)
        source_dir = tmp / "source" / spec.assignment
        files = [((student_dir if rel.endswith(".ipynb") else work_dir) / rel, data)
                 for rel, data in spec.extra_files.items()]
        files += [(work_dir / p.relative_to(source_dir), p.read_bytes())
                  for p in sorted(source_dir.rglob("*")) if p.is_file() and p.suffix != ".ipynb"]
        for dest, data in files:
            if tmp not in dest.resolve().parents:
                continue  # a path that escapes the folder is never written
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        config = Config(spec.config)

    with clock.phase("intake"):
        intake = inspect_submission(student_dir, tmp / "release" / spec.assignment).notebooks

    with clock.phase("bookkeeping"):
        with Gradebook(db_url, spec.course_id) as gb:
            gb.update_or_create_student(spec.student_id)
            gb.update_or_create_submission(spec.assignment, spec.student_id)

    results = []
    for name in spec.expected_notebooks:
        verdict = intake.get(name) or NotebookIntake(name, False, "not handed in")
        if not verdict.ok:
            # Not handed in under its own name and not found under another one either.
            status = "missing" if name not in spec.notebooks else "quarantined"
            results.append(NotebookResult(name, status, verdict.reason or "rejected at intake",
                                          grades=_grades(db_url, spec, name, zero=True)))
            continue
        # intake.load_checked read it with nbformat.reads: one source string per cell, as
        # the scan and nbgrader's checksums expect.
        instructor = _instructor(tmp / "source" / spec.assignment / f"{name}.ipynb")
        results.append(_grade_notebook(verdict.notebook, name, spec, config, db_url, work_dir,
                                       clock, instructor))
    return results


def _instructor(path: Path) -> dict:
    """What grading takes from the instructor's own notebook, never from the student's: the
    locked cells the judge runs (setup and tests, hidden tests included) and the problem
    set's declaration of the actlab modules it allows."""
    import nbformat

    from .allowlist import read_declaration
    from .executor import instructor_cells

    nb = nbformat.read(path, as_version=4)
    return {"instructor_cells": instructor_cells(nb), "declaration": read_declaration(nb)}


def _grades(db_url, spec, name, zero=False) -> list:
    """Per graded cell of ``name``, from the private gradebook:
    (grade_id, score, max_score, auto_score or None, needs_manual_grade).

    ``zero``: the notebook was refused before grading; every cell scores 0 and none waits
    for manual grading (report.merge_into_gradebook records the same in the course's)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, spec.course_id) as gb:
        sub = gb.find_submission_notebook(name, spec.assignment, spec.student_id)
        rows = []
        for g in sub.grades:
            score = 0.0 if zero else float(g.score or 0.0)
            auto = 0.0 if zero else (None if g.auto_score is None else float(g.auto_score))
            manual = False if zero else bool(g.needs_manual_grade)
            rows.append(GradeRow(g.name, score, float(g.max_score), auto, manual))
    return rows


def _grade_notebook(nb, name, spec, config, db_url, work_dir, clock, instructor):
    import nbformat

    from .feedback import test_reasons
    from .integrity import scan
    from .sandbox import SandboxedExecute

    sanitize, autograde = _preprocessor_classes()
    findings = [str(f) for f in scan(nb)]

    from nbconvert.exporters.exporter import ResourcesDict

    resources = ResourcesDict()
    resources.update({
        "unique_key": name,
        "output_files_dir": f"{name}_files",
        "metadata": {"name": name, "path": str(work_dir)},
        "nbgrader": {"student": spec.student_id, "assignment": spec.assignment,
                     "notebook": name, "db_url": db_url},
        # Read by SandboxedExecute: test cells are judged outside the kernel.
        "actlab": dict(instructor),
    })
    with clock.phase("sanitize"):
        for cls in sanitize:
            nb, resources = cls(config=config)(nb, resources)

    status, reason = "graded", ""
    for cls in autograde:
        if cls.__name__ != "Execute":
            with clock.phase("bookkeeping"):
                nb, resources = cls(config=config)(nb, resources)
            continue
        # In place of nbgrader's Execute, which would run the kernel with our rights and the
        # tests inside it: SandboxedExecute runs the kernel under bubblewrap (or, with
        # --no-sandbox, with the same limits and caps but no isolation), has the judge run
        # every test cell against it, and records how that went.
        wall0 = time.time()
        with clock.phase("execute"):
            nb, resources = SandboxedExecute(config=config, use_sandbox=spec.sandbox)(nb, resources)
        cells, first = _cell_seconds(nb)
        clock.timings["cells"] = clock.timings.get("cells", 0.0) + cells
        if first is not None:
            clock.timings["kernel_start"] = (clock.timings.get("kernel_start", 0.0)
                                             + max(0.0, first - wall0))
        outcome = resources["actlab"]["sandbox"]
        if outcome["status"] != "ok":
            status, reason = outcome["status"], (outcome["detail"] or outcome["status"])[:300]

    grades = _grades(db_url, spec, name)
    with clock.phase("feedback"):
        html = _feedback_html(nb, resources)
    # The scan is information for the instructor: it can change the status, never a score.
    if findings and status == "graded":
        status, reason = "tampering_suspected", "; ".join(findings)
    return NotebookResult(name, status, reason, grades=grades, feedback_html=html,
                          autograded=nbformat.writes(nb).encode(), findings=findings,
                          test_reasons=test_reasons(nb))


def _feedback_html(nb, resources) -> str:
    """nbgrader's feedback page for an autograded notebook (GetGrades + feedback template),
    rendered from the student's copy: no hidden test line, no test traceback."""
    import copy

    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from .feedback import student_copy

    nb = student_copy(nb)
    resources = copy.copy(resources)
    resources["nbgrader"] = dict(resources["nbgrader"])
    nb, resources = GetGrades()(nb, resources)
    css = CSSHTMLHeaderPreprocessor(enabled=True)
    nb, resources = css(nb, resources)
    html, _ = _feedback_exporter().from_notebook_node(nb, resources=resources)
    return html
