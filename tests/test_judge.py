"""The judge (``actlab.grading.judge``) and its agent in the kernel, against real kernels.

Small notebooks with nbgrader metadata run through ``sandbox.execute_notebook`` with the
instructor's cells, as ``actlab grade`` runs them: test cells are judged in the judge
process against proxies of the student's objects. Most run without bubblewrap (the judge
does not depend on it); the probe also runs inside the sandbox where the machine has it.
Each test cell of a probe notebook states one property as assertions; the pytest tests
check that cell's verdict.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest
from helpers import nbgrader_cell

from actlab.grading import sandbox
from actlab.grading.executor import instructor_cells
from actlab.grading.judge import JudgeClient, JudgeUnavailable, _send_message, needed_names
from actlab.grading.sandbox import Limits, execute_notebook

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("judge")]

FAST = Limits(cell_timeout=8, notebook_timeout=120)
SETUP = "import warnings\nimport numpy as np"


def notebook(*cells):
    """cells: (kind, source) with kind 'setup', 'answer', 'test' (1 point) or 'plain'."""
    made = []
    for i, (kind, source) in enumerate(cells):
        if kind == "plain":
            made.append(nbformat.v4.new_code_cell(source))
        else:
            made.append(nbgrader_cell(source, f"{kind}_{i}", solution=kind == "answer",
                                      grade=kind == "test", points=1 if kind == "test" else 0))
    nb = nbformat.v4.new_notebook(cells=made)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def judge(nb, use_sandbox=False, limits=FAST, workdir=None):
    return execute_notebook(nb, workdir, limits, sandbox=use_sandbox,
                            instructor=instructor_cells(nb))


def verdicts(out) -> dict:
    """grade_id -> None (passed) or 'ename: evalue'."""
    found = {}
    for cell in out.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            found[meta["grade_id"]] = f"{errors[-1].ename}: {errors[-1].evalue}" if errors else None
    return found


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


# --- the probe: one notebook, one property per test cell -------------------------------------

STUDENT = r'''
import sys

SCALE = np.float32(2.0)
PAIR = (1, [2.0, None])

def kinds(x):
    return x

def typed():
    return np.float32(1.5), np.int8(-2), (True, 3, 2.5, "s", None), np.ones((2, 3), np.float32)

def apply(f, x):
    print("debug line on stderr", file=sys.stderr)
    return f(x) * 2

def apply_twice(f, g, x):
    return g(f(x))

def stash(f):
    global STASHED
    STASHED = f
    return 0

def call_stashed(x):
    return STASHED(x)

def mutate(x, items):
    x[0] = -1.0
    items.append(3)
    return None

def keep(f, x):
    f(x)
    return x

def error_state():
    return np.geterr()["over"]

def overflow(x):
    return np.exp(np.asarray(x, dtype=float))

class CustomWarning(UserWarning):
    pass

def custom_warning():
    warnings.warn("custom words", CustomWarning)
    return 1

class DomainError(ValueError):
    pass

def raises():
    raise DomainError("x must be positive")

def exits():
    raise SystemExit(3)

class Thing:
    pass

def not_data():
    return Thing()

def subclass():
    class Agreeable(np.ndarray):
        pass
    return np.zeros(3).view(Agreeable)

def gigabyte():
    return np.broadcast_to(np.zeros(1), (2**27,))

class Scaler:
    def __init__(self, k=3.0):
        self.k = k
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return np.asarray(x) * self.k

def use(obj, x):
    return obj.forward(x) + 1

def recurse(f, n):
    return n if n == 0 else f(n - 1)
'''

PROBE = [
    ("setup", SETUP),
    ("answer", STUDENT),
    # 2: data crosses exactly
    ("test", "a, b, c, d = typed()\n"
             "assert type(a) is np.float32 and a == np.float32(1.5)\n"
             "assert type(b) is np.int8 and type(c) is tuple and type(c[0]) is bool\n"
             "assert d.dtype == np.float32 and d.shape == (2, 3) and type(d) is np.ndarray\n"
             "assert type(SCALE) is np.float32 and PAIR == (1, [2.0, None])"
             " and type(PAIR) is tuple\n"
             "for v in (np.float16(1), 2**70, -0.0, 'é', (1, (2,)), {'k': [1]}, np.array(True)):\n"
             "    back = kinds(v)\n"
             "    assert type(back) is type(v) and repr(back) == repr(v), (v, back)\n"),
    # 3: callbacks, and nested ones
    ("test", "assert apply(lambda z: z + 1, 2.0) == 6.0\n"
             "assert apply_twice(lambda z: z * 10, lambda z: z + 1, 1) == 11\n"
             "assert recurse(lambda n: recurse(lambda m: m + 100, n), 2) == 100\n"
             "assert apply.__name__ == 'apply'\n"),
    # 4: a callback is revoked when the call that received it returns
    ("test", "assert stash(lambda z: z) == 0\n"
             "try:\n    call_stashed(1)\nexcept RuntimeError as exc:\n"
             "    assert 'after' in str(exc), exc\n"
             "else:\n    raise AssertionError('stale callback worked')\n"),
    # 5: copies of arguments come back both ways
    ("test", "x = np.zeros(3)\nitems = [1]\nmutate(x, items)\n"
             "assert x.tolist() == [-1.0, 0.0, 0.0] and items == [1, 3]\n"
             "def scribble(v):\n    v[...] = 7\n    return None\n"
             "assert keep(scribble, np.zeros(2)).tolist() == [7.0, 7.0]\n"),
    # 6: errstate goes with the call; warnings come back, in a builtin category
    ("test", "with np.errstate(over='raise'):\n    assert error_state() == 'raise'\n"
             "with np.errstate(over='ignore'):\n    assert error_state() == 'ignore'\n"
             "with warnings.catch_warnings(record=True) as caught:\n"
             "    warnings.simplefilter('always')\n"
             "    with np.errstate(over='warn'):\n        overflow([1000.0])\n"
             "    custom_warning()\n"
             "got = {(w.category, str(w.message)) for w in caught}\n"
             "assert (RuntimeWarning, 'overflow encountered in exp') in got, got\n"
             "assert (UserWarning, 'custom words') in got, got\n"
             "with np.errstate(over='raise'):\n"
             "    try:\n        overflow([1000.0])\n    except FloatingPointError:\n        pass\n"
             "    else:\n        raise AssertionError('errstate raise not honoured')\n"),
    # 7: exceptions keep their nearest builtin class; exits do not end the judge
    ("test", "try:\n    raises()\nexcept ValueError as exc:\n    assert 'DomainError: x must be "
             "positive' in str(exc)\n"
             "try:\n    exits()\n"
             "except RuntimeError as exc:\n    assert 'SystemExit' in str(exc)\n"),
    # 8: instances stay in the kernel behind handles; handles can be passed back
    ("test", "s = Scaler(2.0)\nassert s.forward(np.ones(2)).tolist() == [2.0, 2.0]\n"
             "assert s.k == 2.0 and s.calls == 1\nassert use(s, np.zeros(1)).tolist() == [1.0]\n"
             "assert s.calls == 2\nkept = s\n"),
    # 9: a handle made by an earlier test cell still works
    ("test", "assert kept.forward(1.0) == 2.0 and kept.calls == 3\n"),
    # 10 - 12: values that are not data fail the test that asked for them
    ("test", "not_data()"),
    ("test", "subclass()"),
    ("test", "gigabyte()"),
    # 13: a name the notebook never defined
    ("test", "never_defined(1)"),
    # 14: the student's prints on stderr, inside and outside tested calls, cost nothing
    ("plain", "import sys\nprint('a debug line', file=sys.stderr)\nprint(json_history := 1)"),
    ("test", "assert apply(lambda z: z, 1) == 2\n"),
    # 16: what the kernel received: its input history, after every test
    ("plain", "import json\nprint(json.dumps([list(In), get_ipython().execution_count]))"),
]


def _marked(cells):
    # Every test cell starts with a comment naming it, to look for in the kernel's history.
    return [(kind, f"# judged test {i}\n{source}" if kind == "test" else source)
            for i, (kind, source) in enumerate(cells)]


@pytest.fixture(scope="module")
def probe():
    out, outcome = judge(notebook(*_marked(PROBE)))
    return out, outcome, verdicts(out)


def test_probe_runs_to_the_end_with_the_judge(probe):
    """Does the probe notebook finish with status ok and a verdict for every test cell?"""
    out, outcome, found = probe
    assert outcome["status"] == "ok", outcome
    assert len(found) == sum(1 for kind, _ in PROBE if kind == "test")


@pytest.mark.parametrize("index, what", [
    (2, "numpy scalars, tuples, bools, dtypes and shapes cross exactly"),
    (3, "callbacks into the test, also nested"),
    (4, "a callback is revoked when its call returns"),
    (5, "argument changes are copied back both ways"),
    (6, "errstate travels with a call; warnings come back with a builtin category"),
    (7, "exceptions become their nearest builtin class"),
    (8, "instances stay in the kernel behind handles"),
    (9, "a handle from an earlier test cell"),
    (15, "stderr prints cost no points"),
])
def test_probe_property_holds(probe, index, what):
    """Does the probe's test cell for this property pass when judged?"""
    found = probe[2]
    assert found[f"test_{index}"] is None, f"{what}: {found[f'test_{index}']}"


@pytest.mark.parametrize("index, expected", [
    (10, "TypeError: the returned value is a __main__.Thing, which is not data"),
    (11, "Agreeable, a subclass of numpy.ndarray"),
    (12, "1074 MB"),
    (13, "NameError: name 'never_defined' is not defined"),
])
def test_values_that_are_not_data_fail_with_the_reason(probe, index, expected):
    """Does a test whose student function returns something that is not data (an object, an
    ndarray subclass, a 1 GiB array), or uses an undefined name, fail with a message that
    says so?"""
    found = probe[2]
    assert found[f"test_{index}"] and expected in found[f"test_{index}"], found[f"test_{index}"]


def test_no_test_source_reaches_the_kernel(probe):
    """Does the kernel's input history hold only the cells that are not tests, and did the
    judge's silent requests leave the execution count alone?"""
    out = probe[0]
    history, count = json.loads(stdout(out.cells[-1]).strip().splitlines()[-1])
    sources = "\n".join(history)
    assert "# judged test" not in sources
    assert "actlab.grading.agent" not in sources
    # In[0] is empty; the count is that of the cell printing it: silent requests add none.
    assert len(history) - 1 == sum(1 for kind, _ in PROBE if kind != "test")
    assert count == len(history)


def test_judged_cells_carry_one_verdict_and_never_stderr(probe):
    """Does a passed test cell carry one stdout line and a failed one one error output,
    with no stderr stream anywhere in test cells (nbgrader would zero them)?"""
    out = probe[0]
    for cell in out.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert not any(o.get("name") == "stderr" for o in cell.outputs)
            kinds = [o.output_type for o in cell.outputs]
            assert kinds in (["stream"], ["error"]), kinds


@pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap is not usable here")
def test_probe_verdicts_are_the_same_inside_the_sandbox(probe):
    """Are the judge's verdicts on the probe the same when the kernel runs in bubblewrap?"""
    out, outcome = judge(notebook(*_marked(PROBE)), use_sandbox=True)
    assert outcome["status"] == "ok", outcome
    assert verdicts(out) == probe[2]


# --- time limits, interrupts, restarts, dead kernels -----------------------------------------

HANGS = r'''
import signal, time

def slow(x):
    if np.size(x) == 2:
        while True:
            time.sleep(0.01)
    return np.asarray(x) * 2

def deaf(x):
    if np.size(x) == 2:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
    return np.asarray(x) * 2

def dies(x):
    import os
    os._exit(1)
'''


def test_a_call_that_never_returns_is_interrupted_and_later_tests_still_run():
    """A student function that loops (but obeys interrupts) on one test: does that test fail
    with a TimeoutError at the cell limit, and the next test pass in the same kernel?"""
    nb = notebook(("setup", SETUP), ("answer", HANGS),
                  ("test", "slow(np.zeros(2))"), ("test", "assert slow(1.0) == 2.0"))
    start = time.monotonic()
    out, outcome = judge(nb, limits=Limits(cell_timeout=3, notebook_timeout=60))
    found = verdicts(out)
    assert found["test_2"].startswith("TimeoutError"), found
    assert found["test_3"] is None, found
    assert outcome["status"] == "timed_out" and outcome["judge"]["restarts"] == 0, outcome
    assert time.monotonic() - start < 40


@pytest.mark.parametrize("use_sandbox", [False, pytest.param(True, marks=pytest.mark.skipif(
    not sandbox.bwrap_available(), reason="bubblewrap is not usable here"))],
                         ids=["plain", "sandbox"])
def test_a_call_that_ignores_the_interrupt_gets_a_restarted_kernel(use_sandbox):
    """A student function that ignores SIGINT and loops: is the kernel killed and restarted,
    the cells above the next test run again, and the next test judged in the new kernel?"""
    nb = notebook(("setup", SETUP), ("answer", HANGS),
                  ("test", "deaf(np.zeros(2))"), ("test", "assert deaf(1.0) == 2.0"))
    out, outcome = judge(nb, use_sandbox, limits=Limits(cell_timeout=3, notebook_timeout=90))
    found = verdicts(out)
    assert found["test_2"].startswith("TimeoutError"), found
    assert found["test_3"] is None, found
    assert outcome["status"] == "timed_out" and outcome["judge"]["restarts"] == 1, outcome


def test_when_the_restarted_kernel_fails_too_the_remaining_tests_score_zero(tmp_path):
    """If the cells above cannot run again after the restart (here the answer cell hangs on
    its second run), do the remaining tests get no points, marked as not run?"""
    marker = tmp_path / "ran-once"
    answer = (HANGS + f"\nimport os\nif os.path.exists({str(marker)!r}):\n"
              "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass\n"
              f"open({str(marker)!r}, 'w').close()\n")
    nb = notebook(("setup", SETUP), ("answer", answer),
                  ("test", "deaf(np.zeros(2))"), ("test", "assert deaf(1.0) == 2.0"))
    out, outcome = judge(nb, limits=Limits(cell_timeout=3, notebook_timeout=90))
    found = verdicts(out)
    assert found["test_2"].startswith("TimeoutError"), found
    assert found["test_3"].startswith("NotRunError"), found
    assert outcome["status"] == "timed_out" and outcome["judge"]["restarts"] == 1, outcome


def test_a_kernel_that_dies_mid_test_ends_the_notebook_as_crashed():
    """A student function that kills its own kernel when called: does that test fail, every
    later test score 0 (not run), and the status say crashed?"""
    nb = notebook(("setup", SETUP), ("answer", HANGS),
                  ("test", "assert slow(1.0) == 2.0"), ("test", "dies(1)"),
                  ("test", "assert slow(1.0) == 2.0"))
    out, outcome = judge(nb)
    found = verdicts(out)
    assert found["test_2"] is None
    assert found["test_3"] and found["test_4"].startswith("NotRunError"), found
    assert outcome["status"] == "crashed", outcome


def test_a_reply_is_read_only_from_the_judge_it_was_asked_of():
    """While a command still waits on a judge that has just been replaced (its test never
    ended), does that wait end with JudgeUnavailable when the old judge's socket closes,
    leaving the new judge's 'ready' and replies to the new judge's caller? (A wait that read
    whatever socket the client holds at the moment would take the new judge's 'ready', and
    the grader would hang.)"""
    import socket

    client = JudgeClient()
    old_ours, old_theirs = socket.socketpair()
    new_ours, new_theirs = socket.socketpair()
    client.sock, client._ready = new_ours, False
    _send_message(new_theirs, {"ready": 1})
    _send_message(new_theirs, {"ok": True})
    old_theirs.close()  # the replaced judge is killed: its socket ends
    with pytest.raises(JudgeUnavailable, match="ended"):
        client._receive(old_ours, timeout=5)
    client._receive_ready(new_ours)
    assert client._ready
    assert client._receive(new_ours, timeout=5) == {"ok": True}
    for sock in (old_ours, new_ours, new_theirs):
        sock.close()


def test_a_test_that_never_ends_in_the_judge_gets_a_fresh_judge_for_the_next_one():
    """If a test cell's own code never ends (a bug in the test, not the student's), does that
    test fail with a TimeoutError, and the next test run in a fresh judge that has the
    setup cell's names again?"""
    nb = notebook(("setup", SETUP + "\nHELPER = 41"), ("answer", "def f(x):\n    return x + 1"),
                  ("test", "while True:\n    pass"), ("test", "assert f(HELPER) == 42"))
    out, outcome = judge(nb, limits=Limits(cell_timeout=3, notebook_timeout=60))
    found = verdicts(out)
    assert found["test_2"].startswith("TimeoutError"), found
    assert found["test_3"] is None, found


def test_a_failed_test_shows_its_own_lines_not_the_judges_plumbing_nor_hidden_helpers():
    """When a student's function raises inside a trusted helper that hides its frame
    (``__tracebackhide__``, as ``quiet`` does), does the traceback show the test cell's line
    and the error, and neither the helper's frame nor the judge's proxy and wire frames?"""
    helper = SETUP + "\ndef call(f, x):\n    __tracebackhide__ = True\n    return f(x)"
    nb = notebook(("setup", helper), ("answer", "def boom(x):\n    raise ValueError('x is wrong')"),
                  ("test", "y = 1\ncall(boom, y)"))
    out, _ = judge(nb)
    (error,) = [o for o in out.cells[2].outputs if o.output_type == "error"]
    text = "\n".join(error.traceback)
    assert text.startswith("Traceback (most recent call last):"), text
    assert '"<test test_2>", line 2' in text and "call(boom, y)" in text, text
    assert text.endswith("ValueError: x is wrong"), text
    assert "return f(x)" not in text and "actlab" not in text and "contextlib" not in text, text


def test_a_kernel_whose_run_cell_is_replaced_fails_its_tests_quickly():
    """If the notebook replaces IPython's run_cell so that later code runs as `pass`, the
    judge's agent never starts: do the tests fail at once (not at the cell limit), with a
    reason, and does a correct answer defined before earn nothing it was not tested for?"""
    patch = ("def squash(x):\n    return 1.0 / (1.0 + np.exp(-x))\n"
             "ip = get_ipython()\n"
             "ip.run_cell = lambda *a, **k: ip.__class__.run_cell(ip, 'pass', **k)\n")
    nb = notebook(("setup", SETUP), ("answer", patch), ("test", "assert squash(0.0) == 0.5"),
                  ("test", "assert squash(0.0) == 0.5"))
    start = time.monotonic()
    out, _ = judge(nb, limits=Limits(cell_timeout=30, notebook_timeout=120))
    found = verdicts(out)
    assert found["test_2"] and found["test_3"], found
    assert "grader" in found["test_2"]
    assert time.monotonic() - start < 30


def test_a_replaced_agent_that_speaks_garbage_only_fails_its_own_tests():
    """A notebook that replaces the judge's agent with one that connects and sends a frame
    far beyond the cap, or wrong tokens: do its tests fail, and does the grader carry on?"""
    fake = ("import socket, struct, actlab.grading.agent as agent\n"
            "def serve(path, token):\n"
            "    s = socket.socket(socket.AF_UNIX)\n    s.connect(path)\n"
            "    s.sendall(struct.pack('>I', 12) + b'{\"hello\": 1}')\n"
            "    t = socket.socket(socket.AF_UNIX)\n    t.connect(path)\n"
            "    hello = ('{\"hello\": \"%s\", \"n\": []}' % token).encode()\n"
            "    t.sendall(struct.pack('>I', len(hello)) + hello)\n"
            "    t.sendall(struct.pack('>I', 2**31))\n    t.recv(10)\n"
            "agent.serve = serve\n"
            "def squash(x):\n    return 0.5\n")
    nb = notebook(("setup", SETUP), ("answer", fake), ("test", "assert squash(0.0) == 0.5"))
    out, outcome = judge(nb)
    found = verdicts(out)
    assert found["test_2"] and "DeadKernelError" in found["test_2"], found
    assert outcome["status"] in ("ok", "timed_out"), outcome


# --- reading test cells ------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("assert f(x) == 1", {"f", "x"}),
    ("x = 1\nassert f(x) == 1", {"f"}),
    ("from numpy import allclose\nassert allclose(f(1), 2)", {"f"}),
    ("def helper(z):\n    return g(z) + _ref(z)\n_ref = 3\nhelper(1)", {"g"}),
    ("for v in range(3):\n    h(v)", {"h"}),
    ("vals = [k(i) for i in range(2)]\nprint(len(vals), abs(-1))", {"k"}),
    ("class L:\n    def forward(self, z):\n        return act.forward(z)\nact = Make()", {"Make"}),
    ("try:\n    f(1)\nexcept ValueError as _exc:\n    pass\n__name__", {"f"}),
])
def test_needed_names_are_the_globals_a_test_reads_before_binding(source, expected):
    """Are the names a test cell must take from the notebook exactly the global names it
    reads before it binds them, in its own code or nested functions, minus builtins?"""
    assert needed_names(compile(source, "<test>", "exec")) == expected
