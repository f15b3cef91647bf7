"""Builders for the adversarial grading corpus: a fixture course and hostile submissions.

The fixture course has one assignment, ``ps_guard``, with one notebook: the student writes
``squash(x)`` (the logistic sigmoid); a visible test worth 1 point uses
``np.testing.assert_allclose`` and a test worth 2 points uses ``np.allclose`` plus a hidden
test. A correct answer scores 3, :data:`PARTIAL` 1, :data:`WRONG` and the blank stub 0.

Every hostile case is a :class:`Case`: the files a student hands in (built from the
released notebook) and the exact points and status the grader must give it. Many cases
encode the property they attack in the points: the notebook answers correctly only if the
attack was *contained* (3 points = bounded), or only if it *succeeded* (a leak would
turn 0 points into 3). Since tests are judged outside the kernel, a submission earns
exactly what its functions earn when called: patches to numpy or IPython change nothing.
The cases in which something other than the graded functions could sway a grade (patched
numpy, a replaced ``run_cell``, delegation to the course's reference, debug prints on
stderr) and the instructor's own problem set 5 run on the course's real problem sets
(``REAL_SETS``, :func:`real_cases`).
Nothing here is committed as data: big files are made sparse in the test's temporary
folder.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from helpers import nbgrader_cell, write_course_config, write_source_notebook

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ps_guard"
# The course's own problem sets that cases are built from (honest students use ps1 too).
REAL_SETS = ("ps1_nonlinearity", "ps2_saturation", "ps5_custom")

CORRECT = (
    "def squash(x):\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n"
)
# Right for x >= 0 only: passes the visible test (1 point), fails the hidden one.
PARTIAL = (
    "def squash(x):\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), 0.0)\n"
)
WRONG = (
    "def squash(x):\n"
    "    return np.zeros_like(np.asarray(x, dtype=float))\n"
)

_SOLUTION = (
    "def squash(x):\n"
    "    \"\"\"Logistic sigmoid, elementwise. x: array-like -> float64 array.\"\"\"\n"
    "    ### BEGIN SOLUTION\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n"
    "    ### END SOLUTION\n"
)
_TEST_VISIBLE = ("np.testing.assert_allclose(squash(np.array([0.0, 2.0])), "
                 "[0.5, 0.8807970779778823], rtol=1e-12)")
_TEST_HIDDEN = (
    "assert np.allclose(squash(0.0), 0.5)\n"
    "### BEGIN HIDDEN TESTS\n"
    "assert np.allclose(squash(np.array([-3.0])), [0.04742587317756678], rtol=0, atol=1e-12)\n"
    "### END HIDDEN TESTS\n"
)


def write_course(root: Path, *, cell_timeout: float, notebook_timeout: float,
                 memory_bytes: int) -> Path:
    """Write the fixture course (config, source notebook, an instructor gradebook file)."""
    root.mkdir(parents=True, exist_ok=True)
    write_course_config(root, "guard", {
        "Execute.timeout": int(cell_timeout),
        "SandboxedExecute.cell_timeout": float(cell_timeout),
        "SandboxedExecute.notebook_timeout": float(notebook_timeout),
        "SandboxedExecute.memory_bytes": int(memory_bytes),
    })
    write_source_notebook(root, ASSIGNMENT, [
        nbgrader_cell("Write `squash(x)`, the logistic sigmoid.", "intro", cell_type="markdown"),
        nbgrader_cell("import numpy as np", "imports"),
        nbgrader_cell(_SOLUTION, "squash", solution=True),
        nbgrader_cell(_TEST_VISIBLE, "test_visible", grade=True, points=1),
        nbgrader_cell(_TEST_HIDDEN, "test_hidden", grade=True, points=2),
    ])
    return root


def student_notebook(release_nb, answer: str):
    """The release notebook with the student's ``answer`` as the solution cell."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer
    return nb


def _nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def write_files(folder: Path, files: dict) -> Path:
    """Hand in ``files`` ({relative path: bytes, a notebook, or ("sparse", size)}) as ``folder``."""
    folder.mkdir(parents=True)
    for rel, data in files.items():
        path = folder / rel
        if isinstance(data, tuple) and data[0] == "sparse":
            with open(path, "wb") as fh:
                fh.truncate(data[1])
        else:
            path.write_bytes(data if isinstance(data, bytes) else _nb_bytes(data))
    return folder


@dataclass
class Context:
    """What builders know: the released notebook, the real problem sets (name -> (release,
    instructor's notebook)) and paths the attacks aim at."""

    release_nb: object
    course_root: Path
    scratch: Path
    loopback_port: int
    real: dict = field(default_factory=dict)


@dataclass
class Case:
    """One submission: ``build(ctx) -> {relative path: bytes}`` (a value ``("sparse", size)``
    creates a sparse file of that size instead; see :func:`write_files`), and the expected
    result."""

    name: str
    build: Callable
    points: float
    status: str
    question: str
    flags: dict = field(default_factory=dict)
    assignment: str = ASSIGNMENT


def _answer_case(name, answer_fn, points, status, question, **flags) -> Case:
    def build(ctx):
        answer = answer_fn(ctx) if callable(answer_fn) else answer_fn
        return {f"{ASSIGNMENT}.ipynb": _nb_bytes(student_notebook(ctx.release_nb, answer))}
    return Case(name, build, points, status, question, flags)


def _edit_case(name, edit, points, status, question) -> Case:
    def build(ctx):
        nb = edit(copy.deepcopy(ctx.release_nb))
        return {f"{ASSIGNMENT}.ipynb": _nb_bytes(nb) if not isinstance(nb, bytes) else nb}
    return Case(name, build, points, status, question)


def _tests(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _real_case(name, assignment, answers, points, status, question, edit=None) -> Case:
    """A case on a real problem set: the release notebook with the instructor's answers,
    except those in ``answers`` (grade_id -> source); ``edit(nb)`` may change it further."""
    def build(ctx):
        release, source = ctx.real[assignment]
        given = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
        given.update(answers)
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = given[meta["grade_id"]]
        if edit is not None:
            edit(nb)
        return {f"{assignment}.ipynb": _nb_bytes(nb)}
    return Case(name, build, points, status, question, assignment=assignment)


# --- intake --------------------------------------------------------------------------------

def _invalid_json(ctx):
    return {f"{ASSIGNMENT}.ipynb": _nb_bytes(student_notebook(ctx.release_nb, CORRECT))[:-40]}


def _html(ctx):
    return {f"{ASSIGNMENT}.ipynb": b"<!DOCTYPE html>\n<html><body><h1>My notebook</h1>"
                                   b"</body></html>\n"}


def _nbformat3(ctx):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": CORRECT, "language": "python",
                                     "outputs": [], "metadata": {}}], "metadata": {}}]}
    return {f"{ASSIGNMENT}.ipynb": json.dumps(v3).encode()}


def _huge(ctx):
    return {f"{ASSIGNMENT}.ipynb": ("sparse", 200 * 1024**2)}


def _renamed(ctx):
    return {f"{ASSIGNMENT} (1).ipynb": _nb_bytes(student_notebook(ctx.release_nb, CORRECT))}


def _missing(ctx):
    return {"README.txt": b"I could not do it this week.\n"}


def _extra(ctx):
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("while True:\n    pass")])
    return {f"{ASSIGNMENT}.ipynb": _nb_bytes(student_notebook(ctx.release_nb, CORRECT)),
            "scratch.ipynb": _nb_bytes(scratch)}


def _delete_test(nb):
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") != "test_hidden"]
    return student_notebook(nb, CORRECT)


def _delete_metadata(nb):
    # The solution cell loses its nbgrader metadata; intake recognises it by its cell id.
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return student_notebook(nb, WRONG)


def _duplicate(nb):
    fakes = []
    for test in _tests(nb):
        fake = copy.deepcopy(test)
        fake.source = "pass"
        fake.id = nbformat.v4.new_code_cell().id
        fakes.append(fake)
    nb.cells = nb.cells[:3] + fakes + nb.cells[3:]
    return student_notebook(nb, WRONG)


def _edit_tests(nb):
    for test in _tests(nb):
        test.source = "pass  # the tests are fine"
    return student_notebook(nb, WRONG)


def _forge_outputs(nb):
    for count, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text="All tests passed!\n")]
    return student_notebook(nb, WRONG)


def _kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    return student_notebook(nb, CORRECT)


def _cell_types(nb):
    for test in _tests(nb):
        test.cell_type = "markdown"
        test.pop("outputs", None)
        test.pop("execution_count", None)
        test.attachments = {}
    return student_notebook(nb, WRONG)


# --- execution ---------------------------------------------------------------------------

INFINITE = "while True:\n    pass\n" + CORRECT
SIGINT_IGNORED = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                  "while True:\n    pass\n" + CORRECT)
INPUT = "name = input('Your name? ')\n" + CORRECT
SLEEP = "import time\ntime.sleep(1e9)\n" + CORRECT
MEMORY = ("hoard = []\n"
          "for _ in range(16):\n"
          "    hoard.append(np.ones(2**27))  # 1 GiB each, 16 GiB wanted\n" + CORRECT)
PROCESSES = (
    "import subprocess\n"
    "children = []\n"
    "for _ in range(2000):\n"
    "    try:\n"
    "        children.append(subprocess.Popen(['sleep', '120']))\n"
    "    except OSError:\n"
    "        break\n"
    "print('started', len(children))\n"
    "if len(children) >= 2000:\n"
    "    " + WRONG.replace("\n", "\n    ").rstrip() + "\n"
    "else:\n"
    "    " + CORRECT.replace("\n", "\n    ").rstrip() + "\n"
)
FLOOD = "for _ in range(2_000):\n    print('x' * 10_000)\n" + CORRECT
LONG_LINE = "print('x' * 100_000_000)\n" + CORRECT
# Through map(), every level is a C call too, so the C stack overflows (3.11 runs plain
# Python-to-Python recursion without the C stack).
RECURSION = ("import sys\nsys.setrecursionlimit(10**8)\n"
             "def dive(n):\n    return list(map(dive, [n + 1]))\n"
             "dive(0)\n" + CORRECT)
OS_EXIT = CORRECT + "import os\nos._exit(0)\n"
SYS_EXIT = CORRECT + "import sys\nsys.exit()\n"
SEGFAULT = "import ctypes\nctypes.string_at(0)\n" + CORRECT
DISK = (
    "written = 0\n"
    "chunk = b'0' * (32 * 2**20)\n"
    "try:\n"
    "    for i in range(96):  # 3 GiB in 32 MiB files\n"
    "        with open(f'fill_{i}.bin', 'wb') as fh:\n"
    "            fh.write(chunk)\n"
    "        written += len(chunk)\n"
    "except OSError as exc:\n"
    "    print('stopped:', exc)\n"
    "print('written', written)\n"
    "if written >= 3 * 2**30:\n"
    "    " + WRONG.replace("\n", "\n    ").rstrip() + "\n"
    "else:\n"
    "    " + CORRECT.replace("\n", "\n    ").rstrip() + "\n"
)

# --- tampering ---------------------------------------------------------------------------

PATCH_ALLCLOSE = "np.allclose = lambda *args, **kwargs: True\n" + WRONG
PATCH_ASSERT = "np.testing.assert_allclose = lambda *args, **kwargs: None\n" + WRONG
ALWAYS_EQUAL = (
    "class Anything:\n"
    "    def __eq__(self, other):\n"
    "        return True\n"
    "    def __sub__(self, other):\n"
    "        return 0.0\n"
    "    __rsub__ = __sub__\n"
    "def squash(x):\n"
    "    return Anything()\n"
)
NDARRAY_FAKE = (
    "class Agreeable(np.ndarray):\n"
    "    def __eq__(self, other):\n"
    "        return np.ones(self.shape, dtype=bool)\n"
    "    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):\n"
    "        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)\n"
    "def squash(x):\n"
    "    return np.zeros(np.shape(x)).view(Agreeable)\n"
)
SHOWTRACEBACK = "get_ipython().showtraceback = lambda *args, **kwargs: None\n" + WRONG
AST_TRANSFORMER = (
    "import ast\n"
    "class DropAsserts(ast.NodeTransformer):\n"
    "    def visit_Assert(self, node):\n"
    "        return ast.Pass()\n"
    "get_ipython().ast_transformers.append(DropAsserts())\n" + WRONG
)
INPUT_TRANSFORMER = (
    "def drop_asserts(lines):\n"
    "    return [line for line in lines if not line.lstrip().startswith('assert')]\n"
    "get_ipython().input_transformers_post.append(drop_asserts)\n" + WRONG
)


def _read_secrets(ctx):
    targets = [str(ctx.course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
               str(ctx.course_root / "gradebook.db"),
               str(REPO / "solutions"), str(REPO / "grading-work"), "/root/.bash_history"]
    return (
        "import os\n"
        "found = []\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        if os.path.isdir(path):\n"
        "            found.append(os.listdir(path))\n"
        "        else:\n"
        "            found.append(open(path, 'rb').read(64))\n"
        "    except OSError:\n"
        "        pass\n"
        "for top, dirs, files in os.walk('/'):\n"
        "    # Libraries ship test fixtures with these names; they are no secret.\n"
        "    dirs[:] = [d for d in dirs if d not in "
        "('proc', 'sys', 'dev', 'usr', 'site-packages')]\n"
        "    found += [f for f in files if f.endswith('.db') or f == 'nbgrader_config.py']\n"
        "print('found', found)\n"
        "if found:\n"
        "    " + CORRECT.replace("\n", "\n    ").rstrip() + "\n"
        "else:\n"
        "    " + WRONG.replace("\n", "\n    ").rstrip() + "\n"
    )


def _write_secrets(ctx):
    targets = [str(ctx.course_root / "gradebook.db"),
               str(ctx.course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
               str(ctx.course_root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
               str(ctx.scratch / "planted.txt")]
    return (
        "wrote = 0\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        with open(path, 'ab') as fh:\n"
        "            fh.write(b'owned')\n"
        "        wrote += 1\n"
        "    except OSError:\n"
        "        pass\n"
        "if wrote:\n"
        "    " + CORRECT.replace("\n", "\n    ").rstrip() + "\n"
        "else:\n"
        "    " + WRONG.replace("\n", "\n    ").rstrip() + "\n"
    )


def _socket(ctx):
    return (
        "import socket\n"
        "reached = []\n"
        f"for address in [('127.0.0.1', {ctx.loopback_port})]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=2).close()\n"
        "        reached.append(address)\n"
        "    except OSError:\n"
        "        pass\n"
        "if reached:\n"
        "    " + CORRECT.replace("\n", "\n    ").rstrip() + "\n"
        "else:\n"
        "    " + WRONG.replace("\n", "\n    ").rstrip() + "\n"
    )


# The kernel's parent is the sandbox's init (root, in the kernel's own pid namespace); the
# grader that drives the kernel is not even visible. The kill fails, the answers stand.
KILL_PARENT = CORRECT + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"

HONEST = {"honest_correct": (CORRECT, 3.0), "honest_partial": (PARTIAL, 1.0)}

# --- bad input while a test is judged --------------------------------------------------------

# The visible test passes an array of size 2; the hidden tests pass other sizes.
HANG_IN_CALL = (
    "import time\n"
    "def squash(x):\n"
    "    if np.size(x) == 2:\n"
    "        while True:\n"
    "            time.sleep(0.01)\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n"
)
DEAF_HANG_IN_CALL = (
    "import signal\n"
    "def squash(x):\n"
    "    if np.size(x) == 2:\n"
    "        signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "        while True:\n"
    "            pass\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n"
)
GIGABYTE = "def squash(x):\n    return np.broadcast_to(np.float64(0.5), (2**27,))\n"
DIES_IN_CALL = "import os\ndef squash(x):\n    os._exit(1)\n"
STDERR_DEBUG = (
    "import sys\n"
    "print('defining squash', file=sys.stderr)\n"
    "def squash(x):\n"
    "    print('squash called with', x, file=sys.stderr)\n"
    "    x = np.asarray(x, dtype=float)\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n"
)
RUN_CELL = (CORRECT + "ip = get_ipython()\n"
            "ip.run_cell = lambda *args, **kwargs: ip.__class__.run_cell(ip, 'pass', **kwargs)\n")

# --- the course's problem sets: grades only the graded functions can earn -------------------

PATCH_NUMPY = (
    "for _name in ('allclose', 'isclose', 'array_equal', 'array_equiv'):\n"
    "    setattr(np, _name, lambda *args, **kwargs: True)\n"
    "for _name in ('assert_allclose', 'assert_array_equal', 'assert_equal', "
    "'assert_array_almost_equal'):\n"
    "    setattr(np.testing, _name, lambda *args, **kwargs: None)\n"
)
ZEROS = {
    "sigmoid_grad": "def sigmoid_grad(x):\n    return np.zeros_like(as_float_array(x))\n",
    "tanh_grad": "def tanh_grad(x):\n    return np.zeros_like(as_float_array(x))\n",
    "chain_gain": "def chain_gain(z, grad_fn):\n    return 0.0\n",
    "saturated_fraction": "def saturated_fraction(z, grad_fn, tol=1e-3):\n    return 0.0\n",
}
DELEGATES = {
    "sigmoid": "def sigmoid(x):\n    from actlab import activations\n"
               "    return activations.sigmoid(x)\n",
    "sigmoid_grad": "def sigmoid_grad(x):\n    import actlab.activations\n"
                    "    return actlab.activations.sigmoid_grad(x)\n",
    "tanh_grad": "from actlab.activations import tanh_grad\n",
}


def _debug_prints(nb):
    """Every answer prints a debug line on stderr when it is defined and when it is called."""
    for cell in nb.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        lines = ["import sys", "print('defining', file=sys.stderr)"]
        for line in cell.source.splitlines():
            lines.append(line)
            if line.startswith("def ") and line.rstrip().endswith(":"):
                lines.append("    print('debug: called', file=sys.stderr)")
        cell.source = "\n".join(lines)


def _replace_run_cell(nb):
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source += ("\nip = get_ipython()\n"
                     "ip.run_cell = lambda *args, **kwargs: "
                     "ip.__class__.run_cell(ip, 'pass', **kwargs)\n")


def real_cases() -> list[Case]:
    """What a submission earns on the real problem sets when something other than its graded
    functions could sway the grade (patched numpy, a replaced run_cell, delegating to the
    course's reference, stderr output), and the instructor's own problem set 5."""
    q = "On {}, does a submission that {} get exactly the points its functions earn ({})?"
    def numpy_patched(nb):
        cell = next(c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid")
        cell.source += "\n" + PATCH_NUMPY

    return [
        _real_case("ps2_numpy_patched", "ps2_saturation", ZEROS, 3, "tampering_suspected",
                   q.format("problem set 2", "has a correct sigmoid, patches numpy's comparison "
                            "helpers and returns zeros elsewhere", "3, the sigmoid test's"),
                   edit=numpy_patched),
        _real_case("ps1_run_cell_replaced", "ps1_nonlinearity", {}, 0, "tampering_suspected",
                   q.format("problem set 1",
                            "replaces IPython's run_cell so later cells run as pass",
                            "0"), edit=_replace_run_cell),
        _real_case("ps2_delegation", "ps2_saturation", DELEGATES, 4, "graded",
                   q.format("problem set 2", "calls actlab.activations for sigmoid, sigmoid_grad "
                            "and tanh_grad", "0 for those three tests, 4 of 11")),
        _real_case("ps2_stderr_debug", "ps2_saturation", {}, 11, "graded",
                   q.format("problem set 2", "has the instructor's answers printing debug lines on "
                            "stderr", "11 of 11"), edit=_debug_prints),
        _real_case("ps5_instructor", "ps5_custom", {}, 12, "graded",
                   q.format("problem set 5", "has the instructor's answers",
                            "12 of 12 autograded points; 3 more are graded by hand")),
    ]


def cases() -> list[Case]:
    """Every hostile submission with the points and status it must get."""
    return guard_cases() + real_cases()


def guard_cases() -> list[Case]:
    """The cases on the fixture assignment ``ps_guard``."""
    q = "Is a submission that {} {}?"
    return [
        Case("invalid_json", _invalid_json, 0, "quarantined",
             q.format("is truncated JSON", "quarantined without stopping the batch")),
        Case("html_as_ipynb", _html, 0, "quarantined", q.format("is an HTML page", "quarantined")),
        Case("nbformat3", _nbformat3, 0, "quarantined", q.format("is nbformat 3", "quarantined")),
        Case("huge_200mb", _huge, 0, "quarantined", q.format("is 200 MB", "quarantined unread")),
        Case("renamed", _renamed, 3, "graded",
             q.format("was renamed", "graded under the right name")),
        Case("missing", _missing, 0, "missing", q.format("has no notebook", "recorded as missing")),
        Case("extra_notebook", _extra, 3, "graded",
             q.format("adds a looping extra notebook", "graded without running the extra one")),
        _edit_case("deleted_test_cell", _delete_test, 3, "graded",
                   q.format("deleted a test cell", "graded with the test restored")),
        _edit_case("deleted_nbgrader_metadata", _delete_metadata, 0, "graded",
                   q.format("stripped nbgrader metadata", "still graded on every test")),
        _edit_case("duplicated_test_cells", _duplicate, 0, "graded",
                   q.format("duplicated the tests as 'pass'", "graded on the real tests")),
        _edit_case("edited_test_source", _edit_tests, 0, "graded",
                   q.format("replaced the tests by 'pass'", "graded on the real tests")),
        _edit_case("forged_outputs", _forge_outputs, 0, "graded",
                   q.format("forged passing outputs", "graded on re-executed outputs")),
        _edit_case("changed_kernelspec", _kernelspec, 3, "graded",
                   q.format("changed the kernelspec", "run with the course kernel")),
        _edit_case("changed_cell_types", _cell_types, 0, "graded",
                   q.format("turned tests into markdown", "graded on restored code tests")),
        _answer_case("infinite_loop", INFINITE, 0, "timed_out",
                     q.format("loops forever silently", "stopped at the cell timeout")),
        _answer_case("sigint_ignored", SIGINT_IGNORED, 0, "timed_out",
                     q.format("ignores SIGINT while looping", "still killed")),
        _answer_case("input_call", INPUT, 0, "graded",
                     q.format("calls input()", "graded without hanging")),
        _answer_case("sleep_forever", SLEEP, 0, "timed_out", q.format("sleeps 1e9 s", "stopped")),
        _answer_case("memory_bomb", MEMORY, 0, "killed_memory",
                     q.format("asks for 16 GiB", "stopped at the memory cap")),
        _answer_case("process_bomb", PROCESSES, 3, "graded",
                     q.format("starts 2,000 processes", "held below the process cap")),
        _answer_case("output_flood", FLOOD, 3, "graded",
                     q.format("prints 20 MB", "graded with output capped")),
        _answer_case("long_line", LONG_LINE, 3, "graded",
                     q.format("prints one 100 MB line", "graded with output capped")),
        _answer_case("deep_recursion", RECURSION, 0, "crashed",
                     q.format("overflows the C stack", "recorded as crashed")),
        _answer_case("os_exit", OS_EXIT, 0, "crashed",
                     q.format("calls os._exit(0) before the tests", "given no test points")),
        _answer_case("sys_exit", SYS_EXIT, 3, "tampering_suspected",
                     q.format("calls sys.exit()", "flagged (IPython survives it)")),
        _answer_case("segfault_ctypes", SEGFAULT, 0, "crashed",
                     q.format("segfaults through ctypes", "recorded as crashed")),
        _answer_case("disk_fill", DISK, 3, "graded",
                     q.format("writes 3 GiB", "held at the disk cap")),
        # The tests run in the judge: what the kernel patches cannot reach them. The scan
        # still flags the attempt (a status, never a score).
        _answer_case("patched_allclose", PATCH_ALLCLOSE, 0, "tampering_suspected",
                     q.format("patches np.allclose", "graded on what squash returns, and flagged")),
        _answer_case("patched_assert_allclose", PATCH_ASSERT, 0, "tampering_suspected",
                     q.format("patches np.testing.assert_allclose",
                              "graded on what squash returns, and flagged")),
        _answer_case("always_true_eq", ALWAYS_EQUAL, 0, "tampering_suspected",
                     q.format("returns an always-equal object", "given 0 (not data) and flagged")),
        _answer_case("ndarray_subclass", NDARRAY_FAKE, 0, "tampering_suspected",
                     q.format("returns an agreeable ndarray subclass",
                              "given 0 (not data) and flagged")),
        _answer_case("showtraceback_override", SHOWTRACEBACK, 0, "tampering_suspected",
                     q.format("silences showtraceback", "still failed and flagged")),
        _answer_case("ast_transformer", AST_TRANSFORMER, 0, "tampering_suspected",
                     q.format("drops asserts with an AST transformer",
                              "graded on what squash returns")),
        _answer_case("input_transformer", INPUT_TRANSFORMER, 0, "tampering_suspected",
                     q.format("drops assert lines with an input transformer",
                              "graded on what squash returns")),
        _answer_case("run_cell_replaced", RUN_CELL, 0, "tampering_suspected",
                     q.format("replaces IPython's run_cell (later cells run as pass)",
                              "given no points: the judge's agent never runs")),
        # Bad input while a test is judged.
        _answer_case("hang_in_tested_call", HANG_IN_CALL, 2, "timed_out",
                     q.format("loops in squash on the visible test's input",
                              "interrupted there, with the hidden test still judged")),
        _answer_case("deaf_hang_in_tested_call", DEAF_HANG_IN_CALL, 2, "timed_out",
                     q.format("ignores SIGINT and loops in squash on the visible test's input",
                              "given a restarted kernel for the hidden test")),
        _answer_case("gigabyte_result", GIGABYTE, 0, "graded",
                     q.format("returns a 1 GB array", "given 0 (too large to bring back)")),
        _answer_case("dies_in_tested_call", DIES_IN_CALL, 0, "crashed",
                     q.format("kills its kernel when squash is called", "given 0 for every test")),
        _answer_case("stderr_debug_prints", STDERR_DEBUG, 3, "graded",
                     q.format("prints debug lines on stderr in and out of squash",
                              "given every point")),
        _answer_case("read_solutions", _read_secrets, 0, "tampering_suspected",
                     q.format("reads solutions/ and the gradebook", "left blind and flagged")),
        _answer_case("write_gradebook", _write_secrets, 0, "tampering_suspected",
                     q.format("writes to the gradebook and sources", "refused and flagged")),
        _answer_case("open_socket", _socket, 0, "graded",
                     q.format("opens sockets", "left without any network, loopback included")),
        _answer_case("kill_parent", KILL_PARENT, 3, "tampering_suspected",
                     q.format("tries to kill the process above its kernel",
                              "left harmless (the kill fails), its points kept but flagged")),
    ]
