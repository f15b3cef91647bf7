"""Parallel and distributed grading give exactly the sequential results.

The same small batch is graded with one local worker, with two local worker processes and
on a Dask ``LocalCluster`` (two worker processes, one thread each, bound to 127.0.0.1);
the reports must be byte-identical. A job is also shown to need nothing but its pickled
spec: no course folder, no shared files.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from helpers import DEMO_ASSIGNMENT
from test_grading_cli import _sandbox_flag, make_course

from actlab.grading import cli
from actlab.grading.course import load_course
from actlab.grading.job import JobSpec, run_job

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_parallel")]

A = DEMO_ASSIGNMENT
STUDENTS = {"s1": "correct", "s2": "partial", "s3": "wrong", "s4": "broken"}
REPORTS = ("grades.csv", "details.csv")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(course, submitted, reports of a one-worker run) for a four-student batch."""
    root = tmp_path_factory.mktemp("grade_parallel")
    course, submitted, _ = make_course(root, STUDENTS)
    out = root / "sequential"
    assert _grade(course, submitted, out, "--workers", "1") == 0
    return course, submitted, {name: (out / name).read_bytes() for name in REPORTS}


def _grade(course: Path, submitted: Path, out: Path, *args: str, sandbox: bool = False) -> int:
    # Local runs skip the sandbox to keep this module quick; the Dask run uses it when the
    # machine has bubblewrap, so equality also shows the sandbox changes no score.
    flags = _sandbox_flag() if sandbox else ["--no-sandbox"]
    return cli.main([str(submitted), "--course", str(course), "--out", str(out), "--quiet",
                     "--no-gradebook", *flags, *args])


def test_sequential_batch_scores_are_the_expected_ones(batch):
    """Before comparing runs: does the reference run itself give the right scores?"""
    lines = batch[2]["grades.csv"].decode().splitlines()
    assert lines[1:] == ["s1,ps0_demo,3,3,graded", "s2,ps0_demo,1,3,graded",
                         "s3,ps0_demo,0,3,graded", "s4,ps0_demo,0,3,quarantined"]


def test_two_workers_give_byte_identical_reports_to_one_worker(batch, tmp_path):
    """Does grading with a pool of two processes write exactly the files one worker writes?"""
    course, submitted, reference = batch
    assert _grade(course, submitted, tmp_path, "--workers", "2") == 0
    for name in REPORTS:
        assert (tmp_path / name).read_bytes() == reference[name], name


def test_dask_local_cluster_gives_byte_identical_reports(batch, tmp_path):
    """Does grading on a Dask cluster (2 processes, 1 thread each, loopback), sandboxed, match the local run?"""
    distributed = pytest.importorskip("distributed")
    course, submitted, reference = batch
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  worker_dashboard_address="127.0.0.1:0") as cluster:
        assert _grade(course, submitted, tmp_path, "--scheduler", cluster.scheduler_address,
                      sandbox=True) == 0
    for name in REPORTS:
        assert (tmp_path / name).read_bytes() == reference[name], name


def test_unreachable_scheduler_fails_with_status_one(batch, tmp_path):
    """Is a Dask scheduler nobody listens on reported as a failure (1), not a traceback?"""
    course, submitted, _ = batch
    assert _grade(course, submitted, tmp_path, "--scheduler", "tcp://127.0.0.1:9") == 1


def _solo_spec(course_dir, submitted, template, sandbox: bool) -> JobSpec:
    """The job for student "solo" of a course made by make_course."""
    course = load_course(course_dir)
    return JobSpec("solo", A, {A: (submitted / "solo" / A / f"{A}.ipynb").read_bytes()},
                   template.archive, template.notebooks, course.job_config(), course.course_id,
                   sandbox=sandbox)


def test_a_job_needs_only_its_pickled_spec(tmp_path, monkeypatch):
    """Can a job grade from its unpickled spec alone, with the course folder gone?"""
    course_dir, submitted, template = make_course(tmp_path, {"solo": "correct"})
    spec = _solo_spec(course_dir, submitted, template, sandbox=not _sandbox_flag())
    wire = pickle.dumps(spec)
    shutil.rmtree(course_dir)
    shutil.rmtree(submitted)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = pickle.loads(pickle.dumps(run_job(pickle.loads(wire))))
    assert result.status == "graded" and result.score == 3.0
    assert sorted(g[:3] for g in result.notebooks[0].grades) == [
        ("test_leaky_negative", 2.0, 2.0), ("test_leaky_positive", 1.0, 1.0)]
    assert "<html" in result.notebooks[0].feedback_html.lower()
    assert list(elsewhere.iterdir()) == []  # the job left nothing behind in the working folder


def test_job_times_each_phase_and_cells_fit_inside_execution(tmp_path):
    """Does a job report its phase timings, with kernel time for cells inside the execute phase?"""
    course_dir, submitted, template = make_course(tmp_path, {"solo": "partial"})
    spec = _solo_spec(course_dir, submitted, template, sandbox=False)
    result = run_job(spec)
    t = result.timings
    for phase in ("unpack", "intake", "sanitize", "execute", "cells", "kernel_start",
                  "bookkeeping", "feedback", "total"):
        assert phase in t and t[phase] >= 0, phase
    assert 0 < t["cells"] < t["execute"] <= t["total"]
    assert t["kernel_start"] < t["execute"]
    assert result.overhead == pytest.approx(t["total"] - t["cells"])
    assert os.getpid() == int(result.worker.rsplit(":", 1)[1])


def test_feedback_pages_with_images_get_alt_text_and_plain_pages_render_once():
    """Does a notebook with an image output (or a markdown image) get nbconvert's full HTML
    pass (alt text on the image), while one without images takes the single template render?"""
    import base64

    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from actlab.grading.job import _feedback_exporter, _may_show_images

    pixel = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()
    resources = {"nbgrader": {"notebook": "nb", "score": 1, "max_score": 2, "late_penalty": 0}}
    plot = new_code_cell("plot()", outputs=[new_output("display_data", data={
        "image/png": pixel, "text/plain": "<Figure>"})])
    text = new_code_cell("1", outputs=[new_output("execute_result", data={"text/plain": "1"},
                                                  execution_count=1)])
    with_image, plain = new_notebook(cells=[plot]), new_notebook(cells=[text])
    assert _may_show_images(with_image) and not _may_show_images(plain)
    assert _may_show_images(new_notebook(cells=[new_markdown_cell("![a plot](plot.png)")]))
    html, _ = _feedback_exporter().from_notebook_node(with_image, resources=dict(resources))
    assert html.count("<img") == 1 and 'alt="' in html
    html, _ = _feedback_exporter().from_notebook_node(plain, resources=dict(resources))
    assert "<img" not in html and "(Score: 1.0 / 2.0)" in html
