"""The grading sandbox (``actlab.grading.sandbox``): each guarantee tried from inside a kernel.

A probe notebook runs once under the sandbox (module fixture) and reports, cell by cell,
what it could see and do; each test then checks one guarantee. Separate small notebooks
cover the limits that end a run (memory, timeouts, crashes).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

import actlab
from actlab.grading import sandbox
from actlab.grading.sandbox import Limits, SandboxedExecute, execute_notebook

pytestmark = [
    pytest.mark.grading,
    # One worker runs the module, so the probe notebook runs once under xdist.
    pytest.mark.xdist_group("sandbox"),
    pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap is not usable here"),
]

GiB = 1024**3
FAST = Limits(cell_timeout=6, notebook_timeout=40, memory_bytes=int(1.5 * GiB))


def _notebook(*sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _report(cell) -> dict:
    """The JSON dict a probe cell printed on its last stdout line."""
    return json.loads(_stdout(cell).strip().splitlines()[-1])


REPO = Path(actlab.__file__).resolve().parent.parent
HOME = Path.home()


def _mount_points_under(folder: Path) -> list[str]:
    """First path components below ``folder`` of what the sandbox binds (venv, Python, actlab)."""
    return sorted({Path(root).relative_to(folder).parts[0]
                   for root in sandbox._python_roots() if Path(root).is_relative_to(folder)})


PROBE_PATHS = [str(REPO / name) for name in ("solutions", "grading-work", ".git", "exercises")] + [
    "/root/.bash_history", "/root/.cache", "/etc/shadow", "/var", str(REPO.parent / "shared")]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """Run the probe notebook once; return (executed notebook, outcome, host facts)."""
    host_dir = tmp_path_factory.mktemp("host_secret")
    secret = host_dir / "secret.txt"
    secret.write_text("instructor only")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    data_dir = tmp_path_factory.mktemp("submission")
    (data_dir / "data.csv").write_text("1,2,3\n")
    nb = _notebook(
        # 0: who am I, what can I see
        "import json, os\n"
        f"paths = {PROBE_PATHS + [str(secret), str(host_dir)]!r}\n"
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'cwd': os.getcwd(),\n"
        "    'visible': [p for p in paths if os.path.exists(p)], 'data': open('data.csv').read(),\n"
        f"    'repo': sorted(os.listdir({str(REPO)!r})) if os.path.isdir({str(REPO)!r}) else [],\n"
        f"    'home': sorted(os.listdir({str(HOME)!r}))"
        f" if os.path.isdir({str(HOME)!r}) else []}}))",
        # 1: network
        "import socket, json\nresult = {}\n"
        # Only loopback is ever a target: the host's listener on 127.0.0.1 is unreachable from a
        # separate network namespace, and a namespace with no interface but lo has no route out.
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).close(); "
        "result['loopback'] = 'connected'\n"
        "except OSError as exc:\n    result['loopback'] = type(exc).__name__\n"
        "result['interfaces'] = sorted(name for _, name in socket.if_nameindex())\n"
        "print(json.dumps(result))",
        # 2: read-only system
        "import json, os, sys, actlab\nwritable = []\n"
        "for d in ['/usr', sys.prefix, os.path.dirname(actlab.__file__), '/', '/etc']:\n"
        "    try:\n"
        "        open(os.path.join(d, 'planted.txt'), 'w').close(); writable.append(d)\n"
        "    except OSError:\n        pass\n"
        "print(json.dumps({'writable': writable}))",
        # 3: processes (bounded: at most 2,000 short-lived sleeps)
        "import json, subprocess\nkids = []\nerror = None\n"
        "for _ in range(2000):\n"
        "    try:\n        kids.append(subprocess.Popen(['sleep', '30']))\n"
        "    except OSError as exc:\n        error = type(exc).__name__; break\n"
        "for k in kids:\n    k.kill(); k.wait()\n"
        "print(json.dumps({'started': len(kids), 'error': error}))",
        # 4: can the kernel see the grader's processes, or tamper with its socket folder?
        "import json, os\nfrom ipykernel import get_connection_file\nresult = {}\ncmds = []\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        cmds.append(open(f'/proc/{pid}/cmdline', 'rb').read()"
        ".replace(b'\\0', b' ').decode())\n"
        "    except OSError:\n        pass\n"
        "result['grader_visible'] = any('pytest' in c or 'xdist' in c for c in cmds)\n"
        "folder = os.path.dirname(get_connection_file())\n"
        "sockets = sorted(n for n in os.listdir(folder) if n != 'kernel.json')\n"
        "result['sockets'] = len(sockets)\n"
        "attempts = {\n"
        "    'plant': lambda: open(os.path.join(folder, 'planted'), 'w').close(),\n"
        "    'symlink': lambda: os.symlink('/etc/passwd', os.path.join(folder, 'evil')),\n"
        "    'unlink': lambda: os.unlink(os.path.join(folder, sockets[0])),\n"
        "    'swap': lambda: os.rename(os.path.join(folder, sockets[0]), "
        "os.path.join(folder, 'moved')),\n"
        "}\n"
        "for name, attempt in attempts.items():\n"
        "    try:\n        attempt(); result[name] = 'done'\n"
        "    except OSError as exc:\n        result[name] = type(exc).__name__\n"
        "print(json.dumps(result))",
        # 5: a file bigger than RLIMIT_FSIZE, and disk use beyond the tmpfs
        "import json\nresult = {}\n"
        "try:\n"
        "    with open('big.bin', 'wb') as fh:\n        fh.write(b'0' * (80 * 2**20))\n"
        "    result['big'] = 'written'\n"
        "except OSError as exc:\n    result['big'] = type(exc).__name__\n"
        "print(json.dumps(result))",
        # 6: output flood is capped
        "print('y' * 5_000_000)",
    )
    start = time.monotonic()
    out, outcome = execute_notebook(nb, str(data_dir), FAST)
    seconds = time.monotonic() - start
    listener.settimeout(0.1)
    try:
        listener.accept()
        accepted = True
    except OSError:
        accepted = False
    listener.close()
    return out, outcome, {"accepted": accepted, "seconds": seconds}


def test_probe_notebook_runs_to_the_end(probe):
    """Does a notebook that only probes its sandbox finish with status ok?"""
    out, outcome, _ = probe
    assert outcome["status"] == "ok", outcome
    assert out.metadata["actlab"]["sandbox"] == outcome


def test_kernel_runs_as_an_unprivileged_user(probe):
    """Is the student's kernel a non-root uid (so RLIMIT_NPROC is enforced)?"""
    report = _report(probe[0].cells[0])
    assert report["uid"] != 0 and report["gid"] != 0


def test_kernel_cannot_see_solutions_gradebook_home_or_host_files(probe):
    """Can the kernel see solutions/, grading-work/, the instructor's home, /etc/shadow or
    a file the host just wrote? It must see none of them, only its own data files."""
    report = _report(probe[0].cells[0])
    assert report["visible"] == []
    # Of the course folder and the instructor's home, only the mount points of the
    # interpreter, the venv and the actlab package exist.
    assert report["repo"] == _mount_points_under(REPO)
    assert report["home"] == _mount_points_under(HOME)
    assert report["data"] == "1,2,3\n"
    assert report["cwd"] == "/home/student/work"


def test_kernel_has_no_network_not_even_host_loopback(probe):
    """Can the kernel reach a server on the host's loopback, and has it any interface but lo (a
    route out)?"""
    report = _report(probe[0].cells[1])
    assert report["loopback"] != "connected"
    assert report["interfaces"] == ["lo"]
    assert probe[2]["accepted"] is False


def test_system_python_and_actlab_are_read_only(probe):
    """Can the kernel write into /usr, the venv, the actlab package, / or /etc?"""
    assert _report(probe[0].cells[2]) == {"writable": []}


def test_two_thousand_processes_are_bounded_by_the_process_limit(probe):
    """Does an attempt to start 2,000 processes stop below Limits.processes?"""
    report = _report(probe[0].cells[3])
    assert report["started"] < FAST.processes
    assert report["error"] in ("BlockingIOError", "OSError", "PermissionError")


def test_kernel_cannot_see_the_grader_or_touch_its_socket_folder(probe):
    """Can the kernel see the grading processes, or plant, link, remove or swap anything in
    the folder of its ZMQ sockets (so that the grader would reconnect elsewhere)? The folder
    is handed back to the grader before the first cell runs, so every attempt must fail."""
    report = _report(probe[0].cells[4])
    assert report["grader_visible"] is False
    assert report["sockets"] == 5  # shell, iopub, stdin, control, heartbeat
    assert {k: report[k] for k in ("plant", "symlink", "unlink", "swap")} == dict.fromkeys(
        ("plant", "symlink", "unlink", "swap"), "PermissionError")


def test_files_larger_than_the_file_size_limit_cannot_be_written(probe):
    """Is an 80 MiB file refused under the 64 MiB RLIMIT_FSIZE (instead of filling disk)?"""
    assert _report(probe[0].cells[5])["big"] == "OSError"


def test_output_flood_is_truncated(probe):
    """Is a 5 MB print cut to the per-cell output cap, with a note saying so?"""
    text = "".join(o.get("text", "") for o in probe[0].cells[6].outputs)
    assert len(text) < 1_100_000
    assert "output beyond" in text


def test_oversized_message_is_dropped_and_later_failures_still_count():
    """Does one 80 MB output message (above the 64 MiB cap per ZMQ message) stay out of the
    grader's memory, while a failing assertion after it is still recorded as an error (from
    the shell reply) and the notebook ends within its limits?"""
    from actlab.grading import executor

    nb = _notebook("import sys\nsys.stdout.write('x' * 80_000_000)\nsys.stdout.flush()",
                   "assert False, 'still caught'", "y = 1")
    start = time.monotonic()
    out, outcome = execute_notebook(nb, None, Limits(cell_timeout=20, notebook_timeout=60))
    assert 80_000_000 > executor.MAX_MESSAGE_BYTES
    assert outcome["status"] == "ok", outcome
    assert sum(len(json.dumps(o)) for o in out.cells[0].outputs) < 2_000_000
    assert "AssertionError" in [o.get("ename") for o in out.cells[1].outputs]
    assert time.monotonic() - start < 40


def test_memory_bomb_stops_at_the_memory_cap():
    """Does allocating 16 GiB end in a MemoryError and status killed_memory, quickly?"""
    nb = _notebook("import numpy as np\nhoard = [np.ones(2**27) for _ in range(16)]",
                   "print('after')")
    out, outcome = execute_notebook(nb, None, FAST)
    assert outcome["status"] == "killed_memory", outcome
    assert any(o.get("ename") == "MemoryError" for o in out.cells[0].outputs)
    assert _stdout(out.cells[1]) == "after\n"


def test_sigint_ignoring_loop_and_its_children_are_killed(tmp_path):
    """Is a loop that ignores SIGINT (with a child process) killed at the cell timeout,
    with every later cell marked as not run and no process left behind?"""
    marker = str(987_000 + os.getpid() % 1000)
    nb = _notebook(
        "import signal, subprocess\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f"child = subprocess.Popen(['sleep', '{marker}'])\nwhile True:\n    pass",
        "print('never')",
    )
    start = time.monotonic()
    out, outcome = execute_notebook(nb, None, Limits(cell_timeout=4, notebook_timeout=30))
    assert outcome["status"] == "timed_out", outcome
    assert time.monotonic() - start < 4 + 25
    assert "CellTimeoutError" in [o.get("ename") for o in out.cells[0].outputs]
    assert "ignored the interrupt" in outcome["detail"]
    assert [o["ename"] for o in out.cells[1].outputs] == ["NotRunError"]
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_interruptible_timeout_fails_the_cell_and_later_cells_still_run():
    """When a cell times out but obeys SIGINT (time.sleep), does that cell fail with a
    CellTimeoutError while later cells run in the same kernel, as in stock nbgrader?"""
    nb = _notebook("x = 41", "import time\ntime.sleep(1e9)", "print(x + 1)")
    out, outcome = execute_notebook(nb, None, Limits(cell_timeout=4, notebook_timeout=40))
    assert outcome["status"] == "timed_out" and "interrupted" in outcome["detail"]
    assert "CellTimeoutError" in [o.get("ename") for o in out.cells[1].outputs]
    assert _stdout(out.cells[2]) == "42\n"


def test_whole_notebook_limit_stops_a_run_of_slow_cells():
    """Do many cells that each stay under the cell timeout still stop at the notebook limit?"""
    nb = _notebook(*["import time\ntime.sleep(2)"] * 10)
    start = time.monotonic()
    out, outcome = execute_notebook(nb, None, Limits(cell_timeout=5, notebook_timeout=7))
    assert outcome["status"] == "timed_out"
    assert time.monotonic() - start < 7 + 25
    enames = [o.get("ename") for c in out.cells for o in c.outputs]
    assert "NotebookTimeoutError" in enames and "NotRunError" in enames
    assert "CellTimeoutError" not in enames


def test_cpu_seconds_limit_ends_a_busy_kernel():
    """Does RLIMIT_CPU end a kernel that burns CPU, even with a generous cell timeout?"""
    nb = _notebook("while True:\n    pass", "print('never')")
    start = time.monotonic()
    out, outcome = execute_notebook(nb, None,
                                    Limits(cpu_seconds=5, cell_timeout=60, notebook_timeout=90))
    assert outcome["status"] == "crashed", outcome
    assert time.monotonic() - start < 60
    assert [o["ename"] for o in out.cells[1].outputs] == ["NotRunError"]


def test_cells_after_a_kernel_exit_carry_errors_not_silence():
    """After os._exit in one cell, does every later cell carry an error output (so that
    nbgrader cannot score an unexecuted test cell as passed)?"""
    nb = _notebook("import os\nos._exit(0)", "assert False", "assert False")
    out, outcome = execute_notebook(nb, None, FAST)
    assert outcome["status"] == "crashed"
    for cell in out.cells[1:]:
        assert cell.outputs and all(o.output_type == "error" for o in cell.outputs)


def test_segfault_is_reported_as_crashed():
    """Is a segfault in the kernel (ctypes) recorded as crashed, within the limits?"""
    out, outcome = execute_notebook(_notebook("import ctypes\nctypes.string_at(0)", "1"), None,
                                    FAST)
    assert outcome["status"] == "crashed"
    assert out.cells[1].outputs[0]["ename"] in ("NotRunError", "DeadKernelError")


def test_sandboxed_execute_is_an_nbgrader_preprocessor_recording_its_outcome(tmp_path):
    """Used like nbgrader's Execute, does SandboxedExecute run the notebook, honour
    Execute.timeout from the course config and record the outcome?"""
    from traitlets.config import Config

    config = Config()
    config.Execute.timeout = 7
    pre = SandboxedExecute(config=config)
    assert pre.cell_timeout == 7
    resources = {"metadata": {"path": str(tmp_path)}}
    nb, resources = pre.preprocess(_notebook("print(6 * 7)"), resources)
    assert _stdout(nb.cells[0]) == "42\n"
    assert resources["actlab"]["sandbox"]["status"] == "ok"
    assert nb.metadata["actlab"]["sandbox"]["seconds"] > 0


def test_no_sandbox_mode_runs_the_same_runner():
    """With sandbox=False (--no-sandbox) is the notebook still executed, with outputs?"""
    out, outcome = execute_notebook(_notebook("print('plain')"), None, FAST, sandbox=False)
    assert outcome["status"] == "ok" and _stdout(out.cells[0]) == "plain\n"


@pytest.mark.parametrize("execution", ["autograde", "validate"])
def test_the_kernel_is_told_whether_it_is_graded_or_validated(execution):
    """Does the kernel see NBGRADER_EXECUTION as nbgrader's Execute and Validator set it, so a
    notebook can tell grading ('autograde') from Validate ('validate')?"""
    out, outcome = execute_notebook(
        _notebook("import os; print(os.environ.get('NBGRADER_EXECUTION'))"), None, FAST,
        sandbox=False, execution=execution)
    assert outcome["status"] == "ok" and _stdout(out.cells[0]) == f"{execution}\n"


def test_without_the_sandbox_the_kernel_keeps_the_users_process_limit_and_gets_the_others():
    """Without the sandbox (a learner's Validate, --no-sandbox) the kernel runs as the user, and
    RLIMIT_NPROC counts all the user's processes and threads: is the process limit left as the
    user's own (so a desktop that already runs hundreds of threads can still start a kernel),
    while the memory, file-size and CPU limits still apply?"""
    import resource

    out, outcome = execute_notebook(_notebook(
        "import json, resource\n"
        "print(json.dumps({name: resource.getrlimit(getattr(resource, name))[0] for name in\n"
        "    ('RLIMIT_NPROC', 'RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_CPU')}))"),
        None, FAST, sandbox=False)
    assert outcome["status"] == "ok", outcome
    limits = _report(out.cells[0])
    assert limits["RLIMIT_NPROC"] == resource.getrlimit(resource.RLIMIT_NPROC)[0]
    assert limits["RLIMIT_AS"] == FAST.memory_bytes
    assert limits["RLIMIT_FSIZE"] == FAST.file_size_bytes
    assert limits["RLIMIT_CPU"] == FAST.cpu_seconds


def test_require_sandbox_refuses_without_bubblewrap_and_warns_with_no_sandbox(monkeypatch, capsys):
    """Without bubblewrap, does require_sandbox refuse with an install hint, and does
    --no-sandbox proceed with a loud warning instead?"""
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    with pytest.raises(sandbox.SandboxUnavailableError, match="apt-get install bubblewrap"):
        sandbox.require_sandbox(no_sandbox=False)
    with pytest.warns(RuntimeWarning, match="no-sandbox"):
        assert sandbox.require_sandbox(no_sandbox=True) is False
    assert "WARNING" in capsys.readouterr().err


@pytest.mark.parametrize("field", ["memory_bytes", "processes", "cell_timeout", "notebook_timeout"])
def test_limits_reject_non_positive_values(field):
    """Is a zero or negative limit refused with a message naming the limit?"""
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


def test_leftovers_of_a_killed_grader_are_swept_and_live_ones_kept(tmp_path):
    """Are scratch folders and cgroups named after a dead grader process removed, while
    those of a live process (this one) are kept?"""
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    made = []
    for pid in (dead.pid, os.getpid()):
        scratch = Path(tempfile.gettempdir()) / f"actlab-sandbox-{pid}-testsweep"
        scratch.mkdir()
        made.append(scratch)
        cgroup = sandbox._CGroups.ROOT / "pids" / f"actlab-{pid}-testsweep"
        if os.access(cgroup.parent, os.W_OK):
            cgroup.mkdir()
            made.append(cgroup)
    try:
        sandbox._sweep_stale()
        assert [p.exists() for p in made] == [str(os.getpid()) in p.name for p in made]
    finally:
        for path in made:
            if path.exists():
                path.rmdir()
