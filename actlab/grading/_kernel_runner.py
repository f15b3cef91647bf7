"""Execute one prepared notebook INSIDE the grading sandbox and report the outputs.

Run as ``python -m actlab.grading._kernel_runner IN.ipynb|- RESULT_FD CELL_S NOTEBOOK_S [DATA_DIR]``; it is started by
:mod:`actlab.grading.sandbox` under bubblewrap, never by hand. The trusted side (nbgrader's
bookkeeping, outside the sandbox) keeps the notebook; this process only sends back, for each
code cell, the outputs and execution count it observed, as one JSON document written to the
inherited file descriptor ``RESULT_FD`` (a pipe read by the parent)::

    {"status": "ok" | "timed_out" | "killed_memory" | "crashed", "detail": str,
     "cells": {"<index>": {"outputs": [...], "execution_count": int | null}}}

Why a pipe and not a file: the student's kernel runs as the same uid in the same sandbox. A
file in a writable folder could be rewritten by the kernel; the pipe is not inherited by the
kernel (``close_fds``) and this process makes itself non-dumpable, so the kernel can neither
open ``/proc/<pid>/fd/<n>`` nor ptrace it. What the kernel *can* do is lie about its own
outputs, exactly as in stock nbgrader; hidden tests and :mod:`actlab.grading.integrity` are
the defence against that.

Timeouts: a cell that exceeds its time gets a ``CellTimeoutError``; the kernel is sent
SIGINT and, if it is idle again within a short grace period, later cells run as in stock
nbgrader. A kernel that ignores SIGINT is killed, and so is one that hits the
whole-notebook limit; every later code cell then gets a ``NotRunError`` so that nbgrader
never scores an unexecuted test cell as passed.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
import time

PR_SET_DUMPABLE = 4

# Per cell, outputs beyond this many bytes are dropped (errors are always kept, truncated),
# so that an output flood cannot blow up the runner or the gradebook.
MAX_OUTPUT_BYTES_PER_CELL = 1_000_000
MAX_TRACEBACK_CHARS = 20_000
# After a cell timeout the kernel gets SIGINT and this long to become idle; after that it
# is killed (a loop that ignores SIGINT, or C code that never checks for signals).
INTERRUPT_GRACE_SECONDS = 3.0


def _error_output(ename: str, evalue: str) -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"{ename}: {evalue}"],
    }


def _make_non_dumpable() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except OSError:  # pragma: no cover - no libc is not a case we run in
        pass


def _truncate_error(out) -> None:
    tb = out.get("traceback") or []
    joined = sum(len(line) for line in tb)
    if joined > MAX_TRACEBACK_CHARS:
        out["traceback"] = [line[:2000] for line in tb[:5]] + ["... traceback truncated by the grader"]
    out["evalue"] = str(out.get("evalue", ""))[:2000]


def _build_client_class():
    from nbclient import NotebookClient

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
                    from nbformat.v4 import new_output

                    outs.append(new_output(
                        "stream", name="stderr",
                        text=f"[grader: output beyond {MAX_OUTPUT_BYTES_PER_CELL} bytes dropped]\n"))
                return None
            return super().output(outs, msg, display_id, cell_index)

        def on_cell_executed(self, **kwargs):
            # A kernel whose showtraceback is patched replies "error" without an error
            # output; record the error anyway (nbgrader's Execute does the same).
            cell = kwargs["cell"]
            reply = kwargs["execute_reply"]
            content = (reply or {}).get("content", {})
            if content.get("status") == "error":
                if not any(o.get("output_type") == "error" and o.get("ename") == content.get("ename")
                           for o in cell.outputs):
                    cell.outputs.append(_error_output(str(content.get("ename", "Error")),
                                                      str(content.get("evalue", ""))))
            elif content.get("status") == "aborted":
                cell.outputs.append(_error_output("ExecutionAborted", "the kernel aborted this cell"))

    return LimitedClient


def _interrupt_and_wait(client, grace: float) -> bool:
    """Send SIGINT to the kernel; True if it replies to the stuck request within ``grace`` s.

    nbclient leaves the timed-out cell's output task running; it reads (and drops) iopub
    messages until it sees that cell's "idle". So wait on the shell channel, which nobody
    else reads, and then give the event loop a moment so that task can finish before the
    next cell starts listening."""
    import asyncio
    from queue import Empty

    from jupyter_core.utils import run_sync

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


def run(in_path: str, cell_timeout: float, notebook_timeout: float) -> dict:
    """Execute the notebook at ``in_path``; return the result document (see module doc)."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if in_path == "-":
        # Read from the pipe, so the prepared notebook (with hidden tests) is never a
        # file that the student's kernel could open.
        nb = nbformat.reads(sys.stdin.buffer.read().decode("utf-8"), as_version=4)
    else:
        nb = nbformat.read(in_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = _build_client_class()(
        nb,
        kernel_name="python3",
        timeout=int(cell_timeout),
        allow_errors=True,
        interrupt_on_timeout=False,
        raise_on_iopub_timeout=False,
        record_timing=False,
        # Kill, never ask politely: a loop that ignores SIGINT must still stop.
        shutdown_kernel="immediate",
        resources={"metadata": {"path": os.getcwd()}},
    )
    status, detail = "ok", ""
    deadline = time.monotonic() + notebook_timeout
    stopped_at: int | None = None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    status, detail, stopped_at = "timed_out", "whole-notebook time limit reached", index
                    cell.outputs.append(_error_output("NotebookTimeoutError", detail))
                    break
                clipped = remaining < cell_timeout
                client.timeout = max(1, int(min(cell_timeout, remaining)))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    status = "timed_out"
                    if clipped:
                        detail = f"whole-notebook limit of {notebook_timeout:g} s reached in cell {index}; kernel killed"
                        cell.outputs.append(_error_output("NotebookTimeoutError", detail))
                        stopped_at = index
                        break
                    if _interrupt_and_wait(client, INTERRUPT_GRACE_SECONDS):
                        # Like stock nbgrader: the slow cell fails, later cells still run.
                        detail = f"cell {index} ran longer than {client.timeout} s; interrupted"
                        cell.outputs.append(_error_output("CellTimeoutError", detail))
                        continue
                    detail = (f"cell {index} ran longer than {client.timeout} s and ignored the "
                              f"interrupt for {INTERRUPT_GRACE_SECONDS:g} s; kernel killed")
                    cell.outputs.append(_error_output("CellTimeoutError", detail))
                    stopped_at = index
                    break
                except DeadKernelError:
                    status, detail, stopped_at = "crashed", f"kernel died in cell {index}", index
                    cell.outputs.append(_error_output("DeadKernelError", detail))
                    break
                if status == "ok" and any(
                    o.get("output_type") == "error" and o.get("ename") == "MemoryError"
                    for o in cell.outputs
                ):
                    status, detail = "killed_memory", f"MemoryError in cell {index} (memory cap reached)"
    except DeadKernelError:
        status, detail = "crashed", "kernel died"
    if stopped_at is not None:
        for later in nb.cells[stopped_at + 1:]:
            if later.cell_type == "code":
                later.outputs = [_error_output("NotRunError", "not run: " + detail)]
    cells = {
        str(i): {"outputs": c.outputs, "execution_count": c.get("execution_count")}
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
    }
    return {"status": status, "detail": detail, "cells": cells}


def _copy_into_cwd(src: str) -> None:
    # Not copytree: it would copystat the tmpfs root, which this uid does not own.
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = os.getcwd() if rel == "." else os.path.join(os.getcwd(), rel)
        os.makedirs(target, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(root, name), os.path.join(target, name))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    in_path, fd = argv[0], int(argv[1])
    cell_timeout, notebook_timeout = float(argv[2]), float(argv[3])
    _make_non_dumpable()
    if len(argv) > 4 and os.path.abspath(argv[4]) != os.getcwd():
        # Data files from the submission: copied so the notebook can read (and scribble
        # on) them in its own tmpfs working folder.
        _copy_into_cwd(argv[4])
    try:
        result = run(in_path, cell_timeout, notebook_timeout)
    except Exception as exc:  # report, do not hide: the parent records "crashed"
        result = {"status": "crashed", "detail": f"runner failed: {type(exc).__name__}: {exc}"[:2000],
                  "cells": {}}
    with os.fdopen(fd, "w", encoding="utf-8") as sink:
        json.dump(result, sink, default=str)
    # Skip interpreter teardown: leftover kernel threads must not delay the exit.
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
