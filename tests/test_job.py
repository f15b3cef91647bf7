"""One submission = one job (``actlab.grading.job``): a job needs only its pickled spec, times
its phases, and renders nbgrader's feedback page once, as nbconvert would."""

from __future__ import annotations

import os
import pickle
import shutil

import pytest
from helpers import DEMO_ASSIGNMENT, make_course, sandbox_flag

from actlab.grading.course import load_course
from actlab.grading.job import JobSpec, run_job

pytestmark = pytest.mark.grading

A = DEMO_ASSIGNMENT


@pytest.mark.parametrize("with_image", [False, True])
def test_fast_feedback_exporter_renders_what_nbconvert_renders(with_image):
    """Is our feedback page nbconvert's HTMLExporter page, differing at most in HTML
    serialisation?"""
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from actlab.grading.job import _feedback_exporter

    fast = _feedback_exporter()
    stock = HTMLExporter(config=fast.config)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Leaky ReLU\nWrite `leaky`."),
        nbformat.v4.new_code_cell("assert leaky(2.0) == 2.0", outputs=[
            nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                   traceback=["boom"])]),
    ])
    if with_image:  # a 1x1 PNG output: the case where nbconvert adds alt text
        png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
               "awAAAABJRU5ErkJggg==")
        nb.cells.append(nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png})]))
    resources = {"nbgrader": {"score": 1.0, "max_score": 3.0, "late_penalty": 0,
                              "notebook": "demo"}}
    ours, _ = fast.from_notebook_node(nb, resources=dict(resources))
    theirs, _ = stock.from_notebook_node(nb, resources=dict(resources))
    assert str(BeautifulSoup(ours, "html.parser")) == theirs
    assert ("No description has been provided" in ours) == with_image


def _solo_spec(course_dir, submitted, template, sandbox: bool) -> JobSpec:
    """The job for student "solo" of a course made by make_course."""
    course = load_course(course_dir)
    return JobSpec("solo", A, {A: (submitted / "solo" / A / f"{A}.ipynb").read_bytes()},
                   template.archive, template.notebooks, course.job_config(), course.course_id,
                   sandbox=sandbox)


def test_a_job_needs_only_its_pickled_spec(tmp_path, monkeypatch):
    """Can a job grade from its unpickled spec alone, with the course folder gone?"""
    course_dir, submitted, template = make_course(tmp_path, {"solo": "correct"})
    spec = _solo_spec(course_dir, submitted, template, sandbox=not sandbox_flag())
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
