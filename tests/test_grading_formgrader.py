"""Marking by hand in nbgrader's formgrader, then the final grades, for real.

A copy of the course holding problem set 5 grades the instructor's own notebook with
`actlab grade` (default --out, so into the course's gradebook and autograded_directory).
`actlab formgrader` then starts JupyterLab on 127.0.0.1; Chromium (Playwright) opens the
submission's formgrade page, which must load everything, MathJax included, from the server
itself and log no error, enters a score for the answer marked by hand and saves it, and
`actlab export` must show that score in grades.csv and in the Canvas import file.

Needs Chromium (``apt-get install chromium``); without it the browser test skips.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from actlab.grading import cli
from actlab.grading import export as export_cli
from actlab.grading.course import load_course
from actlab.grading.formgrader import MATHJAX_URL, MISSING_TEMPLATE, repair_templates
from actlab.util import MATHJAX_ENTRY

from helpers import (CHROMIUM, CHROMIUM_ARGS, free_loopback_port, playwright_or_skip,
                     running_jupyter, sandbox_flag)

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("formgrader")]

REPO = Path(__file__).resolve().parents[1]
PS5 = "ps5_custom"
MANUAL_CELL = "choosing_activations"


def test_formgraders_missing_submission_page_renders_after_the_repair():
    """Does nbgrader 0.9.6's own 404 template fail for want of formgrade_macros.tpl, and render
    its 'not found' message once repair_templates has been applied to the same environment?"""
    from jinja2 import Environment, FileSystemLoader, TemplateNotFound
    from nbgrader.server_extensions.formgrader import handlers

    env = Environment(loader=FileSystemLoader([handlers.template_path]))
    resources = {"base_url": "", "notebook_id": PS5, "index": 0, "total": 1,
                 "filename": "/x/ps5.ipynb",
                 "assignment_id": PS5, "student": "ada", "first_name": "", "last_name": "",
                 "submission_id": "abc", "notebook_path": "x", "mathjax_url": ""}
    with pytest.raises(TemplateNotFound, match=MISSING_TEMPLATE):
        env.get_template("formgrade_404.tpl").render(resources=resources)
    repair_templates(env)
    page = env.get_template("formgrade_404.tpl").render(resources=resources)
    assert "Submission notebook file not found: /x/ps5.ipynb" in page


@pytest.fixture(scope="module")
def marked_course(tmp_path_factory):
    """A course copy with problem set 5, the instructor's notebook graded for student 'ada'."""
    root = tmp_path_factory.mktemp("formgrader")
    course = root / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / PS5, course / "solutions" / PS5)
    submitted = root / "submitted" / "ada" / PS5
    submitted.mkdir(parents=True)
    shutil.copy(REPO / "solutions" / PS5 / f"{PS5}.ipynb", submitted / f"{PS5}.ipynb")
    code = cli.main([str(root / "submitted"), "--course", str(course), "--workers", "1", "--quiet",
                     *sandbox_flag()])
    assert code == 0
    return course


@pytest.fixture(scope="module")
def formgrader(marked_course):
    """`actlab formgrader` serving the course on 127.0.0.1; yields (base URL, token)."""
    port, token = free_loopback_port(), secrets.token_hex(16)
    actlab = Path(sys.executable).with_name("actlab")
    argv = [str(actlab), "formgrader", "--course", str(marked_course), "--port", str(port),
            "--no-browser", f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
            "--ServerApp.port_retries=0"]
    # The whole process group stops at the end: actlab formgrader and the JupyterLab it started.
    with running_jupyter(argv, port=port, token=token, cwd=marked_course, env=dict(os.environ),
                         log_path=marked_course.parent / "formgrader.log", timeout=120) as base:
        yield base, token


def _submission_id(course: Path) -> str:
    from nbgrader.api import Gradebook

    c = load_course(course)
    with Gradebook(c.db_url, c.course_id) as gb:
        return gb.find_submission_notebook(PS5, PS5, "ada").id


def _get(url: str, token: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_graded_submission_opens_in_formgrader(formgrader, marked_course):
    """Does formgrader find the autograded notebook that `actlab grade` wrote, show the answer
    to mark by hand, and load MathJax from the server itself (which serves it), not a CDN?"""
    base, token = formgrader
    status, page = _get(f"{base}/formgrader/submissions/{_submission_id(marked_course)}/", token)
    assert status == 200
    assert f'id="{MANUAL_CELL}"' in page
    mathjax = f"/{MATHJAX_URL}{MATHJAX_ENTRY}"
    assert f'<script src="{mathjax}">' in page and "cdnjs" not in page
    status, script = _get(base + mathjax, token)
    assert status == 200 and "MathJax" in script


def test_a_missing_autograded_notebook_gives_formgraders_404_page_not_a_crash(formgrader,
                                                                              marked_course):
    """With the autograded notebook gone, does the server answer 404 with nbgrader's message
    (not the 500 of the missing template)?"""
    base, token = formgrader
    folder = marked_course / "grading-work" / "autograded" / "ada" / PS5
    aside = marked_course.parent / "aside"
    shutil.move(folder, aside)
    try:
        status, page = _get(f"{base}/formgrader/submissions/{_submission_id(marked_course)}/",
                            token)
    finally:
        shutil.move(aside, folder)
    assert status == 404
    assert "Submission notebook file not found" in page


@pytest.mark.browser
def test_a_score_entered_in_formgrader_reaches_the_final_grades(formgrader, marked_course,
                                                                tmp_path):
    """Entered and saved in formgrader's page in Chromium, does a score for problem set 5's
    hand-marked answer show up in `actlab export`'s grades.csv and Canvas import file?"""
    sync_api = playwright_or_skip()
    base, token = formgrader
    url = f"{base}/formgrader/submissions/{_submission_id(marked_course)}/"
    outside, errors = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            # The token goes with every request: formgrader's page calls its API by XHR.
            context = browser.new_context(extra_http_headers={"Authorization": f"token {token}"})
            page = context.new_page()

            def loopback_only(route):
                if route.request.url.startswith((base, "data:", "blob:")):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", loopback_only)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            # networkidle: the page has fetched the grades its score inputs are bound to.
            page.goto(url, wait_until="networkidle", timeout=120_000)
            score = page.locator(f"input.score#{MANUAL_CELL}")
            score.wait_for(timeout=60_000)
            # The notebook's mathematics is typeset by the MathJax the server serves.
            page.locator("mjx-container").first.wait_for(timeout=60_000)
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                      and r.request.method == "PUT", timeout=60_000) as saved:
                score.fill("2.5")
                score.press("Tab")  # formgrader saves a score on its change event
            assert saved.value.ok
        finally:
            browser.close()
    assert outside == [], outside  # nothing leaves the machine
    assert errors == [], errors

    from nbgrader.api import Gradebook

    c = load_course(marked_course)
    with Gradebook(c.db_url, c.course_id) as gb:
        grade = gb.find_grade(MANUAL_CELL, PS5, PS5, "ada")
        assert grade.manual_score == 2.5
        autograded = gb.find_submission(PS5, "ada").score - 2.5

    template = tmp_path / "canvas.csv"
    with open(template, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                   f"{PS5} (91)"],
                                  ["    Points Possible", "", "", "", "", "15.00"],
                                  ["Lovelace, Ada", "ada", "S1", "ada", "A", ""]])
    out = tmp_path / "final"
    assert export_cli.main(["--course", str(marked_course), "--out", str(out),
                            "--lms", "canvas", "--lms-template", str(template)]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["student_id"], row["assignment"], row["status"]) == ("ada", PS5, "graded")
    assert float(row["score"]) == autograded + 2.5 and row["max_score"] == "15"
    with open(out / "lms" / "canvas_import.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[-1][-1] == row["score"]
    # The grading run's own grades.csv, written before the mark, has the autograded score only.
    before = marked_course / "grading-work" / "grades" / "grades.csv"
    with open(before, newline="", encoding="utf-8") as fh:
        assert float(next(csv.DictReader(fh))["score"]) == autograded
