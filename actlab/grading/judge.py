"""The judge: test cells run here, in a process that never holds student code.

A grading worker starts one judge process (``python -m actlab.grading.judge``) and keeps it
warm for every notebook it grades (:class:`JudgeClient`). For each notebook the judge gets a
fresh namespace; the worker hands it, in notebook order,

* the locked instructor cells that are not tests (the setup cell: ``np``, helpers), which
  run here *and* in the kernel, so the tests' names are the instructor's;
* each autograded test cell, whole (visible and hidden tests), at its place in the notebook.
  The kernel never receives a test's source; the worker makes the kernel run
  :func:`actlab.grading.agent.serve`, which connects to the judge's socket, and the test cell
  then runs here against proxies of the student's objects.

Which student names a test cell needs is read from its compiled code (every global name
its code and nested code objects load, minus those the cell binds first, builtins and
names the trusted cells defined). Each is looked up in the kernel: data comes back as data,
functions and classes as callable proxies (:class:`Remote`), other objects as handles; a
name the kernel lacks stays undefined (``NameError``, as in stock nbgrader).

A cell passes if it runs to the end; otherwise the verdict carries the exception's type, a
capped message and, for the instructor only, the traceback. A call that the grader had to
interrupt, a kernel that died or broke the protocol, all fail the test with a
:class:`BaseException` that test code cannot catch by accident.
"""

from __future__ import annotations

import builtins
import contextlib
import dis
import io
import json
import linecache
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import warnings

from . import wire

MAX_STDOUT_CHARS = 20_000
MAX_TRACEBACK_LINES = 60
# How long the worker waits for a judge to come up (imports numpy, scipy, actlab).
START_TIMEOUT_SECONDS = 60.0
HELLO_TIMEOUT_SECONDS = 2.0


class TestInterrupted(BaseException):
    """The student's code ran past the test's time limit and was interrupted."""


class KernelGone(BaseException):
    """The kernel died, or broke the protocol, while a test was using it."""


class JudgeAborted(BaseException):
    """The worker abandoned the test (time limit, kernel returned early)."""


# ---------------------------------------------------------------------------------------
# Reading a test cell's code


_LOADS = {"LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"}
_STORES = {"STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"}


def _nested_codes(code):
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield const
            yield from _nested_codes(const)


def needed_names(code) -> set[str]:
    """Global names a cell's code may read before binding them itself.

    Names whose first use at the cell's top level is a binding (``x = ...``, ``import``,
    ``for x in``) are the cell's own; names that only nested code (functions, lambdas,
    comprehensions, class bodies) reads count unless the top level binds them."""
    first: dict[str, str] = {}
    for ins in dis.get_instructions(code):
        if ins.opname in _LOADS:
            first.setdefault(ins.argval, "load")
        elif ins.opname in _STORES:
            first.setdefault(ins.argval, "store")
    nested: set[str] = set()
    for inner in _nested_codes(code):
        for ins in dis.get_instructions(inner):
            if ins.opname in _LOADS:
                nested.add(ins.argval)
    names = {n for n, how in first.items() if how == "load"} | (nested - set(first))
    return {n for n in names if isinstance(n, str) and not (n.startswith("__") and n.endswith("__"))
            and not hasattr(builtins, n)}


# ---------------------------------------------------------------------------------------
# Proxies of the student's objects


class Remote:
    """A handle to an object that stays in the student's kernel."""

    __slots__ = ("_session", "_id", "_kind", "_label", "_generation")

    def __init__(self, session, handle: int, kind: str, label: str):
        self._session, self._id, self._kind, self._label = session, handle, kind, label
        self._generation = session.generation

    @property
    def __name__(self):
        return self._label

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self, name)

    def __setattr__(self, name, value):
        if name in Remote.__slots__:
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"tests cannot set attributes of the student's {self._label}")

    def __repr__(self):
        return f"<student {self._kind} {self._label}>"


class RemoteCallable(Remote):
    """A student function, class or callable object: calling it calls it in the kernel."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._session.call(self, None, args, kwargs)


class RemoteMethod:
    """``obj.method`` of a student object: calling it calls the method in the kernel."""

    __slots__ = ("_owner", "_method")

    def __init__(self, owner: Remote, method: str):
        self._owner, self._method = owner, method

    @property
    def __name__(self):
        return self._method

    def __call__(self, *args, **kwargs):
        return self._owner._session.call(self._owner, self._method, args, kwargs)

    def __repr__(self):
        return f"<method {self._method} of {self._owner!r}>"


# ---------------------------------------------------------------------------------------
# The judge process: one session per notebook


class Session:
    """One notebook: its namespace, the names taken from the kernel, the agent connection."""

    def __init__(self, listen_path: str | None, control: socket.socket | None):
        self.ns: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.from_kernel: dict[str, object] = {}
        self.unavailable: dict[str, str] = {}
        self.control = control
        self.generation = 0
        self.proxies: dict[int, Remote] = {}
        self.callbacks: dict[int, object] = {}
        self._next_callback = 0
        self._collect: list[list[int]] = []
        self.channel: wire.Channel | None = None
        self.seq = None
        self.listener = None
        self.listen_path = listen_path
        if listen_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(listen_path)  # left by a judge that was stopped mid-notebook
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(listen_path)
            # The sandboxed kernel runs as another user; the one-time token authenticates it.
            os.chmod(listen_path, 0o666)
            self.listener.listen(4)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            with contextlib.suppress(OSError):
                os.unlink(self.listen_path)
            self.listener = None

    def kernel_restarted(self) -> None:
        """Every handle from now on belongs to a new kernel; old proxies fail cleanly."""
        self.generation += 1
        self.proxies.clear()

    # -- trusted cells --------------------------------------------------------------------

    def run_trusted(self, source: str, label: str) -> dict:
        try:
            code = compile(source, f"<{label}>", "exec")
            _remember_source(f"<{label}>", source)
            with _captured():
                exec(code, self.ns)
        except BaseException as exc:  # the instructor's cell failed here: report, go on
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        for name in list(self.from_kernel):
            if self.ns.get(name, _MISSING) is not self.from_kernel[name]:
                del self.from_kernel[name]
        return {"ok": True}

    # -- test cells --------------------------------------------------------------------------

    def judge(self, source: str, grade_id: str, token: str, seq) -> dict:
        self.seq = seq
        start = time.perf_counter()
        stdout = io.StringIO()
        filename = f"<test {grade_id}>"
        try:
            try:
                code = compile(source, filename, "exec")
            except SyntaxError as exc:
                return _verdict(exc, stdout, start, filename)
            _remember_source(filename, source)
            conn = self._accept(token)
            self.channel = wire.Channel(
                conn, {"call": self._serve_callback}, export=self._export, peer_ref=self._peer_ref,
                mine=self._proxy, yours=self._callback_for,
                watch=[(self.control, self._check_abort)] if self.control else None)
            try:
                self._bring_names(needed_names(code))
                with _captured(stdout):
                    exec(code, self.ns)
            except BaseException as exc:  # the test failed: that is the verdict
                return _verdict(exc, stdout, start, filename, self.unavailable)
            finally:
                # The test is over: a stop request that crosses the verdict changes nothing.
                self.seq = None
                self._goodbye()
            for name in list(self.from_kernel):
                if self.ns.get(name, _MISSING) is not self.from_kernel[name]:
                    del self.from_kernel[name]
            return _verdict(None, stdout, start, filename)
        except JudgeAborted as exc:
            return _verdict(exc, stdout, start, filename)

    def _accept(self, token: str) -> socket.socket:
        if self.listener is None:
            raise KernelGone("no socket for the kernel to connect to")
        while True:
            watched = [self.listener] + ([self.control] if self.control else [])
            ready, _, _ = select.select(watched, [], [])
            if self.control in ready:
                self._check_abort()
            if self.listener not in ready:
                continue
            conn, _ = self.listener.accept()
            hello = wire.Channel(conn, {})
            # The agent says hello as it connects; a connection that keeps quiet (a student's,
            # left over from an earlier test) must not hold up this one.
            conn.settimeout(HELLO_TIMEOUT_SECONDS)
            try:
                header, _ = hello.receive()
            except (wire.WireError, OSError):
                conn.close()
                continue
            conn.settimeout(None)
            if type(header) is dict and header.get("hello") == token:
                return conn
            conn.close()

    def _check_abort(self) -> None:
        message = _read_message(self.control)
        if message is None:
            raise SystemExit(0)  # the worker went away
        if message.get("op") == "abort" and message.get("seq") == self.seq:
            raise JudgeAborted(message.get("why") or "the grader stopped this test")

    def _goodbye(self) -> None:
        channel, self.channel = self.channel, None
        if channel is None:
            return
        if not channel.closed:
            with contextlib.suppress(wire.WireError, wire.RemoteError, OSError, wire.NotData,
                                     JudgeAborted):
                channel.request("bye")
        channel.sock.close()
        self.callbacks.clear()

    def _bring_names(self, wanted: set[str]) -> None:
        """Bind the student's objects that the cell reads (fresh for every test cell)."""
        trusted = {n for n in self.ns if n not in self.from_kernel}
        wanted = {n for n in wanted if n not in trusted}
        self.unavailable = {}
        if not wanted:
            return
        have = set(self._request("names") or [])
        asked = sorted(wanted & have)
        for name in wanted - have:
            if name in self.from_kernel:
                del self.from_kernel[name]
                self.ns.pop(name, None)
        if not asked:
            return

        def parse(header, blobs):
            found = header.get("v")
            if type(found) is not dict:
                raise wire.WireError("malformed lookup reply")
            dec = self.channel.decoder(blobs)
            out = {}
            for name, entry in found.items():
                if name not in asked or type(entry) is not list or len(entry) != 2:
                    raise wire.WireError("malformed lookup reply")
                tag, node = entry
                if tag == "x":
                    out[name] = (False, str(node)[:500])
                elif tag in ("v", "r"):
                    value = dec.decode(node)
                    if isinstance(value, Remote):
                        object.__setattr__(value, "_label", name)
                    out[name] = (True, value)
                else:
                    raise wire.WireError("malformed lookup reply")
            return out

        found = self._request("lookup", {"names": asked}, on_reply=parse)
        for name in asked:
            ok, value = found.get(name, (False, "the kernel did not send it"))
            if ok:
                self.ns[name] = self.from_kernel[name] = value
            else:
                self.unavailable[name] = value
                self.ns.pop(name, None)
                self.from_kernel.pop(name, None)

    # -- talking to the kernel ------------------------------------------------------------

    def _request(self, op, fields=None, on_reply=None):
        if self.channel is None:
            raise KernelGone("the kernel is not connected")
        with _kernel_failures():
            return self.channel.request(op, fields, on_reply=on_reply)

    def _live(self, remote: Remote) -> None:
        if remote._generation != self.generation:
            raise KernelGone(f"the student's {remote._label} belonged to a kernel that was "
                             "restarted")

    def call(self, remote: Remote, method, args, kwargs):
        self._live(remote)
        if self.channel is None:
            raise KernelGone("the kernel is not connected")
        made: list[int] = []
        self._collect.append(made)

        def revoke():
            for handle in made:
                self.callbacks.pop(handle, None)

        try:
            with _kernel_failures():
                return self.channel.call({"f": remote._id, "m": method}, args, kwargs,
                                         revoke=revoke)
        finally:
            self._collect.pop()

    def getattr(self, remote: Remote, name: str):
        self._live(remote)

        def parse(header, blobs):
            kind = header.get("kind")
            if kind == "method":
                return RemoteMethod(remote, name)
            if kind in ("data", "ref"):
                value = self.channel.decoder(blobs).decode(header.get("v"))
                if isinstance(value, Remote):
                    object.__setattr__(value, "_label", f"{remote._label}.{name}")
                return value
            raise wire.WireError("malformed attribute reply")

        return self._request("getattr", {"f": remote._id, "name": name}, on_reply=parse)

    # -- hooks for the wire ---------------------------------------------------------------

    def _proxy(self, ref: wire.Mine):
        if ref.kind == "callback":
            raise wire.WireError("the kernel may not send callbacks")
        proxy = self.proxies.get(ref.id)
        if proxy is None or proxy._kind != ref.kind:
            cls = Remote if ref.kind == "object" else RemoteCallable
            proxy = self.proxies[ref.id] = cls(self, ref.id, ref.kind, f"object #{ref.id}")
        return proxy

    def _peer_ref(self, obj):
        if isinstance(obj, Remote):
            self._live(obj)
            return wire.Yours(obj._id)
        if isinstance(obj, RemoteMethod):
            self._live(obj._owner)
            return wire.Yours(obj._owner._id, obj._method)
        return None

    def _export(self, obj):
        if not callable(obj) or not self._collect:
            return None
        self._next_callback += 1
        self.callbacks[self._next_callback] = obj
        self._collect[-1].append(self._next_callback)
        return wire.Mine(self._next_callback, "callback")

    def _callback_for(self, ref: wire.Yours):
        fn = self.callbacks.get(ref.id)
        if fn is None:
            raise RuntimeError("a function from the grader was used after the call that "
                               "received it returned")
        return getattr(fn, ref.method) if ref.method else fn

    def _serve_callback(self, channel, header, blobs):
        fid = header.get("f")
        fn = self.callbacks.get(fid) if type(fid) is int else None
        if fn is None or header.get("m") is not None:
            raise RuntimeError("a function from the grader was used after the call that "
                               "received it returned")
        self._collect.append([])  # results of callbacks are data: nothing is exported
        try:
            return wire.run_call(channel, header, blobs, fn)
        finally:
            self._collect.pop()


_MISSING = object()


@contextlib.contextmanager
def _kernel_failures():
    """What goes wrong with the kernel, as the exception the test fails with."""
    try:
        yield
    except wire.ConnectionLost:
        raise KernelGone("the kernel stopped answering (it died, or ended the grader's "
                         "connection)") from None
    except wire.WireError as exc:
        raise KernelGone(f"the kernel sent something that is not valid data ({exc})") from None
    except wire.RemoteError as exc:
        raise _translate(exc) from None


def _translate(exc: wire.RemoteError) -> BaseException:
    if exc.type_name == "KeyboardInterrupt":
        return TestInterrupted("the student's code ran past the test's time limit and was "
                               "interrupted")
    return wire.rebuild_exception(exc)


def _remember_source(filename: str, source: str) -> None:
    # Tracebacks in the instructor's copy show the test's lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


@contextlib.contextmanager
def _captured(stdout: io.StringIO | None = None):
    """The cell's prints go to ``stdout`` (or nowhere); stderr and shown warnings nowhere."""
    with contextlib.redirect_stdout(stdout if stdout is not None else io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        yield


_NAMES = {TestInterrupted: "TimeoutError", KernelGone: "DeadKernelError",
          JudgeAborted: "TimeoutError"}


def _verdict(exc, stdout: io.StringIO, start: float, filename: str, unavailable=None) -> dict:
    out = {"passed": exc is None, "seconds": round(time.perf_counter() - start, 6),
           "stdout": stdout.getvalue()[:MAX_STDOUT_CHARS]}
    if exc is None:
        return out
    ename = _NAMES.get(type(exc), type(exc).__name__)
    try:
        evalue = str(exc)
    except Exception:
        evalue = ""
    if isinstance(exc, NameError) and unavailable:
        name = getattr(exc, "name", None)
        if name in unavailable:
            evalue += f" (the notebook's `{name}` could not be graded: {unavailable[name]})"
    frames = _test_frames(exc.__traceback__)
    lines = (["Traceback (most recent call last):\n",
              *traceback.StackSummary.extract(frames).format()] if frames else [])
    lines += traceback.format_exception_only(type(exc), exc)
    out.update(ename=ename, evalue=evalue[:wire.MAX_MESSAGE_CHARS],
               traceback=[ln.rstrip("\n") for ln in lines][-MAX_TRACEBACK_LINES:])
    return out


def _test_frames(tb) -> list:
    """The frames of a failed test worth showing: the test cell's and those of the helpers it
    called, down to the first frame of the judge's machinery (a proxy: what lies below it is
    plumbing, and the student's own frames are in the kernel), without the frames that ask to
    be hidden with ``__tracebackhide__`` (as IPython hides them: ``quiet``, ``Checks``)."""
    machinery = os.path.dirname(os.path.abspath(__file__)) + os.sep
    kept = []
    for frame, lineno in traceback.walk_tb(tb):
        if os.path.abspath(frame.f_code.co_filename).startswith(machinery):
            if kept:
                break
            continue  # the judge's frames that run the cell
        if frame.f_locals.get("__tracebackhide__"):
            continue
        kept.append((frame, lineno))
    return kept


# ---------------------------------------------------------------------------------------
# Control messages between the worker and its judge (both trusted): length-prefixed JSON


def _send_message(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except OSError:  # reset or closed under us: the other side is gone
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_message(sock: socket.socket) -> dict | None:
    head = _read_exact(sock, 4)
    if head is None:
        return None
    body = _read_exact(sock, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def main(argv=None) -> int:
    """The judge process: serve the worker's commands on the inherited socket."""
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    import numpy as np

    # Imported once, here, so that no test pays for them (the course's test cells use them).
    for module in ("scipy.special", "actlab.activations", "actlab.gradcheck", "actlab.nn",
                   "actlab.assignments", "actlab.data"):
        with contextlib.suppress(Exception):
            __import__(module)
    errstate = np.geterr()
    filters = list(warnings.filters)
    session: Session | None = None
    _send_message(control, {"ready": os.getpid()})
    while True:
        message = _read_message(control)
        if message is None:
            return 0
        op = message.get("op")
        try:
            if op == "begin":
                if session is not None:
                    session.close()
                np.seterr(**errstate)
                warnings.filters[:] = filters
                session = Session(message.get("listen"), control)
                reply = {"ok": True}
            elif op == "trusted":
                reply = session.run_trusted(message["source"], message.get("label", "setup"))
            elif op == "test":
                reply = session.judge(message["source"], message["grade_id"], message["token"],
                                      message.get("seq"))
            elif op == "restarted":
                session.kernel_restarted()
                reply = {"ok": True}
            elif op == "end":
                if session is not None:
                    session.close()
                session = None
                reply = {"ok": True}
            elif op == "abort":
                continue  # arrived after its test had ended
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except SystemExit:
            return 0
        except BaseException as exc:  # keep serving; the worker decides what to do
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        _send_message(control, reply)


# ---------------------------------------------------------------------------------------
# The worker's side


class JudgeUnavailable(RuntimeError):
    """The judge process did not answer in time (it is restarted for the next notebook)."""


class JudgeClient:
    """A warm judge process owned by one grading worker (process or thread)."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._ready = False
        self._seq = 0

    def start(self) -> None:
        """Start the process (returns at once; the first command waits for it)."""
        self.close()
        ours, theirs = socket.socketpair()
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", TQDM_DISABLE="1", PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "actlab.grading.judge", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
        theirs.close()
        self.sock = ours
        self._ready = False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _receive(self, sock: socket.socket, timeout: float | None) -> dict:
        """The next reply on ``sock``. A command reads only the socket it was sent on: a
        thread still waiting for a judge that has been replaced must see that judge's end,
        never take a message meant for its successor."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready, _, _ = select.select([sock], [], [], left)
            except (OSError, ValueError):  # closed under us: that judge is gone
                raise JudgeUnavailable("the judge process ended") from None
            if not ready:
                raise JudgeUnavailable(f"the judge did not answer within {timeout:.0f} s")
            message = _read_message(sock)
            if message is None:
                raise JudgeUnavailable("the judge process ended")
            if "ready" in message:
                continue
            return message

    def command(self, message: dict, timeout: float | None = 30.0) -> dict:
        if not self.alive():
            self.start()
        sock = self.sock
        if not self._ready:
            self._receive_ready(sock)
        with self._send_lock:
            _send_message(sock, message)
        return self._receive(sock, timeout)

    def _receive_ready(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        message = _read_message(sock) if ready else None
        if message is None or "ready" not in message:
            self.close()
            raise JudgeUnavailable("the judge process did not start")
        self._ready = True

    def begin(self, listen_path: str) -> None:
        reply = self.command({"op": "begin", "listen": listen_path})
        if not reply.get("ok"):
            raise JudgeUnavailable(reply.get("error", "the judge refused the notebook"))

    def trusted(self, source: str, label: str, timeout: float) -> dict:
        return self.command({"op": "trusted", "source": source, "label": label}, timeout)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def test(self, source: str, grade_id: str, token: str, seq: int,
             timeout: float | None = None) -> dict:
        """Judge one test cell; blocks until the verdict (call it from a thread)."""
        return self.command({"op": "test", "source": source, "grade_id": grade_id,
                             "token": token, "seq": seq}, timeout)

    def abort(self, seq: int, why: str) -> None:
        if self.sock is None:
            return
        with self._send_lock, contextlib.suppress(OSError):
            _send_message(self.sock, {"op": "abort", "seq": seq, "why": why})

    def restarted(self) -> None:
        self.command({"op": "restarted"})

    def end(self) -> None:
        if self.alive():
            with contextlib.suppress(JudgeUnavailable, OSError):
                self.command({"op": "end"}, timeout=10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.sock is not None:
            # shutdown wakes a thread that is still waiting on this socket; close alone may not.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
            self.sock = None
        self._ready = False


_idle: dict[int, list[JudgeClient]] = {}
_idle_lock = threading.Lock()


@contextlib.contextmanager
def borrowed_judge():
    """A warm judge of this process for one notebook, returned to the process's pool after.

    A sequential grader and a pool worker keep reusing one; concurrent jobs in threads (a
    Dask worker) each get their own. Keyed by pid, so a forked child never shares its
    parent's."""
    with _idle_lock:
        idle = _idle.setdefault(os.getpid(), [])
        client = idle.pop() if idle else JudgeClient()
    if not client.alive():
        client.start()
    try:
        yield client
    finally:
        with _idle_lock:
            _idle.setdefault(os.getpid(), []).append(client)


def prestart() -> None:
    """Start this process's judge now (it imports numpy, scipy and actlab in the background)."""
    with borrowed_judge():
        pass


if __name__ == "__main__":
    sys.exit(main())
