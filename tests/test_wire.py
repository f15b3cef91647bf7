"""The judge's wire format (``actlab.grading.wire``): exact plain data, nothing else, no pickle.

Values go through the real encoder and decoder, and calls through a real :class:`Channel`
over a socket pair with the peer served in a thread, as the judge and the kernel's agent use
them.
"""

from __future__ import annotations

import collections
import enum
import io
import json
import math
import os
import socket
import struct
import threading
import warnings

import numpy as np
import pytest

from actlab.grading import wire


def roundtrip(value):
    enc = wire.Encoder()
    tree = enc.encode(value)
    # Through JSON, as on the socket.
    tree = json.loads(json.dumps(tree))
    return wire.Decoder([bytearray(b) for b in enc.blobs]).decode(tree)


SCALARS = [np.float32(1), np.float64(-0.0), np.float16(0.1), np.int8(-3), np.int64(2**62),
           np.uint64(2**64 - 1), np.uint8(255), np.bool_(True), np.complex64(1 + 2j),
           np.complex128(complex(math.inf, -1)), np.float64(math.nan), np.longdouble(1) / 3]


@pytest.mark.parametrize("value", SCALARS, ids=lambda v: f"{type(v).__name__}({v})")
def test_numpy_scalars_keep_their_exact_type_and_bits(value):
    """Does a numpy scalar come back as the same numpy type with the same bytes?"""
    back = roundtrip(value)
    assert type(back) is type(value)
    assert back.tobytes() == value.tobytes()


PYTHON = [None, True, False, 0, -7, 2**80, 1.5, -0.0, math.inf, -math.inf, "", "héllo ✓ \ud83d",
          (), (1,), [1, (2.0, [None])], {"a": 1, 2: (3, 4), (1, "x"): [True]}, [[], {}]]


@pytest.mark.parametrize("value", PYTHON, ids=repr)
def test_python_values_keep_their_exact_types(value):
    """Do None, bool, int, float, str, tuples, lists and dicts come back with equal values
    and exactly the same types, all the way down (a tuple stays a tuple, True stays a bool)?"""
    back = roundtrip(value)
    assert back == value

    def types(v):
        if isinstance(v, (list, tuple)):
            return (type(v), [types(x) for x in v])
        if isinstance(v, dict):
            return (dict, sorted((repr(k), types(k), types(x)) for k, x in v.items()))
        return type(v)

    assert types(back) == types(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_float_survives():
    """Is a Python float NaN still a float NaN after the trip?"""
    back = roundtrip(float("nan"))
    assert type(back) is float and math.isnan(back)


ARRAYS = {
    "float32_2d": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "float64_0d": np.array(3.25),
    "empty": np.zeros((0, 3)),
    "bool": np.array([True, False, True]),
    "int_big_endian": np.arange(5, dtype=">i4"),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "complex": np.array([1 + 2j, np.nan + 0j], dtype=np.complex128),
    "uint16_3d": np.arange(24, dtype=np.uint16).reshape(2, 3, 4),
    "view": np.arange(20.0)[::3],
    "nan_inf": np.array([np.nan, np.inf, -np.inf, -0.0]),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_keep_dtype_shape_and_values(name):
    """Does each array come back as a plain, writable ndarray with the same dtype, shape and
    bitwise-equal values?"""
    arr = ARRAYS[name]
    back = roundtrip(arr)
    assert type(back) is np.ndarray
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert np.ascontiguousarray(back).tobytes() == np.ascontiguousarray(arr).tobytes()
    assert back.flags.writeable


class Agreeable(np.ndarray):
    pass


class Point(collections.namedtuple("Point", "x y")):
    pass


class Colour(enum.IntEnum):
    RED = 1


NOT_DATA = {
    "ndarray subclass": np.zeros(3).view(Agreeable),
    "numpy matrix": np.eye(2).view(np.matrix),
    "masked array": np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
    "object array": np.array([1, "a"], dtype=object),
    "string array": np.array(["a", "b"]),
    "structured array": np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
    "datetime array": np.array(["2024-01-01"], dtype="datetime64[D]"),
    "numpy string scalar": np.str_("x"),
    "numpy datetime scalar": np.datetime64("2024-01-01"),
    "set": {1, 2},
    "bytes": b"abc",
    "complex": 1 + 2j,
    "function": len,
    "lambda": lambda x: x,
    "module": np,
    "object": object(),
    "int subclass": Colour.RED,
    "float subclass": type("F", (float,), {})(1.0),
    "str subclass": type("S", (str,), {})("x"),
    "namedtuple": Point(1, 2),
    "OrderedDict": collections.OrderedDict(a=1),
    "inside a list": [1, {2}],
    "a dict key": {frozenset(): 1},
}


@pytest.mark.parametrize("name", NOT_DATA)
def test_everything_that_is_not_plain_data_is_refused_with_a_reason(name):
    """Is each value that is not plain data (subclasses included) refused as NotData with a
    sentence naming what it is?"""
    with pytest.raises(wire.NotData, match="graded|data|plain number"):
        wire.Encoder().encode(NOT_DATA[name])


def test_caps_refuse_huge_deep_and_long_values():
    """Are an array beyond the frame cap, a value nested too deep, one with too many items
    and a too-long string all refused before anything is sent?"""
    with pytest.raises(wire.NotData, match="MiB"):
        wire.Encoder().encode(np.zeros(wire.MAX_FRAME_BYTES // 8 + 1))
    deep = []
    for _ in range(wire.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(wire.NotData, match="nested"):
        wire.Encoder().encode(deep)
    with pytest.raises(wire.NotData, match="items"):
        wire.Encoder().encode([0] * (wire.MAX_ITEMS + 1))
    with pytest.raises(wire.NotData, match="characters"):
        wire.Encoder().encode("x" * (wire.MAX_STR + 1))


def test_a_view_of_a_gigabyte_is_refused_without_copying_it():
    """Is a 1 GiB broadcast view (no memory of its own) refused by its size, quickly?"""
    view = np.broadcast_to(np.zeros(1), (2**27,))
    with pytest.raises(wire.NotData, match="1074 MB"):
        wire.Encoder().encode(view)


class _Boom:
    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickled_array_is_refused_and_never_unpickled(tmp_path):
    """An object-dtype .npy blob (pickled inside) whose unpickling would create a folder:
    is it refused, and is the folder never created?"""
    boom = _Boom()
    boom.path = str(tmp_path / "pwned")
    buf = io.BytesIO()
    np.save(buf, np.array([boom], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError, match="dtype"):
        wire.Decoder([bytearray(buf.getvalue())]).decode({"a": 0})
    assert not (tmp_path / "pwned").exists()


def test_an_npy_header_that_lies_about_its_size_is_refused():
    """Is a .npy header claiming 10**12 elements over 8 bytes of data refused, without
    allocating the claimed size?"""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10**12,)})
    blob = bytearray(buf.getvalue() + b"\0" * 8)
    with pytest.raises(wire.WireError, match="does not match"):
        wire.Decoder([blob]).decode({"a": 0})


@pytest.mark.parametrize("tree", [{"zz": 1}, {"a": 5}, {"s": "O", "x": "00"}, {"t": 1},
                                  {"d": [[1]]}, {"d": [[[1], 2]]}, {"o": 1, "k": "function"}])
def test_malformed_or_unexpected_nodes_are_protocol_errors(tree):
    """Is every malformed node (unknown tag, missing blob, object dtype scalar, bad tuple or
    dict, a reference where none may come) a WireError?"""
    with pytest.raises(wire.WireError):
        wire.Decoder([]).decode(tree)


# --- the channel ---------------------------------------------------------------------------


class Pair:
    """Two channels over a socket pair; ``far`` is served in a thread."""

    def __init__(self, far_handlers, **near_hooks):
        a, b = socket.socketpair()
        self.near = wire.Channel(a, {}, **near_hooks)
        self.far = wire.Channel(b, far_handlers)
        self.errors = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.far.serve()
        except Exception as exc:  # recorded for the test to look at
            self.errors.append(exc)

    def close(self):
        if not self.near.closed:
            self.near.request("bye")
        self.thread.join(5)


def callee(fn):
    def handler(channel, header, blobs):
        return wire.run_call(channel, header, blobs, fn)
    return {"call": handler}


def test_a_call_carries_errstate_and_replays_warnings_with_a_builtin_category():
    """Does the callee run under the caller's np.errstate, and does a warning of a
    numpy-specific category come back as the nearest builtin category with its message?"""
    def f(x):
        state = np.geterr()["over"]
        np.exp(np.asarray(x))
        warnings.warn("precision lost", np.exceptions.ComplexWarning)
        return state

    pair = Pair(callee(f))
    with np.errstate(over="warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pair.near.call({}, (np.array([1000.0]),), {}) == "warn"
        with np.errstate(over="ignore"):
            assert pair.near.call({}, (np.array([1.0]),), {}) == "ignore"
    pair.close()
    seen = {(w.category, str(w.message)) for w in caught}
    assert (RuntimeWarning, "overflow encountered in exp") in seen
    assert (RuntimeWarning, "precision lost") in seen


def test_changes_to_argument_arrays_and_lists_are_copied_back():
    """When the callee changes an argument array in place, appends to a list argument and
    edits a dict, does the caller's own object change the same way (and an unchanged call
    leave them alone)?"""
    def mutate(x, items, table):
        x[0] = 99.0
        items[0][1] = -1
        items.append(7)
        table["new"] = 1
        return None

    x = np.zeros(3)
    inner = np.arange(3)
    items = [inner]
    table = {"old": 0}
    pair = Pair(callee(mutate))
    pair.near.call({}, (x, items, table), {})
    pair.close()
    assert x.tolist() == [99.0, 0.0, 0.0]
    assert items[0] is inner and inner.tolist() == [0, -1, 2] and items[1:] == [7]
    assert table == {"old": 0, "new": 1}


def test_nested_callbacks_go_both_ways_and_callback_errors_keep_their_class():
    """Can the far side call back into the near side while the near side waits for it,
    several levels deep, and does a ValueError subclass raised near arrive far as a
    ValueError with its message?"""
    class Custom(ValueError):
        pass

    def near_fn(n):
        if n == 0:
            raise Custom("bottom reached")
        return n * 10

    near_objects = {1: near_fn}

    def far_fn(n):
        total = 0
        for k in range(3, 0, -1):
            total += pair.far.call({"f": 1}, (k,), {})
        try:
            pair.far.call({"f": 1}, (0,), {})
        except wire.RemoteError as exc:
            return total, type(wire.rebuild_exception(exc)).__name__, exc.message
        return total, None, None

    def near_handler(channel, header, blobs):
        return wire.run_call(channel, header, blobs, near_objects[header["f"]])

    pair = Pair(callee(far_fn))
    pair.near.handlers["call"] = near_handler
    assert pair.near.call({}, (1,), {}) == (60, "ValueError", "bottom reached")
    pair.close()


@pytest.mark.parametrize("mro, expected", [
    (["LinAlgError", "ValueError", "Exception", "BaseException", "object"], ValueError),
    (["KeyboardInterrupt", "BaseException", "object"], RuntimeError),
    (["SystemExit", "BaseException", "object"], RuntimeError),
    (["StopIteration", "Exception", "BaseException", "object"], RuntimeError),
    (["Weird", "Exception", "BaseException", "object"], Exception),
    (["ZeroDivisionError", "ArithmeticError", "Exception", "BaseException", "object"],
     ZeroDivisionError),
])
def test_remote_exceptions_become_the_nearest_safe_builtin(mro, expected):
    """Is a peer's exception rebuilt as the nearest builtin Exception class of its MRO, with
    interrupts, exits and StopIteration turned into RuntimeError?"""
    exc = wire.rebuild_exception(wire.RemoteError(mro[0], mro, "msg"))
    assert type(exc) is expected
    assert "msg" in str(exc)


def test_oversized_or_garbled_frames_end_the_connection():
    """Does a frame whose header claims more than the cap, or a header that is not JSON,
    raise WireError and mark the channel closed?"""
    for payload in (struct.pack(">I", wire.MAX_HEADER_BYTES + 1),
                    struct.pack(">I", 5) + b"{oops"):
        a, b = socket.socketpair()
        b.sendall(payload)
        channel = wire.Channel(a, {})
        with pytest.raises(wire.WireError):
            channel.receive()
        assert channel.closed
        a.close()
        b.close()


def test_a_result_that_is_not_data_comes_back_as_an_error_naming_it():
    """Does a callee that returns an object which is not data answer with an error naming
    its type, instead of sending it?"""
    class Anything:
        def __eq__(self, other):
            return True

    pair = Pair(callee(lambda: Anything()))
    with pytest.raises(wire.RemoteError) as info:
        pair.near.call({}, (), {})
    pair.close()
    assert info.value.type_name == "NotData" and "Anything" in info.value.message
    assert isinstance(wire.rebuild_exception(info.value), TypeError)
