"""The trusted half of sandboxed execution: nbclient in the grader, only the kernel in bwrap.

:mod:`actlab.grading.sandbox` starts the student's IPython kernel inside bubblewrap and
this module drives it from the grading process itself, as nbgrader's ``Execute`` drives a
kernel, with these differences:

* the kernel command is the sandbox command (``sh`` joining the cgroups, ``prlimit``,
  ``bwrap``, ``setpriv``, then ``python -m ipykernel_launcher``), given in memory as the
  kernel spec, so no kernel spec is looked up on disk;
* the ZMQ sockets use the ``ipc`` transport (Unix sockets) in a folder bound into the
  sandbox at the same path: the sandbox has no network, not even the host's loopback, so
  TCP could not reach it. The kernel owns that folder only until it has bound its sockets
  and answered ``kernel_info``; before the first student cell runs the folder is handed back
  to the grader and made read-only to the kernel, so student code cannot swap a socket for
  a symlink that would lead the grader's reconnecting sockets elsewhere;
* every message is capped at :data:`MAX_MESSAGE_BYTES` (ZMQ drops a peer that sends a
  larger one), each cell keeps at most :data:`MAX_OUTPUT_BYTES_PER_CELL` of output, and
  interrupts are sent as ``interrupt_request`` messages (the grader cannot signal a process
  in another pid namespace by pid; a kernel that ignores the interrupt is killed);
* with a :class:`Judging`, autograded test cells never reach the kernel. At a test cell's
  place the kernel gets a silent request that starts :mod:`actlab.grading.agent`, and the
  worker's judge (:mod:`actlab.grading.judge`) runs the instructor's source of that cell
  against it; the cell's outputs become the judge's verdict (one line, or one error), which
  nbgrader's ``SaveAutoGrades`` then scores. The instructor's other locked cells (setup)
  run in the kernel and in the judge.

The kernel can say anything in its messages, but what it says only becomes the outputs of
the cells that are not tests; scores come from the judge.

Timeouts: a cell that exceeds its time gets a ``CellTimeoutError``; the kernel is
interrupted and, if it is idle again within :data:`INTERRUPT_GRACE_SECONDS`, later cells run
as in stock nbgrader. A kernel that ignores the interrupt is killed, and so is one that hits
the whole-notebook limit; every later code cell then gets a ``NotRunError`` so that nbgrader
never scores an unexecuted test cell as passed. A judged test that runs past its time is
interrupted the same way; if the kernel ignores that, it is killed and restarted, and the
cells above the next test run again (:meth:`JudgingClient.async_restart`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Callable

import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.client import timestamp
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output

# Per cell, outputs beyond this many bytes are dropped (errors are always kept, truncated),
# so that an output flood cannot blow up the grader or the gradebook.
MAX_OUTPUT_BYTES_PER_CELL = 1_000_000
# No single ZMQ message from the kernel may be larger than this (ZMQ disconnects the peer).
MAX_MESSAGE_BYTES = 64 * 1024**2
MAX_TRACEBACK_CHARS = 20_000
# After a cell timeout the kernel is interrupted and gets this long to become idle; after
# that it is killed (a loop that ignores SIGINT, or C code that never checks for signals).
INTERRUPT_GRACE_SECONDS = 3.0
# How long the kernel may take to start and answer kernel_info.
STARTUP_TIMEOUT_SECONDS = 60


def error_output(ename: str, evalue: str) -> dict:
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _truncate_error(out) -> None:
    tb = out.get("traceback") or []
    if sum(len(line) for line in tb) > MAX_TRACEBACK_CHARS:
        out["traceback"] = ([line[:2000] for line in tb[:5]]
                            + ["... traceback truncated by the grader"])
    out["evalue"] = str(out.get("evalue", ""))[:2000]


class SandboxKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` for one kernel started by a given command over IPC sockets.

    ``argv`` is the full command (it must end with ``-f {connection_file}``);
    ``connection_file`` lies in the socket folder shared with the sandbox; ``owner_uid``
    (the sandbox uid) is given the connection file so that the kernel can read it.
    """

    def __init__(self, argv: list[str], connection_file: str, owner_uid: int | None = None,
                 **kwargs):
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        # The client connects before the kernel has bound its sockets; retry often.
        context.setsockopt(zmq.RECONNECT_IVL, 20)
        super().__init__(kernel_name="python3", transport="ipc", connection_file=connection_file,
                         context=context, **kwargs)
        self._kernel_spec = KernelSpec(argv=list(argv), display_name="Python 3 (sandbox)",
                                       language="python", interrupt_mode="message", env={},
                                       metadata={})
        self._owner_uid = owner_uid

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self._owner_uid is not None:
            os.chown(self.connection_file, self._owner_uid, self._owner_uid)

    def client(self, **kwargs):
        # One context (with the message cap) for the manager's and the client's sockets.
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    def destroy_context(self) -> None:
        self.context.destroy(linger=0)


class LimitedClient(NotebookClient):
    """NotebookClient that caps how many output bytes each cell may keep."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bytes_by_cell: dict[int, int] = {}
        self._truncated: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):
        msg_type = msg["msg_type"]
        content = msg.get("content", {})
        if msg_type == "error":
            out = super().output(outs, msg, display_id, cell_index)
            if outs and outs[-1].get("output_type") == "error":
                _truncate_error(outs[-1])
            return out
        size = len(json.dumps(content, default=str)) if msg_type in (
            "stream", "display_data", "execute_result", "update_display_data") else 0
        used = self._bytes_by_cell.get(cell_index, 0) + size
        self._bytes_by_cell[cell_index] = used
        if used > MAX_OUTPUT_BYTES_PER_CELL:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                outs.append(new_output(
                    "stream", name="stderr",
                    text=f"[grader: output beyond {MAX_OUTPUT_BYTES_PER_CELL} bytes dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def on_cell_executed(self, **kwargs):
        # A kernel whose showtraceback is patched replies "error" without an error
        # output; record the error anyway (nbgrader's Execute does the same).
        cell = kwargs["cell"]
        content = (kwargs.get("execute_reply") or {}).get("content", {})
        if content.get("status") == "error":
            if not any(o.get("output_type") == "error" and o.get("ename") == content.get("ename")
                       for o in cell.outputs):
                cell.outputs.append(error_output(str(content.get("ename", "Error")),
                                                 str(content.get("evalue", ""))))
        elif content.get("status") == "aborted":
            cell.outputs.append(error_output("ExecutionAborted", "the kernel aborted this cell"))


def _interrupt_and_wait(client, grace: float) -> bool:
    """Interrupt the kernel; True if it replies to the stuck request within ``grace`` s.

    nbclient leaves the timed-out cell's output task running; it reads (and drops) iopub
    messages until it sees that cell's "idle". So wait on the shell channel, which nobody
    else reads, and then give the event loop a moment so that task can finish before the
    next cell starts listening."""
    try:
        run_sync(client.km.interrupt_kernel)()
    except Exception:
        return False
    deadline = time.monotonic() + grace
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = run_sync(client.kc.get_shell_msg)(timeout=left)
        except (Empty, Exception):
            return False
        if msg.get("msg_type") == "execute_reply":
            run_sync(asyncio.sleep)(0.5)
            return True
    return False


# ---------------------------------------------------------------------------------------
# Judged test cells


TEST, TRUSTED, STUDENT = "test", "trusted", "student"
# The code the kernel runs at a test cell's place: it only starts the agent, binds no name.
AGENT_CODE = "__import__('actlab.grading.agent', fromlist=['serve']).serve({path!r}, {token!r})"
# After the judge has its verdict, the agent must hand the kernel back within this long.
AGENT_EXIT_GRACE_SECONDS = 5.0
# The kernel's reply to the agent's request and the judge's verdict race each other.
VERDICT_GRACE_SECONDS = 2.0
MAX_VERDICT_CHARS = 2_000


def instructor_cells(nb) -> dict[str, tuple[str, str]]:
    """``grade_id -> (role, source)`` of an instructor notebook's locked code cells: ``test``
    for autograded test cells, ``trusted`` for locked cells that are not graded (setup)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        gid = meta.get("grade_id")
        if cell.cell_type != "code" or not gid or meta.get("solution"):
            continue
        if meta.get("grade"):
            cells[gid] = (TEST, cell.source)
        elif meta.get("locked"):
            cells[gid] = (TRUSTED, cell.source)
    return cells


@dataclass
class Judging:
    """What :func:`run_cells` needs to judge test cells instead of running them in the kernel.

    ``client`` is the worker's warm judge; ``cells`` the instructor's locked cells
    (:func:`instructor_cells`): only their sources ever run in the judge, whatever the
    submitted notebook says; ``listen_path`` where the judge listens for the agent (in the
    socket folder shared with the sandbox); ``kill`` ends the kernel's whole process tree
    and ``unlock`` gives the socket folder to a new kernel (both for a restart)."""

    client: object
    cells: dict
    listen_path: str
    kill: Callable[[], None] = lambda: None
    unlock: Callable[[], None] = lambda: None
    restarts: int = 0
    trusted_errors: list = field(default_factory=list)
    trusted_done: list = field(default_factory=list)
    needs_revive: bool = False

    def run_trusted(self, gid: str, timeout: float) -> None:
        result = self.client.trusted(self.cells[gid][1], gid, timeout)
        self.trusted_done.append(gid)
        if not result.get("ok"):
            self.trusted_errors.append(f"{gid}: {result.get('error')}")

    def revive(self) -> None:
        """A fresh judge for the rest of the notebook after the last one was stopped: the
        instructor's cells that ran so far run again in it (names that earlier test cells
        defined are gone)."""
        self.client.close()
        self.client.begin(self.listen_path)
        for gid in self.trusted_done:
            self.client.trusted(self.cells[gid][1], gid, 60)
        self.needs_revive = False


def cell_role(cell, judging: Judging | None) -> str:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    if judging is None or cell.cell_type != "code":
        return STUDENT
    role, _ = judging.cells.get(meta.get("grade_id"), (STUDENT, None))
    # The submitted cell must still claim the instructor's role (intake restored it).
    if role == TEST and not (meta.get("grade") and not meta.get("solution")):
        return STUDENT
    if role == TRUSTED and not (meta.get("locked") and not meta.get("grade")
                                and not meta.get("solution")):
        return STUDENT
    return role


def judged_outputs(grade_id: str, verdict: dict) -> list:
    """The outputs of a judged test cell, as nbgrader's SaveAutoGrades scores them: the
    test's own prints on stdout, then one line if it passed, or one error output (type,
    capped message and, for the instructor's copy, the traceback)."""
    outputs = []
    if verdict.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=verdict["stdout"]))
    if verdict.get("passed"):
        outputs.append(new_output("stream", name="stdout", text=f"{grade_id}: passed\n"))
        return outputs
    ename = str(verdict.get("ename") or "Error")
    evalue = str(verdict.get("evalue") or "")[:MAX_VERDICT_CHARS]
    tb = [str(line) for line in verdict.get("traceback") or []] or [f"{ename}: {evalue}"]
    outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=tb))
    _truncate_error(outputs[-1])
    return outputs


def _in_thread(fn, *args) -> asyncio.Future:
    """Run blocking ``fn(*args)`` in a new thread; an asyncio future of its result.

    Not the event loop's default executor: a grading worker forked from a process that has
    judged before inherits that executor without its threads, and work sent there never runs."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    # A call the grader gave up on may still fail later; nobody needs to hear about it.
    future.add_done_callback(lambda f: f.cancelled() or f.exception())

    def settle(outcome, value):
        if not future.done():
            (future.set_result if outcome else future.set_exception)(value)

    def run():
        try:
            outcome = (True, fn(*args))
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: so is whoever waited
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, daemon=True, name="actlab-judge-call").start()
    return future


async def _settles(future, timeout: float) -> bool:
    """Whether ``future`` finishes within ``timeout`` seconds (it is not cancelled)."""
    if future.done():
        return True
    done, _ = await asyncio.wait({future}, timeout=max(0.0, timeout))
    return bool(done)


def _no_verdict(ename: str, why: str) -> dict:
    return {"passed": False, "ename": ename, "evalue": why, "traceback": [f"{ename}: {why}"]}


class JudgingClient(LimitedClient):
    """LimitedClient that judges test cells (:class:`Judging`) instead of running them."""

    judging: Judging | None = None
    launch_args: dict = {}

    async def _reply_to(self, msg_id: str) -> dict:
        while True:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _drain_iopub(self) -> None:
        # What the kernel prints while it is judged is read and dropped, never kept.
        while True:
            await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))

    async def async_judge_cell(self, cell, index: int, timeout: float) -> str:
        """Judge test cell ``cell`` in place. Returns how the kernel came out of it: ``ok``,
        ``timed_out`` (interrupted in time), ``stuck`` (ignored the interrupt; killed) or
        ``dead`` (died)."""
        judging = self.judging
        gid = cell.metadata["nbgrader"]["grade_id"]
        source = judging.cells[gid][1]
        client = judging.client
        if judging.needs_revive or not client.alive():
            try:
                await _in_thread(judging.revive)
            except Exception as exc:  # the grader's fault, said in the cell
                cell.outputs = judged_outputs(
                    gid, _no_verdict("JudgeError", f"the grader's judge failed: {exc}"))
                return "ok"
        token = secrets.token_hex(16)
        seq = client.next_seq()
        started = timestamp()
        deadline = time.monotonic() + timeout
        msg_id = self.kc.execute(AGENT_CODE.format(path=judging.listen_path, token=token),
                                 silent=True, store_history=False, allow_stdin=False,
                                 stop_on_error=False)
        verdict_f = _in_thread(client.test, source, gid, token, seq, None)
        reply_t = asyncio.ensure_future(self._reply_to(msg_id))
        drain_t = asyncio.ensure_future(self._drain_iopub())
        how = "ok"
        try:
            done, _ = await asyncio.wait({verdict_f, reply_t},
                                         timeout=max(0.0, deadline - time.monotonic()),
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done or (verdict_f in done and not await _settles(
                    reply_t, max(AGENT_EXIT_GRACE_SECONDS, deadline - time.monotonic()))):
                # Past the cell's time (or the kernel keeps going after the test): interrupt.
                how = "timed_out"
                client.abort(seq, f"the test ran longer than {timeout:.0f} s and was stopped")
                with contextlib.suppress(Exception):
                    await ensure_async(self.km.interrupt_kernel())
                if not await _settles(reply_t, INTERRUPT_GRACE_SECONDS):
                    how = "stuck"
                    judging.kill()
            elif not await _settles(verdict_f, VERDICT_GRACE_SECONDS):
                # The kernel finished the agent's request and no verdict follows: the agent
                # never connected (a patched IPython), ended the connection, or died.
                client.abort(seq, "the kernel did not serve the grader until the test ended")
            if (reply_t.done() and not reply_t.cancelled()
                    and isinstance(reply_t.exception(), DeadKernelError)):
                how = "dead"
            if not await _settles(verdict_f, INTERRUPT_GRACE_SECONDS if how == "ok"
                                  else 2 * INTERRUPT_GRACE_SECONDS):
                client.close()  # a judge stuck in test code: a fresh one serves the next test
                judging.needs_revive = True
                verdict = _no_verdict("JudgeError", "the grader's judge did not finish this test")
            else:
                try:
                    verdict = verdict_f.result()
                except Exception as exc:  # the judge process failed
                    client.close()
                    judging.needs_revive = True
                    verdict = _no_verdict("JudgeError", f"the grader's judge failed: {exc}")
                if "passed" not in verdict:  # the judge answered, but not with a verdict
                    judging.needs_revive = True
                    verdict = _no_verdict("JudgeError",
                                          f"the grader's judge failed: {verdict.get('error')}")
        finally:
            drain_t.cancel()
            if not reply_t.done():
                reply_t.cancel()
        if how == "timed_out" and verdict.get("ename") not in ("TimeoutError",):
            verdict = _no_verdict("TimeoutError",
                                  f"the test ran longer than {timeout:.0f} s and was stopped")
        cell.outputs = judged_outputs(gid, verdict)
        cell.execution_count = None
        if self.record_timing:
            cell.metadata["execution"] = {"iopub.status.busy": started,
                                          "shell.execute_reply": timestamp()}
        return how

    async def async_restart(self, upto: int, deadline: float, cell_timeout: float) -> bool:
        """A new kernel in place of a killed one, with the cells above ``upto`` run again
        (their outputs are not kept: the notebook shows the first run). False if the kernel
        does not come up or a cell does not finish."""
        judging = self.judging
        km = self.km
        judging.kill()
        with contextlib.suppress(Exception):
            await self._async_cleanup_kernel()
        self.km = km
        judging.unlock()
        judging.restarts += 1
        try:
            await self.async_start_new_kernel(**self.launch_args)
            await self.async_start_new_kernel_client()
            await _in_thread(judging.client.restarted)
        except Exception:
            return False
        for j, cell in enumerate(self.nb.cells[:upto]):
            if cell.cell_type != "code" or cell_role(cell, judging) == TEST:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                return False
            self.timeout = max(1, int(min(cell_timeout, remaining)))
            try:
                await self.async_execute_cell(copy.deepcopy(cell), j)
            except (CellTimeoutError, DeadKernelError):
                return False
            except Exception:
                return False
        return True


def run_cells(nb, km: SandboxKernelManager, cell_timeout: float, notebook_timeout: float,
              on_ready=None, judging: Judging | None = None, **launch) -> tuple[str, str]:
    """Execute every code cell of ``nb`` (in place) in the kernel ``km`` starts.

    ``launch`` goes to ``start_kernel`` (``cwd``, ``env``, ``stderr``, ``independent``);
    ``on_ready`` is called once the kernel has answered, before the first cell. With
    ``judging``, test cells are judged (:class:`Judging`) and never reach the kernel; the
    instructor's other locked cells run in the kernel and in the judge.
    Returns ``(status, detail)`` with status ``ok``, ``timed_out``, ``killed_memory`` or
    ``crashed``; never raises for anything the kernel does.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = JudgingClient(
        nb,
        km=km,
        timeout=int(cell_timeout),
        startup_timeout=STARTUP_TIMEOUT_SECONDS,
        allow_errors=True,
        interrupt_on_timeout=False,
        raise_on_iopub_timeout=False,
        record_timing=True,
        # Kill, never ask politely: a loop that ignores SIGINT must still stop.
        shutdown_kernel="immediate",
        resources={},
    )
    client.judging = judging
    client.launch_args = dict(launch)
    if on_ready is not None:
        client.on_notebook_start = lambda **_: on_ready()
    status, detail = "ok", ""
    deadline = time.monotonic() + notebook_timeout
    stopped_at: int | None = None
    index = -1
    judge_error = None
    if judging is None or not any(cell_role(c, judging) == TEST for c in nb.cells):
        judging = client.judging = None
    try:
        # We made the manager, so nbclient would leave the kernel running: ask it to clean up.
        with client.setup_kernel(cleanup_kc=True, **launch):
            if judging is not None:
                # After the kernel start, so that a judge process that is still starting
                # up does so at the same time as the kernel.
                try:
                    judging.client.begin(judging.listen_path)
                except Exception as exc:  # the grader's fault: say so in every test cell
                    judge_error = f"the grader's judge could not start: {exc}"
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    status, detail, stopped_at = ("timed_out", "whole-notebook time limit reached",
                                                  index)
                    cell.outputs.append(error_output("NotebookTimeoutError", detail))
                    break
                role = cell_role(cell, judging)
                if role == TEST:
                    gid = cell.metadata["nbgrader"]["grade_id"]
                    if judge_error:
                        cell.outputs = [error_output("JudgeError", judge_error)]
                        status, detail = "crashed", judge_error
                        continue
                    how = run_sync(client.async_judge_cell)(
                        cell, index, min(cell_timeout, remaining))
                    if status == "ok" and any(o.get("ename") == "JudgeError" for o in cell.outputs):
                        status, detail = "crashed", f"{gid}: the grader's judge failed"
                    if how == "dead":
                        status, detail, stopped_at = (
                            "crashed", f"kernel died while {gid} was judged", index)
                        break
                    if how == "timed_out":
                        status = "timed_out"
                        detail = f"{gid}: the student's code ran past the time limit; interrupted"
                    elif how == "stuck":
                        status = "timed_out"
                        detail = (f"{gid}: the student's code ignored the interrupt; kernel killed "
                                  "and restarted")
                        if not run_sync(client.async_restart)(index, deadline, cell_timeout):
                            detail = (f"{gid}: the student's code ignored the interrupt; the "
                                      "restarted kernel could not run the cells above again")
                            stopped_at = index
                            break
                    continue
                clipped = remaining < cell_timeout
                client.timeout = max(1, int(min(cell_timeout, remaining)))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    status = "timed_out"
                    if clipped:
                        detail = (f"whole-notebook limit of {notebook_timeout:g} s reached in "
                                  f"cell {index}; kernel killed")
                        cell.outputs.append(error_output("NotebookTimeoutError", detail))
                        stopped_at = index
                        break
                    if _interrupt_and_wait(client, INTERRUPT_GRACE_SECONDS):
                        # Like stock nbgrader: the slow cell fails, later cells still run.
                        detail = f"cell {index} ran longer than {client.timeout} s; interrupted"
                        cell.outputs.append(error_output("CellTimeoutError", detail))
                        continue
                    detail = (f"cell {index} ran longer than {client.timeout} s and ignored the "
                              f"interrupt for {INTERRUPT_GRACE_SECONDS:g} s; kernel killed")
                    cell.outputs.append(error_output("CellTimeoutError", detail))
                    stopped_at = index
                    break
                except DeadKernelError:
                    status, detail, stopped_at = "crashed", f"kernel died in cell {index}", index
                    cell.outputs.append(error_output("DeadKernelError", detail))
                    break
                if role == TRUSTED and judging is not None and not judge_error:
                    gid = cell.metadata["nbgrader"]["grade_id"]
                    try:
                        judging.run_trusted(gid, cell_timeout)
                    except Exception as exc:  # the judge went away: the next test revives it
                        judging.needs_revive = True
                        judging.trusted_errors.append(f"{gid}: {exc}")
                if status == "ok" and any(
                    o.get("output_type") == "error" and o.get("ename") == "MemoryError"
                    for o in cell.outputs
                ):
                    status, detail = ("killed_memory",
                                      f"MemoryError in cell {index} (memory cap reached)")
    except DeadKernelError:
        status, detail, stopped_at = "crashed", "kernel died", index
    except Exception as exc:  # the kernel never came up, or the protocol broke down
        status = "crashed"
        detail = f"kernel failed: {type(exc).__name__}: {exc}"[:2000]
        stopped_at = index
        if index >= 0 and nb.cells[index].cell_type == "code":
            nb.cells[index].outputs.append(error_output("KernelError", detail))
    finally:
        if judging is not None:
            judging.client.end()
        km.destroy_context()
    if stopped_at is not None:
        for later in nb.cells[stopped_at + 1:]:
            if later.cell_type == "code":
                later.outputs = [error_output("NotRunError", "not run: " + detail)]
    return status, detail
