"""The judge's agent inside the student's kernel: it serves the student's objects as data.

At each graded test cell the grader sends the kernel one *silent* execute request (no input
history, no execution count) whose code only calls :func:`serve` with a socket path and a
one-time token. The agent connects to the judge, which runs the test cell in its own process,
and answers the judge's requests on the kernel's main thread (so an interrupt reaches the
student's code) until the judge says goodbye:

* ``names``: the names the notebook has defined;
* ``lookup``: for each asked name, its value as plain data, or a handle if it is a function,
  a class or another object (objects stay here; the judge only ever holds handles);
* ``call``: call a handle (or a method of one) with the judge's arguments; a class call
  returns a handle to the new instance, any other call must return plain data;
* ``getattr``: an attribute of a handle, as data, a method, or a handle.

While it serves, what the kernel prints is discarded. The grader does not trust anything
this module does: a student who replaces or breaks it only breaks their own proxies (see
:mod:`actlab.grading.wire` for the checks on the judge's side).
"""

from __future__ import annotations

import inspect
import socket
import sys
import types

from . import wire

# Handles live as long as the kernel: a test cell may keep an instance for a later cell.
_objects: dict[int, object] = {}
_ids: dict[int, int] = {}
_stubs: dict[int, int] = {}


class _Discard:
    """A text stream that keeps nothing (what the kernel prints while it is judged)."""

    encoding = "utf-8"

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def _user_namespace() -> dict:
    try:
        return get_ipython().user_ns  # noqa: F821 (the kernel's builtin)
    except NameError:
        return sys.modules["__main__"].__dict__


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    return "function" if callable(obj) else "object"


def _export(obj) -> wire.Mine | None:
    """A handle for one of the kernel's objects (the same object always gets the same id)."""
    if isinstance(obj, types.ModuleType):
        return None
    key = id(obj)
    if key not in _ids:
        handle = len(_objects) + 1
        _objects[handle] = obj
        _ids[key] = handle
    return wire.Mine(_ids[key], _kind(obj))


def _resolve(ref: wire.Yours):
    obj = _objects.get(ref.id)
    if obj is None:
        raise LookupError("this object does not exist in the kernel (it was restarted)")
    return getattr(obj, ref.method) if ref.method else obj


def _peer_ref(obj) -> wire.Yours | None:
    handle = _stubs.get(id(obj))
    return wire.Yours(handle) if handle is not None else None


def serve(path: str, token: str) -> None:
    """Connect to the judge at ``path``, identify with ``token``, serve until it says bye."""
    namespace = _user_namespace()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    channel: wire.Channel

    def callback(ref: wire.Mine):
        if ref.kind != "callback":
            raise wire.WireError("the judge sent a reference that is not a callback")

        def from_the_grader(*args, **kwargs):
            if channel.closed:
                raise RuntimeError("a function from the grader was used after its test ended")
            try:
                return channel.call({"f": ref.id}, args, kwargs)
            except wire.RemoteError as exc:
                raise wire.rebuild_exception(exc) from None

        _stubs[id(from_the_grader)] = ref.id
        stubs.append(from_the_grader)
        return from_the_grader

    def names(channel, header, blobs):
        return {"v": sorted(k for k in list(namespace) if type(k) is str)[:50_000]}, []

    def lookup(channel, header, blobs):
        asked = header.get("names")
        if type(asked) is not list:
            raise wire.WireError("malformed lookup")
        enc = channel.encoder()
        enc.export = lambda obj: None
        found = {}
        for name in asked[:10_000]:
            if type(name) is not str or name not in namespace:
                continue
            value = namespace[name]
            mark = (len(enc.blobs), enc.size, enc.items)
            try:
                found[name] = ["v", enc.encode(value, where=f"`{name}`")]
            except wire.NotData as exc:
                del enc.blobs[mark[0]:]
                enc.size, enc.items = mark[1], mark[2]
                ref = _export(value)
                found[name] = ["r", {"o": ref.id, "k": ref.kind}] if ref else ["x", str(exc)]
        return {"v": found}, enc.blobs

    def call(channel, header, blobs):
        target = _resolve(wire.Yours(_handle(header.get("f"))))
        method = header.get("m")
        if method is not None:
            target = getattr(target, str(method))
        return wire.run_call(channel, header, blobs, target,
                             result_may_be_reference=inspect.isclass(target))

    def getattr_(channel, header, blobs):
        target = _resolve(wire.Yours(_handle(header.get("f"))))
        value = getattr(target, str(header.get("name")))
        enc = channel.encoder()
        enc.export = lambda obj: None
        try:
            return {"kind": "data", "v": enc.encode(value, where="the attribute")}, enc.blobs
        except wire.NotData:
            if callable(value) and not inspect.isclass(value):
                return {"kind": "method"}, []
            ref = _export(value)
            if ref is None:
                raise
            return {"kind": "ref", "v": {"o": ref.id, "k": ref.kind}}, []

    stubs: list = []
    channel = wire.Channel(sock, {"names": names, "lookup": lookup, "call": call,
                                  "getattr": getattr_},
                           export=_export, peer_ref=_peer_ref, mine=callback, yours=_resolve)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _Discard()
    try:
        channel.send({"hello": str(token)})
        channel.serve()
    except wire.WireError:
        pass
    finally:
        sys.stdout, sys.stderr = saved
        channel.closed = True
        for stub in stubs:
            _stubs.pop(id(stub), None)
        sock.close()


def _handle(value) -> int:
    if type(value) is not int:
        raise wire.WireError("malformed handle")
    return value
