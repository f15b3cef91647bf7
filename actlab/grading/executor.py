"""The trusted half of sandboxed execution: nbclient in the grader, only the kernel in bwrap.

:mod:`actlab.grading.sandbox` starts the student's IPython kernel inside bubblewrap and
this module drives it from the grading process itself, exactly as nbgrader's ``Execute``
drives a kernel, with three differences:

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
  in another pid namespace by pid; a kernel that ignores the interrupt is killed).

Before, a second Python process inside the sandbox ran nbclient and piped the outputs back;
importing nbclient there cost about 0.45 s per notebook. The trust boundary is now the
Jupyter protocol, the same one stock nbgrader and every notebook server rely on: the kernel
can say anything in its messages, but what it says only becomes cell outputs, which
nbgrader then checks as it always does.

Timeouts: a cell that exceeds its time gets a ``CellTimeoutError``; the kernel is
interrupted and, if it is idle again within :data:`INTERRUPT_GRACE_SECONDS`, later cells run
as in stock nbgrader. A kernel that ignores the interrupt is killed, and so is one that hits
the whole-notebook limit; every later code cell then gets a ``NotRunError`` so that nbgrader
never scores an unexecuted test cell as passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
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
        out["traceback"] = [line[:2000] for line in tb[:5]] + ["... traceback truncated by the grader"]
    out["evalue"] = str(out.get("evalue", ""))[:2000]


class SandboxKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` for one kernel started by a given command over IPC sockets.

    ``argv`` is the full command (it must end with ``-f {connection_file}``);
    ``connection_file`` lies in the socket folder shared with the sandbox; ``owner_uid``
    (the sandbox uid) is given the connection file so that the kernel can read it.
    """

    def __init__(self, argv: list[str], connection_file: str, owner_uid: int | None = None, **kwargs):
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


def run_cells(nb, km: SandboxKernelManager, cell_timeout: float, notebook_timeout: float,
              on_ready=None, **launch) -> tuple[str, str]:
    """Execute every code cell of ``nb`` (in place) in the kernel ``km`` starts.

    ``launch`` goes to ``start_kernel`` (``cwd``, ``env``, ``stderr``, ``independent``);
    ``on_ready`` is called once the kernel has answered, before the first cell.
    Returns ``(status, detail)`` with status ``ok``, ``timed_out``, ``killed_memory`` or
    ``crashed``; never raises for anything the kernel does.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = LimitedClient(
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
    if on_ready is not None:
        client.on_notebook_start = lambda **_: on_ready()
    status, detail = "ok", ""
    deadline = time.monotonic() + notebook_timeout
    stopped_at: int | None = None
    index = -1
    try:
        # We made the manager, so nbclient would leave the kernel running: ask it to clean up.
        with client.setup_kernel(cleanup_kc=True, **launch):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    status, detail, stopped_at = "timed_out", "whole-notebook time limit reached", index
                    cell.outputs.append(error_output("NotebookTimeoutError", detail))
                    break
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
                if status == "ok" and any(
                    o.get("output_type") == "error" and o.get("ename") == "MemoryError"
                    for o in cell.outputs
                ):
                    status, detail = "killed_memory", f"MemoryError in cell {index} (memory cap reached)"
    except DeadKernelError:
        status, detail, stopped_at = "crashed", "kernel died", index
    except Exception as exc:  # the kernel never came up, or the protocol broke down
        status = "crashed"
        detail = f"kernel failed: {type(exc).__name__}: {exc}"[:2000]
        stopped_at = index
        if index >= 0 and nb.cells[index].cell_type == "code":
            nb.cells[index].outputs.append(error_output("KernelError", detail))
    finally:
        km.destroy_context()
    if stopped_at is not None:
        for later in nb.cells[stopped_at + 1:]:
            if later.cell_type == "code":
                later.outputs = [error_output("NotRunError", "not run: " + detail)]
    return status, detail
