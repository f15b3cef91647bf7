"""Plain data across the trust boundary between the judge and the student's kernel.

The judge (trusted, holds the tests) and the agent in the student's kernel (untrusted, holds
the student's code) talk over one Unix socket with length-prefixed frames: a JSON header and
raw ``.npy`` blobs. Nothing is ever pickled. What crosses is **plain data** -- numpy arrays
of bool, integer, unsigned, float or complex dtype (exactly ``np.ndarray``, never a
subclass), numpy scalars (their exact type is kept: ``np.float32(1)`` stays ``np.float32``),
Python ``None``/``bool``/``int``/``float``/``str`` (exact types), and tuples, lists and dicts
of these -- plus *references*: an object stays on the side that owns it and the other side
holds a handle to it (the student's functions, classes and instances; the tests' callbacks).

Every frame and value is capped (:data:`MAX_FRAME_BYTES`, :data:`MAX_ITEMS`,
:data:`MAX_DEPTH`, :data:`MAX_STR`); ``.npy`` headers are read and checked before a byte of
array data is trusted, and arrays are loaded with ``allow_pickle=False`` semantics (only the
numeric kinds above are accepted at all). A peer that breaks the protocol gets its
connection dropped (:class:`WireError`); a value that is not data is refused
(:class:`NotData`) with a sentence saying why.

:class:`Channel` is the symmetric request/reply layer both sides use: while one side waits
for the reply to its request, it serves the other side's nested requests (a student function
calling a test's callback, which calls the student again, ...). Calls carry the caller's
``np.geterr()``; warnings raised in the callee are recorded and replayed on the caller's
side (category mapped to the nearest builtin ``Warning`` class, message kept); argument
arrays and containers that the callee changed are copied back into the caller's objects;
an exception comes back as type name, MRO names and message and is raised again as the
nearest builtin exception class.

This module is imported inside the student's kernel: it needs only numpy and the standard
library.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import select
import socket
import struct
import warnings
from dataclasses import dataclass

import numpy as np

# A frame (header and blobs) larger than this is a protocol violation; an array or result
# that would need one is refused before it is sent.
MAX_FRAME_BYTES = 64 * 1024**2
MAX_HEADER_BYTES = 16 * 1024**2
# Nodes in one value tree (every list element, dict entry, scalar counts), nesting depth,
# characters of one string.
MAX_ITEMS = 200_000
MAX_DEPTH = 32
MAX_STR = 1_000_000
MAX_MESSAGE_CHARS = 2_000
# Requests nested inside each other (callbacks calling the student calling callbacks ...).
MAX_NESTING = 64
# Warnings replayed per call (distinct category and message).
MAX_WARNINGS = 20
ARRAY_KINDS = "biufc"
_NPY_MAX_HEADER = 10_000


class WireError(Exception):
    """The peer broke the protocol (or went away); the connection cannot be used any more."""


class ConnectionLost(WireError):
    """The peer closed the connection (a kernel that died, an agent that returned)."""


class NotData(TypeError):
    """A value that cannot cross the boundary as data; the message says what and why."""


class RemoteError(Exception):
    """Raised by :meth:`Channel.request` when the peer answers with an error.

    ``type_name`` and ``mro`` are the names of the exception class and its bases on the
    peer's side; :func:`rebuild_exception` turns it into a builtin exception.
    """

    def __init__(self, type_name: str, mro: list, message: str):
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.mro, self.message = type_name, list(mro), message


@dataclass(frozen=True)
class Mine:
    """An object of the sender's: the receiver makes a proxy (``kind``: function, class,
    object, callback)."""

    id: int
    kind: str


@dataclass(frozen=True)
class Yours:
    """A reference the sender holds to one of the receiver's objects (``method``: the
    attribute to take from it, for a bound method)."""

    id: int
    method: str | None = None


# ---------------------------------------------------------------------------------------
# Values


def _describe(value) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" else cls.__name__


def check_array(arr: np.ndarray, where: str = "an array") -> None:
    """Raise :class:`NotData` unless ``arr`` is a plain ndarray of a numeric or bool dtype."""
    if type(arr) is not np.ndarray:
        raise NotData(f"{where} is a {_describe(arr)}, a subclass of numpy.ndarray; only plain "
                      "numpy arrays can be graded")
    if arr.dtype.kind not in ARRAY_KINDS or arr.dtype.fields is not None or arr.dtype.hasobject:
        raise NotData(f"{where} has dtype {arr.dtype}; only bool, integer, float and complex "
                      "arrays can be graded")
    if arr.nbytes > MAX_FRAME_BYTES - 4096:
        raise NotData(f"{where} holds {arr.nbytes / 1e6:.0f} MB; at most "
                      f"{MAX_FRAME_BYTES // 1024**2} MiB can be graded")


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def load_npy(blob: bytearray) -> np.ndarray:
    """An ndarray from ``.npy`` bytes, checking the header against the data before trusting it."""
    f = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, _NPY_MAX_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, _NPY_MAX_HEADER)
        else:
            raise ValueError(f"npy version {version}")
    except (ValueError, TypeError, SyntaxError, OverflowError) as exc:
        raise WireError(f"malformed .npy header: {exc}") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"array of dtype {dtype} sent")
    count = 1
    for n in shape:
        if not isinstance(n, int) or n < 0:
            raise WireError(f"bad array shape {shape}")
        count *= n
    offset = f.tell()
    if count * dtype.itemsize != len(blob) - offset:
        raise WireError(f"array of shape {shape} and dtype {dtype} does not match its "
                        f"{len(blob) - offset} data bytes")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


class Encoder:
    """Turns a value into a JSON-able tree and a list of blobs.

    ``export(obj)`` may return a :class:`Mine` for an object that is not data but may
    cross as a reference (or None); ``peer_ref(obj)`` a :class:`Yours` for a proxy of the
    peer's object (or None).
    """

    def __init__(self, export=None, peer_ref=None):
        self.export = export or (lambda obj: None)
        self.peer_ref = peer_ref or (lambda obj: None)
        self.blobs: list[bytes] = []
        self.items = 0
        self.size = 0

    def encode(self, value, depth: int = 0, where: str = "the value"):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise NotData(f"{where} has more than {MAX_ITEMS} items")
        if depth > MAX_DEPTH:
            raise NotData(f"{where} is nested more than {MAX_DEPTH} levels deep")
        cls = type(value)
        if value is None or cls in (bool, int, float):
            return value
        if cls is str:
            if len(value) > MAX_STR:
                raise NotData(f"{where} is a string of {len(value)} characters")
            return value
        if cls is list:
            return [self.encode(v, depth + 1, where) for v in value]
        if cls is tuple:
            return {"t": [self.encode(v, depth + 1, where) for v in value]}
        if cls is dict:
            return {"d": [[self.encode(k, depth + 1, where), self.encode(v, depth + 1, where)]
                          for k, v in value.items()]}
        if isinstance(value, np.ndarray):
            check_array(value, where)
            data = _npy_bytes(value)
            self._add(len(data), where)
            self.blobs.append(data)
            return {"a": len(self.blobs) - 1}
        if isinstance(value, np.generic):
            dtype = np.dtype(cls) if cls is not np.generic else None
            if dtype is None or dtype.type is not cls or dtype.kind not in ARRAY_KINDS \
                    or dtype.fields is not None:
                raise NotData(f"{where} is a {_describe(value)}, not a plain number")
            return {"s": dtype.str, "x": value.tobytes().hex()}
        ref = self.peer_ref(value)
        if ref is not None:
            return {"y": ref.id, "m": ref.method} if ref.method else {"y": ref.id}
        mine = self.export(value)
        if mine is not None:
            return {"o": mine.id, "k": mine.kind}
        raise NotData(f"{where} is a {_describe(value)}, which is not data: only numbers, "
                      "strings, numpy arrays and lists, tuples and dicts of them can be graded")

    def _add(self, nbytes: int, where: str) -> None:
        self.size += nbytes
        if self.size > MAX_FRAME_BYTES - 4096:
            raise NotData(f"{where} holds more than {MAX_FRAME_BYTES // 1024**2} MiB of arrays")


class Decoder:
    """Turns a tree and its blobs back into values, checking every cap and type.

    ``mine(Mine)`` makes a proxy for a sender's object; ``yours(Yours)`` resolves a
    reference to one of the receiver's own objects. Either may raise :class:`WireError`.
    """

    def __init__(self, blobs, mine=None, yours=None):
        self.blobs = blobs
        self.used: set[int] = set()
        self.mine = mine
        self.yours = yours
        self.items = 0

    def decode(self, node, depth: int = 0):
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("value too large or too deeply nested")
        if node is None or type(node) in (bool, int, float):
            return node
        if type(node) is str:
            if len(node) > MAX_STR:
                raise WireError("string too long")
            return node
        if type(node) is list:
            return [self.decode(v, depth + 1) for v in node]
        if type(node) is not dict or len(node) not in (1, 2):
            raise WireError(f"unexpected node {str(node)[:80]}")
        if "t" in node and len(node) == 1 and type(node["t"]) is list:
            return tuple(self.decode(v, depth + 1) for v in node["t"])
        if "d" in node and len(node) == 1 and type(node["d"]) is list:
            out = {}
            for pair in node["d"]:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("malformed dict entry")
                key = self.decode(pair[0], depth + 1)
                try:
                    out[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise WireError("unhashable dict key") from None
            return out
        if "a" in node and len(node) == 1:
            index = node["a"]
            if type(index) is not int or not 0 <= index < len(self.blobs) or index in self.used:
                raise WireError("bad array reference")
            self.used.add(index)
            return load_npy(self.blobs[index])
        if "s" in node and "x" in node:
            try:
                dtype = np.dtype(str(node["s"]))
                raw = bytes.fromhex(str(node["x"]))
            except (TypeError, ValueError):
                raise WireError("malformed numpy scalar") from None
            if (dtype.kind not in ARRAY_KINDS or dtype.fields is not None
                    or len(raw) != dtype.itemsize):
                raise WireError(f"numpy scalar of dtype {dtype} sent")
            return np.frombuffer(raw, dtype=dtype)[0]
        if "o" in node and "k" in node and self.mine is not None:
            if type(node["o"]) is not int \
                    or node["k"] not in ("function", "class", "object", "callback"):
                raise WireError("malformed reference")
            return self.mine(Mine(node["o"], node["k"]))
        if "y" in node and self.yours is not None and type(node["y"]) is int:
            method = node.get("m")
            if method is not None and (type(method) is not str or len(method) > 200):
                raise WireError("malformed method reference")
            return self.yours(Yours(node["y"], method))
        raise WireError(f"unexpected node {str(node)[:80]}")


# ---------------------------------------------------------------------------------------
# Copy-back: what a callee did to its arguments, done to the caller's objects


def array_digest(arr: np.ndarray) -> bytes:
    return (hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).reshape(-1) if arr.size
                            else b"", digest_size=16).digest()
            + repr((arr.shape, arr.dtype.str)).encode())


def snapshot(value, seen=None) -> list:
    """Fingerprints of the mutable parts of ``value`` (arrays, lists, dicts), in walk order."""
    seen = set() if seen is None else seen
    out: list = []
    if id(value) in seen:
        return out
    cls = type(value)
    if cls is np.ndarray:
        seen.add(id(value))
        out.append(array_digest(value))
    elif cls in (list, tuple):
        seen.add(id(value))
        out.append((cls.__name__, len(value), tuple(id(v) for v in value)))
        for v in value:
            out += snapshot(v, seen)
    elif cls is dict:
        seen.add(id(value))
        out.append(("dict", tuple((k, id(v)) for k, v in value.items())))
        for v in value.values():
            out += snapshot(v, seen)
    return out


def copy_back(orig, new):
    """Make ``orig`` (the caller's argument) look like ``new`` (what the callee left), in place
    where ``orig`` is mutable; returns the object the caller should keep."""
    if type(orig) is np.ndarray and type(new) is np.ndarray:
        if orig.shape == new.shape and orig.flags.writeable:
            with np.errstate(all="ignore"):
                orig[...] = new
            return orig
        return orig
    if type(orig) is list and type(new) is list:
        for i, item in enumerate(new[:len(orig)]):
            orig[i] = copy_back(orig[i], item)
        if len(new) < len(orig):
            del orig[len(new):]
        else:
            orig.extend(new[len(orig):])
        return orig
    if type(orig) is dict and type(new) is dict:
        for key in [k for k in orig if k not in new]:
            del orig[key]
        for key, item in new.items():
            orig[key] = copy_back(orig[key], item) if key in orig else item
        return orig
    if type(orig) is tuple and type(new) is tuple and len(orig) == len(new):
        for a, b in zip(orig, new):
            copy_back(a, b)
        return orig
    if type(orig) in (np.ndarray, list, dict, tuple):
        return orig
    return new


# ---------------------------------------------------------------------------------------
# Exceptions and warnings across the boundary


def describe_exception(exc: BaseException) -> dict:
    mro = [c.__name__ for c in type(exc).__mro__]
    try:
        message = str(exc)
    except Exception:  # a student exception whose __str__ itself fails
        message = ""
    return {"type": type(exc).__name__, "mro": mro[:20], "msg": message[:MAX_MESSAGE_CHARS]}


def nearest_builtin(names, base=BaseException) -> type:
    for name in names:
        cls = getattr(builtins, str(name), None)
        if isinstance(cls, type) and issubclass(cls, base):
            return cls
    return base


def rebuild_exception(err: RemoteError) -> Exception:
    """The peer's exception as the nearest builtin Exception class in its MRO.

    Classes that are not ``Exception`` subclasses (SystemExit, KeyboardInterrupt, ...) and
    StopIteration, which must not leak into generators, come back as RuntimeError."""
    cls = nearest_builtin(err.mro, Exception)
    if "Exception" not in err.mro:
        cls = RuntimeError
    if issubclass(cls, (StopIteration, StopAsyncIteration)):
        cls = RuntimeError
    message = err.message
    # NotData's own message says what happened; other foreign classes are named.
    if cls.__name__ != err.type_name and err.type_name != "NotData":
        message = f"{err.type_name}: {message}" if message else err.type_name
    try:
        return cls(message) if message else cls()
    except Exception:
        return RuntimeError(message)


def replay_warnings(records) -> None:
    for category_names, message in records:
        warnings.warn(str(message), nearest_builtin(category_names, Warning), stacklevel=3)


def _record(caught) -> list:
    seen, out = set(), []
    for w in caught:
        names = [c.__name__ for c in w.category.__mro__][:10]
        key = (names[0], str(w.message))
        if key in seen:
            continue
        seen.add(key)
        out.append([names, str(w.message)[:MAX_MESSAGE_CHARS]])
        if len(out) >= MAX_WARNINGS:
            break
    return out


_ERRSTATE_KEYS = ("divide", "over", "under", "invalid")
_ERRSTATE_VALUES = ("ignore", "warn", "raise", "call", "print", "log")


def clean_errstate(state) -> dict:
    if type(state) is not dict:
        return {}
    return {k: v for k, v in state.items() if k in _ERRSTATE_KEYS and v in _ERRSTATE_VALUES
            and v not in ("call", "log")}


# ---------------------------------------------------------------------------------------
# Frames and the request/reply channel


class Channel:
    """Requests and replies over a connected stream socket, served in both directions.

    ``handlers`` maps an op name to ``handler(channel, message, decoder_blobs) -> value``
    for requests the peer sends; ``on_wait`` (optional) is called with the socket's peers
    to watch while waiting (the judge watches its control connection); ``export`` and
    ``peer_ref`` are the encoder hooks, ``mine``/``yours`` the decoder hooks (see
    :class:`Encoder`, :class:`Decoder`).
    """

    def __init__(self, sock: socket.socket, handlers: dict, *, export=None, peer_ref=None,
                 mine=None, yours=None, watch=None):
        self.sock = sock
        self.handlers = handlers
        self.export, self.peer_ref, self.mine, self.yours = export, peer_ref, mine, yours
        # (fileobj, callback) pairs: while waiting, a readable fileobj runs its callback,
        # which may raise to abandon the wait.
        self.watch = list(watch or [])
        self._next = 0
        self.depth = 0
        self.closed = False

    # -- frames ------------------------------------------------------------------------

    def send(self, header: dict, blobs=()) -> None:
        blobs = list(blobs)
        header = dict(header, n=[len(b) for b in blobs])
        data = json.dumps(header, separators=(",", ":")).encode()
        if len(data) > MAX_HEADER_BYTES or sum(len(b) for b in blobs) + len(data) > MAX_FRAME_BYTES:
            raise NotData("message too large to send")
        try:
            self.sock.sendall(struct.pack(">I", len(data)) + data)
            for blob in blobs:
                self.sock.sendall(blob)
        except OSError as exc:
            self.closed = True
            raise ConnectionLost(f"connection lost while sending: {exc}") from None

    def _wait_readable(self) -> None:
        if not self.watch:
            return
        while True:
            ready, _, _ = select.select([self.sock] + [w for w, _ in self.watch], [], [])
            for fileobj, callback in self.watch:
                if fileobj in ready:
                    callback()
            if self.sock in ready:
                return

    def _recv_exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            self._wait_readable()
            try:
                k = self.sock.recv_into(view[got:], n - got)
            except OSError as exc:
                self.closed = True
                raise ConnectionLost(f"connection lost: {exc}") from None
            if k == 0:
                self.closed = True
                raise ConnectionLost("the other side closed the connection")
            got += k
        return buf

    def receive(self) -> tuple[dict, list]:
        (length,) = struct.unpack(">I", bytes(self._recv_exact(4)))
        if length > MAX_HEADER_BYTES:
            self.closed = True
            raise WireError(f"header of {length} bytes refused")
        try:
            header = json.loads(bytes(self._recv_exact(length)))
        except (ValueError, RecursionError):
            self.closed = True
            raise WireError("malformed header") from None
        sizes = header.get("n") if type(header) is dict else None
        if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes) \
                or sum(sizes) + length > MAX_FRAME_BYTES or len(sizes) > MAX_ITEMS:
            self.closed = True
            raise WireError("bad blob sizes")
        blobs = [self._recv_exact(s) for s in sizes]
        return header, blobs

    # -- values --------------------------------------------------------------------------

    def encoder(self) -> Encoder:
        return Encoder(self.export, self.peer_ref)

    def decoder(self, blobs) -> Decoder:
        return Decoder(blobs, self.mine, self.yours)

    # -- requests ------------------------------------------------------------------------

    def request(self, op: str, fields: dict | None = None, blobs=(), on_reply=None):
        """Send request ``op`` and serve the peer's requests until its reply arrives.

        Returns ``on_reply(header, blobs)`` (default: the decoded ``"v"`` field); raises
        :class:`RemoteError` if the peer answers with an error."""
        if self.closed:
            raise ConnectionLost("the connection is closed")
        if self.depth >= MAX_NESTING:
            raise RecursionError(f"calls between the grader and the kernel nested more than "
                                 f"{MAX_NESTING} deep")
        self._next += 1
        rid = self._next
        self.send({"q": rid, "op": op, **(fields or {})}, blobs)
        self.depth += 1
        try:
            while True:
                header, got = self.receive()
                if "q" in header:
                    self._serve_one(header, got)
                    continue
                if header.get("a") != rid:
                    self.closed = True
                    raise WireError("reply out of order")
                if "err" in header:
                    err = header["err"] if type(header["err"]) is dict else {}
                    mro = err.get("mro") if type(err.get("mro")) is list else []
                    raise RemoteError(str(err.get("type", "Exception"))[:200],
                                      [str(m)[:200] for m in mro[:20]],
                                      str(err.get("msg", ""))[:MAX_MESSAGE_CHARS])
                if on_reply is not None:
                    return on_reply(header, got)
                return self.decoder(got).decode(header.get("v"))
        finally:
            self.depth -= 1

    def _serve_one(self, header: dict, blobs) -> bool:
        """Answer one request of the peer; returns False for "bye"."""
        rid = header.get("q")
        op = header.get("op")
        if op == "bye":
            self.send({"a": rid, "v": None})
            return False
        handler = self.handlers.get(op)
        try:
            if handler is None:
                raise WireError(f"unknown request {str(op)[:40]!r}")
            reply, reply_blobs = handler(self, header, blobs)
        except WireError:
            self.closed = True
            raise
        except BaseException as exc:  # the handler's failure (an interrupt too) is the answer
            self.send({"a": rid, "err": describe_exception(exc)})
            return True
        self.send({"a": rid, **reply}, reply_blobs)
        return True

    def serve(self) -> None:
        """Serve the peer's requests until it says "bye" or goes away."""
        self.depth += 1
        try:
            while True:
                header, blobs = self.receive()
                if "q" not in header:
                    self.closed = True
                    raise WireError("unexpected reply")
                if not self._serve_one(header, blobs):
                    return
        finally:
            self.depth -= 1

    # -- calls -----------------------------------------------------------------------------

    def call(self, target_fields: dict, args: tuple, kwargs: dict, revoke=None):
        """Call the peer's object named by ``target_fields`` with ``args`` and ``kwargs``.

        Carries this side's ``np.geterr()``; replays the callee's warnings here; copies
        changes the callee made to the arguments back into them. ``revoke()`` is called
        when the call is over (callbacks handed out with the arguments stop working)."""
        enc = self.encoder()
        try:
            tree = enc.encode([list(args), kwargs], where="an argument")
        except NotData as exc:
            if revoke is not None:
                revoke()
            raise NotData(f"cannot pass this to the student's code: {exc}") from None

        def on_reply(header, blobs):
            dec = self.decoder(blobs)
            value = dec.decode(header.get("v"))
            back = header.get("back")
            records = header.get("w") if type(header.get("w")) is list else []
            return value, (dec.decode(back) if back is not None else None), records

        try:
            value, back, records = self.request(
                "call", {**target_fields, "args": tree, "err": np.geterr()}, enc.blobs,
                on_reply=on_reply)
        finally:
            if revoke is not None:
                revoke()
        if back is not None and type(back) is list and len(back) == 2:
            copy_back(list(args), back[0])
            copy_back(kwargs, back[1])
        replay_warnings([r for r in records if type(r) is list and len(r) == 2
                         and type(r[0]) is list][:MAX_WARNINGS])
        return value


def run_call(channel: Channel, header: dict, blobs, fn, result_may_be_reference=False):
    """The callee's half of :meth:`Channel.call`: decode, call ``fn(*args, **kwargs)`` under
    the caller's errstate while recording warnings, encode the result and any change to the
    arguments. The result must be data unless ``result_may_be_reference`` (a constructor's
    new instance stays here behind a handle). Returns ``(reply fields, blobs)``."""
    dec = channel.decoder(blobs)
    tree = dec.decode(header.get("args"))
    if type(tree) is not list or len(tree) != 2 or type(tree[0]) is not list \
            or type(tree[1]) is not dict or not all(type(k) is str for k in tree[1]):
        raise WireError("malformed call")
    args, kwargs = tree
    before = snapshot(tree)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(**clean_errstate(header.get("err"))):
            result = fn(*args, **kwargs)
    records = _record(caught)
    enc = channel.encoder()
    if not result_may_be_reference:
        enc.export = lambda obj: None
    reply = {"v": enc.encode(result, where="the returned value"), "w": records}
    if snapshot(tree) != before:
        enc.export = channel.export or (lambda obj: None)
        try:
            reply["back"] = enc.encode(tree, where="a changed argument")
        except NotData:
            pass  # the callee put something that is not data into an argument: keep ours
    return reply, enc.blobs
