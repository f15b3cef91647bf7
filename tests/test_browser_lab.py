"""The learner's loop in a real browser: the course's JupyterLab, driven through Chromium.

JupyterLab is started as ``make lab`` starts it (:func:`actlab.lab.lab_command`), on 127.0.0.1
at a free port with a token, in a course folder of its own: the course's
``nbgrader_config.py``, the book's chapters and a learner's work copy ``mywork/`` made by
:func:`actlab.lab.sync_work_copy`. In problem set 2 every answer but ``sigmoid`` is already
written. Playwright, with Debian's Chromium, types ``sigmoid`` into its cell, runs
*Kernel → Restart Kernel and Run All Cells…*, reads the test cell's one-line pass, clicks
**Validate** and reads nbgrader's dialog (answered by :mod:`actlab.validate_server`: the tests
are judged apart from the notebook's code, as when graded); then does the same with a
``sigmoid`` that overflows, and with one that uses ``expit``, which only the test cell imports:
it passes when the learner runs the cells and fails Validate, as it would lose its points when
graded. Screenshots are kept under ``artifacts/lab/``.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; CI installs it); without it these
tests skip.
"""

from __future__ import annotations

import re
import secrets
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from helpers import free_loopback_port, instructor_answers, running_jupyter
from test_browser import CHROMIUM, CHROMIUM_ARGS

from actlab.lab import lab_command, sync_work_copy, write_answers

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "artifacts" / "lab"
NAME = "ps2_saturation"
MENU_ITEM = "Restart Kernel and Run All Cells…"  # the wording README and the book use

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("lab")]

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium not found: install it with `apt-get install chromium` "
                "(CI's .ci/run does this) to run the browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="pip install -r requirements.txt (needs playwright)")

CORRECT = '''def sigmoid(x):
    x = as_float_array(x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out
'''
OVERFLOWS = '''def sigmoid(x):
    x = as_float_array(x)
    return 1.0 / (1.0 + np.exp(-x))
'''
USES_THE_TESTS_IMPORT = '''def sigmoid(x):
    return expit(as_float_array(x))
'''


def _learner_copy(root: Path) -> Path:
    """mywork/ as `make lab` makes it, with problem set 2 answered except for sigmoid."""
    sync_work_copy(REPO / "exercises", root / "mywork")
    path = root / "mywork" / NAME / f"{NAME}.ipynb"
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    answers = {gid: "\n".join(line for line in source.splitlines()
                               if not any(marker in line for marker in markers))
               for gid, source in instructor_answers(NAME).items() if gid != "sigmoid"}
    nbformat.write(write_answers(nbformat.read(path, 4), answers), path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The learner's JupyterLab running in its own course folder; yields (url, token, root)."""
    root = tmp_path_factory.mktemp("course")
    home = tmp_path_factory.mktemp("jupyter-home")
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "book", root / "book", ignore=shutil.ignore_patterns("_build"))
    _learner_copy(root)
    port, token = free_loopback_port(), secrets.token_hex(16)
    argv, env = lab_command(root, open_dir=root / "mywork", port=port, token=token,
                            open_browser=False)
    # Nothing from the developer's own Jupyter set-up may leak in, nor be written to.
    env.update({"JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")})
    with running_jupyter(argv, port=port, token=token, cwd=root, env=env,
                         log_path=home / "lab.log") as url:
        yield url, token, root, home / "lab.log"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """A page with the learner's problem set 2 open in JupyterLab."""
    url, token, _, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/tree/mywork/{NAME}/{NAME}.ipynb?token={token}", timeout=120_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    yield page
    page.close()


def _cell(page, text: str):
    """The notebook cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-Cell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text)).first


def _write_answer(page, source: str) -> None:
    """Replace the source of the sigmoid answer cell, as a learner typing in it would."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text="def sigmoid(x):")).nth(0)
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    # insert_text types without key events, so the editor's auto-indent cannot re-indent it.
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def _restart_and_run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text=MENU_ITEM).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()


def _answer_and_run(page, source: str, shows: str):
    """Type ``source`` as the sigmoid answer, restart the kernel and run all cells, and wait
    until the sigmoid test cell shows ``shows``; returns that output."""
    _write_answer(page, source)
    _restart_and_run_all(page)
    output = _cell(page, 'Checks("sigmoid")').locator(".jp-OutputArea-output").filter(
        has_text=shows).first
    output.wait_for(timeout=180_000)
    return output


def _validate(page, shot: str) -> str:
    """Click Validate, wait for nbgrader's dialog, screenshot it and return its text."""
    page.locator(".jp-Toolbar-item", has_text="Validate").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=300_000)
    # The error of the (last) failing cell, if any, is what the screenshot should show.
    if message.locator("pre").count():
        message.locator("pre").last.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / shot))
    text = message.text_content()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    return text


def test_learner_lab_hides_the_instructor_tools_and_keeps_validate(lab, notebook):
    """In the learner's Lab, is there a Validate button but no Nbgrader menu, and are the
    formgrader and the assignment list (its "Error fetching courses!") absent on the server?"""
    url, token, _, log = lab
    menus = notebook.locator("#jp-menu-panel .lm-MenuBar-itemLabel, .lm-MenuBar-itemLabel")
    labels = menus.all_inner_texts()
    assert "Kernel" in labels and "Nbgrader" not in labels, labels
    assert notebook.locator(".jp-Toolbar-item", has_text="Validate").count() == 1
    for path in ("formgrader", "assignments", "courses"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{url}/{path}?token={token}", timeout=30)
        assert err.value.code == 404, path
    assert "without encryption" not in log.read_text()


def test_correct_function_passes_its_tests_and_validate_says_success(notebook):
    """Typing a correct sigmoid, running all cells and clicking Validate: does the test cell
    print its one-line pass and the Validate dialog say Success?"""
    passed = _answer_and_run(notebook, CORRECT, "✓ sigmoid:")
    passed.evaluate("e => e.scrollIntoView({block: 'center'})")
    notebook.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    notebook.screenshot(path=str(SHOTS / "sigmoid-passes.png"))
    # text_content, not inner_text: Lab may leave cells outside the viewport unrendered.
    assert re.fullmatch(r"✓ sigmoid: \d+ checks passed", passed.text_content().strip())
    text = _validate(notebook, "validate-success.png")
    assert "Success! Your notebook passes all the tests." in text


def test_wrong_function_fails_and_the_dialog_names_the_cell_and_the_message(notebook):
    """With a sigmoid that overflows, does Validate name the failing test cell and show the
    course's message about the warning?"""
    _answer_and_run(notebook, OVERFLOWS, "sigmoid warns")
    text = _validate(notebook, "validate-failed.png")
    assert "The following cell failed:" in text
    assert 'check = Checks("sigmoid")' in text
    # The course's message first, then where in the test cell.
    assert ("AssertionError: sigmoid warns at |x| <= 1e4 (float64): "
            "'overflow encountered in exp'") in text
    assert text.index("sigmoid warns at") < text.index('File "<test test_sigmoid>"')


def test_a_function_using_a_name_only_a_test_cell_imports_fails_validate_with_the_reason(notebook):
    """A sigmoid that calls ``expit``, which only the test cell below it imports, passes when
    the learner runs all cells (the test cell ran that import in the kernel first). Does
    Validate, which judges the tests apart from the learner's code as grading does, fail it and
    say why?"""
    _answer_and_run(notebook, USES_THE_TESTS_IMPORT, "✓ sigmoid:")
    text = _validate(notebook, "validate-test-cell-import.png")
    assert 'check = Checks("sigmoid")' in text
    assert "NameError: name 'expit' is not defined" in text
    assert "exists only because a test cell imports or defines it" in " ".join(text.split())


def test_a_chapter_opens_as_a_notebook_with_its_myst_rendered(lab, browser):
    """Double-clicking a chapter in the file browser: does it open as a notebook whose MyST
    admonition is rendered and whose (label)= target is not shown as text?"""
    url, token, _, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # A workspace of its own, so that what the other tests left open is not restored.
        page.goto(f"{url}/lab/workspaces/chapter?reset&token={token}", timeout=120_000)
        listing = page.locator(".jp-DirListing-content")
        page.locator(".jp-BreadCrumbs-home").click()
        listing.get_by_text("book", exact=True).dblclick()
        listing.get_by_text("02_saturation.md", exact=True).dblclick()
        panel = page.locator(".jp-NotebookPanel")
        panel.first.wait_for(timeout=120_000)
        # jupyterlab-myst renders a markdown cell into a `.myst` widget: the admonition is a box.
        rendered = panel.locator(".jp-MarkdownCell .myst").filter(has_text="Learning goals").first
        rendered.locator(".myst-admonition", has_text="Learning goals").wait_for(timeout=60_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "chapter-as-notebook.png"))
        text = rendered.text_content()
        assert "{admonition}" not in text and "(ch-saturation)=" not in text
        # The chapter's first {code-cell} is a code cell of the notebook, not text.
        assert panel.locator(".jp-CodeCell", has_text="import numpy as np").count() == 1
    finally:
        page.close()
