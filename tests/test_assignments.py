"""The five nbgrader problem sets: generation, grading, the bug zoo and learner-side validation.

Two kinds of test live here.

* In-process checks (fast): the test cells of an instructor notebook -- hidden tests included --
  are executed with ``exec`` in a fresh namespace against the instructor's answers, or against
  one answer swapped for a wrong or an alternative one from ``tests/assignment_bugs.py``. A test
  cell "fails" as it would under nbgrader: it raises, or it lets a warning reach stderr.
* Real pipelines (slow, marker ``grading``): nbgrader's ``GenerateAssignment`` and
  ``Autograde`` in a temporary course folder, read back through ``nbgrader.api.Gradebook``,
  and ``nbgrader validate`` as a learner would run it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from assignment_bugs import ALTERNATIVES, BUGS, SLOW_BUGS, Bug
from helpers import ASSIGNMENTS

from actlab.grading.course import ensure_tools_on_path, load_course
from actlab.lab import write_answers

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"
NAMES = ASSIGNMENTS
TRAINING_CELL = "test_custom_activation_trains"


# --------------------------------------------------------------------------------------------
# Reading notebooks
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _instructor(name: str):
    return nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _test_cells(name: str) -> dict[str, tuple[int, float]]:
    """grade_id -> (index, points) of every autograded test cell of an instructor notebook."""
    return {_meta(c)["grade_id"]: (i, _meta(c)["points"])
            for i, c in enumerate(_instructor(name).cells)
            if c.cell_type == "code" and _meta(c).get("grade")}


def _solution_cells(name: str) -> dict[str, int]:
    return {_meta(c)["grade_id"]: i for i, c in enumerate(_instructor(name).cells)
            if c.cell_type == "code" and _meta(c).get("solution")}


# --------------------------------------------------------------------------------------------
# In-process execution of a notebook's graded cells
# --------------------------------------------------------------------------------------------

_SILENT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning)


def _run_cell(source: str, namespace: dict, label: str) -> str | None:
    """Execute one cell; return None if it passes, else why it fails (as nbgrader would judge)."""
    err = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            exec(compile(source, label, "exec"), namespace)
    except Exception as exc:  # a failing test cell: exactly what we are looking for
        return f"{type(exc).__name__}: {exc}"
    shown = [w for w in caught if not issubclass(w.category, _SILENT)]
    if shown:
        return f"warning on stderr: {shown[0].category.__name__}: {shown[0].message}"
    if err.getvalue():
        return f"stderr: {err.getvalue()[:200]}"
    return None


def _without_hidden_tests(source: str) -> str:
    """A test cell as the learner sees it: the hidden-test region removed."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip().startswith("### BEGIN HIDDEN TESTS"):
            hidden = True
        elif line.strip().startswith("### END HIDDEN TESTS"):
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def run_graded_cells(name: str, replace: dict[str, str] | None = None,
                     skip: tuple[str, ...] = (), visible_only: bool = False
                     ) -> dict[str, str | None]:
    """Run an instructor notebook's code cells in order, answers swapped as in ``replace``.

    Ungraded demonstration cells are skipped (they carry no points); test cells named in
    ``skip`` too; ``visible_only`` runs the test cells without their hidden tests, as
    ``nbgrader validate`` does for a learner. Returns test grade_id -> None (passed) or the
    reason it failed.
    """
    replace = replace or {}
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, str | None] = {}
    for cell in _instructor(name).cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or not meta:
            continue
        gid = meta["grade_id"]
        if meta.get("grade"):
            if gid not in skip:
                source = _without_hidden_tests(cell.source) if visible_only else cell.source
                results[gid] = _run_cell(source, namespace, gid)
        else:
            problem = _run_cell(replace.get(gid, cell.source), namespace, gid)
            if problem and not meta.get("solution"):
                raise AssertionError(f"{name}: read-only cell {gid} failed: {problem}")
    return results


@pytest.mark.parametrize("name", NAMES)
def test_instructor_answers_pass_every_test_cell_in_process(name):
    """Do the instructor's answers pass every visible and hidden test of their notebook?"""
    results = run_graded_cells(name, skip=(TRAINING_CELL,))
    assert results, f"{name} has no graded test cells"
    failed = {gid: why for gid, why in results.items() if why}
    assert not failed, failed


@pytest.mark.parametrize("name", NAMES)
def test_a_passing_test_cell_prints_one_line_and_has_no_value(name):
    """Does every test cell, run on the instructor's answers, print exactly one line
    "✓ <name>: N checks passed" (visible part and whole cell alike) and end in a statement, so
    that no cell value reaches nbgrader as partial credit?"""
    for visible_only in (True, False):
        namespace: dict = {"__name__": "__main__"}
        for cell in _instructor(name).cells:
            meta = _meta(cell)
            if cell.cell_type != "code" or not meta or meta["grade_id"] == TRAINING_CELL:
                continue
            source = (_without_hidden_tests(cell.source) if visible_only and meta.get("grade")
                      else cell.source)
            out = io.StringIO()
            with warnings.catch_warnings(), contextlib.redirect_stdout(out):
                warnings.simplefilter("ignore")
                exec(compile(source, meta["grade_id"], "exec"), namespace)
            if meta.get("grade"):
                lines = out.getvalue().splitlines()
                assert len(lines) == 1 and re.fullmatch(r"✓ .+: \d+ checks? passed", lines[0]), (
                    meta["grade_id"], lines)
                last = ast.parse(source).body[-1]
                assert not (isinstance(last, ast.Expr)
                            and not isinstance(last.value, ast.Call)), meta["grade_id"]
                assert "check.passed()" in source.splitlines()[-1], meta["grade_id"]


@pytest.mark.parametrize("name", NAMES)
def test_a_blank_notebook_runs_its_answer_cells_without_failing(name):
    """Run before the learner starts, do the released set-up and answer cells (stubs) all run,
    so that only the tests fail, each naming the function to write?"""
    namespace: dict = {"__name__": "__main__"}
    released = nbformat.read(EXERCISES / name / f"{name}.ipynb", as_version=4)
    for cell in released.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and meta and not meta.get("grade"):
            exec(compile(cell.source, meta["grade_id"], "exec"), namespace)
            if meta.get("solution"):
                assert re.search(r'raise NotImplementedError\("write [\w.]+ here, '
                                 r'then delete this line"\)', cell.source), meta["grade_id"]


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.id)
def test_wrong_answer_loses_points_on_its_intended_test_cell(bug: Bug):
    """Does each realistic wrong answer fail exactly the test cell meant to catch it?"""
    results = run_graded_cells(bug.assignment, {bug.cell: bug.source}, skip=(TRAINING_CELL,))
    assert bug.fails in results, f"unknown test cell {bug.fails}"
    assert results[bug.fails] is not None, f"{bug.why!r} passed {bug.fails}"
    collateral = {gid: why for gid, why in results.items()
                  if why and gid != bug.fails and gid not in bug.may_also_fail}
    assert not collateral, f"{bug.why!r} also failed unrelated cells: {collateral}"


#: Classic mistakes that the visible tests must already catch, before any hidden test runs.
VISIBLE_CATCHES = (
    "naive 1/(1+exp(-x)) overflows", "exp(x)/(1+exp(x)) is NaN for large x",
    "np.where evaluates both branches", "gradient 1 at 0", "returns booleans",
    "np.where with an unclipped exp overflows", "no max subtraction", "tanh approximation",
    "ignores alpha", "ignores beta", "beta missing in the second term", "computes OR",
    "first bias not pushed through later weights", "numpy scalar, not a Python float",
    "reduces over the wrong axis", "log(1 + exp(x)) overflows", "dalpha includes the positive side",
    "accepts everything", "rejects everything", "linear",
)


@pytest.mark.parametrize("bug", [b for b in BUGS if b.why in VISIBLE_CATCHES], ids=lambda b: b.id)
def test_visible_tests_already_catch_the_classic_mistakes(bug: Bug):
    """Does the learner get specific feedback from the visible tests alone for classic mistakes?"""
    results = run_graded_cells(bug.assignment, {bug.cell: bug.source}, skip=(TRAINING_CELL,),
                               visible_only=True)
    assert results[bug.fails] is not None, f"{bug.why!r} passes the visible part of {bug.fails}"


@pytest.mark.parametrize("alt", ALTERNATIVES, ids=lambda a: a.id)
def test_alternative_correct_answer_keeps_full_marks(alt):
    """Does a correct answer written differently from the instructor's pass every test cell?"""
    results = run_graded_cells(alt.assignment, {alt.cell: alt.source}, skip=(TRAINING_CELL,))
    failed = {gid: why for gid, why in results.items() if why}
    assert not failed, f"{alt.why!r} lost points: {failed}"


@pytest.mark.grading
@pytest.mark.parametrize("bug", SLOW_BUGS, ids=lambda b: b.id)
def test_activation_that_cannot_train_fails_only_the_training_cell(bug: Bug):
    """Does a contract-keeping activation whose units are all dead fail the MNIST training cell?"""
    results = run_graded_cells(bug.assignment, {bug.cell: bug.source})
    assert results[bug.fails] is not None, f"{bug.why!r} passed {bug.fails}"
    others = {gid: why for gid, why in results.items() if why and gid != bug.fails}
    assert not others, others


def test_bug_zoo_covers_every_solution_cell_at_least_twice():
    """Is every answer cell of every problem set attacked by at least two wrong answers?"""
    counts = {(n, gid): 0 for n in NAMES for gid in _solution_cells(n)}
    for bug in BUGS + SLOW_BUGS:
        assert (bug.assignment, bug.cell) in counts, f"{bug.id}: no such solution cell"
        counts[bug.assignment, bug.cell] += 1
    thin = [key for key, n in counts.items() if n < 2]
    assert not thin, f"solution cells with fewer than two bugs: {thin}"


# --------------------------------------------------------------------------------------------
# Notebook structure
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_instructor_notebook_is_well_formed_for_nbgrader(name):
    """Unique grade_ids, one definition per answer cell, delimited solutions, no outputs?"""
    nb = _instructor(name)
    nbformat.validate(nb)
    ids = [_meta(c)["grade_id"] for c in nb.cells if _meta(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_ids in {name}"
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name}: committed output"
        if cell.cell_type == "code" and meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            defs = [n for n in ast.parse(cell.source).body
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            assert len(defs) == 1, f"{name}:{meta['grade_id']} defines {len(defs)} things"
        if meta.get("grade"):
            assert meta["points"] > 0, f"{name}:{meta['grade_id']} has no points"


def _secret_lines(name: str) -> set[str]:
    """Substantial lines that only the instructor may see: answer bodies and hidden tests.

    Lines that the notebook also shows outside those regions (a constant quoted in the
    instructions, a common idiom in a visible test) are not secrets.
    """
    secret, public = set(), set()
    for cell in _instructor(name).cells:
        inside = False
        if _meta(cell).get("solution") and cell.cell_type == "markdown":
            secret.update(s.strip() for s in cell.source.splitlines() if len(s.strip()) > 20)
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")):
                inside = True
            elif stripped.startswith(("### END SOLUTION", "### END HIDDEN TESTS")):
                inside = False
            elif inside and len(stripped) > 20 and not stripped.startswith("#"):
                secret.add(stripped)
            elif not inside:
                public.add(stripped)
    public_text = "\n".join(public)
    return {line for line in secret if line not in public_text}


@pytest.mark.parametrize("name", NAMES)
def test_student_version_hides_answers_and_hidden_tests(name):
    """Does the committed student notebook contain no answer, no hidden test and no output?"""
    student = nbformat.read(EXERCISES / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{name}: student version contains {marker!r}"
    leaked = [line for line in _secret_lines(name) if line in text]
    assert not leaked, f"{name}: student version leaks {leaked[:3]}"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


# --------------------------------------------------------------------------------------------
# The real pipeline: generate, submit, autograde, read the gradebook
# --------------------------------------------------------------------------------------------


def _fill(student_nb, answers: dict[str, str]):
    """A copy of a student notebook with some answer cells written (by grade_id)."""
    return write_answers(nbformat.from_dict(json.loads(json.dumps(student_nb))), answers)


def _instructor_answers(name: str, only: tuple[str, ...] | None = None) -> dict[str, str]:
    nb = _instructor(name)
    return {gid: nb.cells[i].source for gid, i in _solution_cells(name).items()
            if only is None or gid in only}


#: Students of the end-to-end run: name -> assignment -> answers (grade_id -> source).
def _students() -> dict[str, dict[str, dict[str, str] | None]]:
    bug = {b.why: b for b in BUGS}
    partial = {
        "ps1_nonlinearity": _instructor_answers("ps1_nonlinearity", ("affine_stack",)),
        "ps3_relu": _instructor_answers("ps3_relu", ("relu", "relu_grad", "sparsity")),
    }
    zoo = {
        "ps2_saturation": {**_instructor_answers("ps2_saturation"),
                           "sigmoid": bug["naive 1/(1+exp(-x)) overflows"].source},
        "ps4_variants": {**_instructor_answers("ps4_variants"),
                         "softmax": bug["always over axis 0"].source,
                         "gelu": bug["tanh approximation"].source},
    }
    return {
        "instructor": {n: "source" for n in NAMES},
        "blank": {n: {} for n in NAMES},
        "partial": partial,
        "zoo": zoo,
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary nbgrader course: all five sets generated, four students autograded."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    root = tmp_path_factory.mktemp("course")
    release_copy = root / "fresh-release"
    course_root = root / "course"
    course = load_course(REPO)
    course.write_exercises(NAMES, release_copy, work_dir=course_root, progress=False)
    for student, sets in _students().items():
        for name, answers in sets.items():
            target = course_root / "submitted" / student / name
            target.mkdir(parents=True)
            if answers == "source":
                nb = _instructor(name)
            else:
                released = nbformat.read(course_root / "release" / name / f"{name}.ipynb", 4)
                nb = _fill(released, answers)
            nbformat.write(nb, target / f"{name}.ipynb")
    with warnings.catch_warnings():
        # nbgrader's own session handling trips SQLAlchemy's autoflush warnings; not ours.
        warnings.simplefilter("ignore")
        for name in NAMES:
            config = course.private_config(course_root)
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = name
            coursedir.student_id = "*"
            Autograde(coursedir=coursedir, config=config).start()
    return {"root": course_root, "fresh_release": release_copy}


def _scores(course_root: Path, name: str, student: str) -> dict[str, tuple[float, float, bool]]:
    """grade_id -> (score, max_score, needs_manual_grade) from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course_root / "gradebook.db")) as gb:
        notebook = gb.find_submission_notebook(name, name, student)
        return {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in notebook.grades}


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-course")
def test_committed_student_versions_match_a_fresh_generation(course):
    """Are exercises/ exactly what `make exercises` would generate from solutions/ now?"""
    for name in NAMES:
        fresh = nbformat.read(course["fresh_release"] / name / f"{name}.ipynb", 4)
        committed = nbformat.read(EXERCISES / name / f"{name}.ipynb", 4)
        assert committed.metadata == fresh.metadata, name
        assert len(committed.cells) == len(fresh.cells), name
        for a, b in zip(committed.cells, fresh.cells):
            assert (a.cell_type, a.source, a.metadata) == (b.cell_type, b.source, b.metadata), \
                f"{name}: cell {a.get('id')} differs: run `make exercises`"


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-course")
@pytest.mark.parametrize("name", NAMES)
def test_instructor_solutions_score_full_marks_when_autograded(course, name):
    """Does nbgrader give the instructor's notebook every autograded point, per grade_id?"""
    scores = _scores(course["root"], name, "instructor")
    expected = _test_cells(name)
    assert set(expected) <= set(scores)
    for gid, (points_score, points_max, manual) in scores.items():
        if gid in expected:
            assert points_max == expected[gid][1]
            assert points_score == points_max, f"{name}:{gid} scored {points_score}/{points_max}"
        else:
            assert manual, f"{name}:{gid} is neither autograded nor manual"


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-course")
@pytest.mark.parametrize("name", NAMES)
def test_blank_student_versions_score_zero_without_crashing(course, name):
    """Does an untouched student notebook grade to 0 on every test cell, with a gradebook entry?"""
    scores = _scores(course["root"], name, "blank")
    expected = _test_cells(name)
    assert set(expected) <= set(scores), f"{name}: blank submission missing grades"
    for gid in expected:
        assert scores[gid][0] == 0, f"{name}:{gid} gave {scores[gid][0]} points to a blank answer"


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-course")
@pytest.mark.parametrize("name, done", [
    ("ps1_nonlinearity", {"test_affine_stack"}),
    ("ps3_relu", {"test_relu", "test_relu_grad", "test_sparsity"}),
])
def test_partially_completed_notebook_scores_exactly_its_finished_parts(course, name, done):
    """Does a half-finished notebook get the points of the parts it finished and no others?"""
    scores = _scores(course["root"], name, "partial")
    expected = _test_cells(name)
    for gid, (_, points) in expected.items():
        want = points if gid in done else 0
        assert scores[gid][0] == want, f"{name}:{gid} scored {scores[gid][0]}, expected {want}"
    total = sum(s for s, _, _ in scores.values())
    assert 0 < total < sum(p for _, p in expected.values())


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-course")
@pytest.mark.parametrize("name, lost", [
    ("ps2_saturation", {"test_sigmoid", "test_sigmoid_grad"}),
    ("ps4_variants", {"test_softmax", "test_gelu"}),
])
def test_autograder_takes_points_off_exactly_where_the_bugs_are(course, name, lost):
    """End to end: do bugs from the zoo cost the intended cells' points and nothing else?"""
    scores = _scores(course["root"], name, "zoo")
    for gid, (_, points) in _test_cells(name).items():
        want = 0 if gid in lost else points
        assert scores[gid][0] == want, f"{name}:{gid} scored {scores[gid][0]}, expected {want}"


# --------------------------------------------------------------------------------------------
# The learner's side: nbgrader validate
# --------------------------------------------------------------------------------------------


def _validate(path: Path) -> subprocess.CompletedProcess:
    """Run `nbgrader validate` as a learner would: from the course root, whose config applies."""
    ensure_tools_on_path()  # nbgrader validate starts the kernel's `python` by name
    return subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.mark.grading
@pytest.mark.xdist_group("nbgrader-validate")
def test_nbgrader_validate_accepts_a_completed_notebook_and_explains_a_wrong_one(tmp_path):
    """Does `nbgrader validate` pass a finished ps2 and say in words what is wrong with a buggy
    one?"""
    name = "ps2_saturation"
    released = nbformat.read(EXERCISES / name / f"{name}.ipynb", 4)
    good = tmp_path / "good.ipynb"
    nbformat.write(_fill(released, _instructor_answers(name)), good)
    proc = _validate(good)
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stdout + proc.stderr

    naive = next(b for b in BUGS if b.why == "naive 1/(1+exp(-x)) overflows")
    bad = tmp_path / "bad.ipynb"
    nbformat.write(_fill(released, {**_instructor_answers(name), "sigmoid": naive.source}), bad)
    proc = _validate(bad)
    out = proc.stdout + proc.stderr
    assert "VALIDATION FAILED" in out, out
    assert "sigmoid warns at |x| <= 1e4 (float64): 'overflow encountered in exp'" in out, out
    assert "avoid exp of large positive numbers" in out, out
