"""``make release``: the student bundle, one zip ready to upload to the LMS.

    python -m actlab.release [--out DIR]      (what ``make release`` runs; default _build/release)

The zip, ``activation-functions-exercises.zip``, unpacks to one folder holding what a learner
without this repository needs:

* ``<problem set>/<problem set>.ipynb``: the student notebooks from ``exercises/``, as
  committed (regenerate them with ``make exercises`` first);
* ``wheels/actlab-<version>-py3-none-any.whl``: the course library the notebooks import
  (``actlab.checks`` and the rest), built from this checkout;
* ``requirements.txt``: that wheel plus every package it, JupyterLab and nbgrader need, pinned
  to the versions of this repository's ``requirements.txt`` (the closure is read from the
  installed packages' metadata, so nothing the book or the tests alone need is in it);
* ``README.md``: the three steps, install (one command), open, validate (with
  :func:`validate_command`, ``actlab validate``, which fails when a test fails).

Same sources, same bytes: entries are sorted and dated 1980-01-01.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from actlab.util import zip_entry

REPO = Path(__file__).resolve().parent.parent
BUNDLE = "activation-functions-exercises"
#: What a learner runs besides the course library: Jupyter to work, nbgrader to validate.
LEARNER_TOOLS = ("jupyterlab", "nbgrader", "ipykernel")
# Every virtual environment starts with these; the course does not pin them.
_BOOTSTRAP = {"pip", "setuptools", "wheel"}


class ReleaseError(Exception):
    """Something the bundle needs is missing: one line, exit status 2."""


def validate_command(notebook: str) -> str:
    """The command a learner runs to check ``notebook`` (exit status 1 when a test fails)."""
    return f"actlab validate {notebook}"


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def learner_requirements(roots, pins: dict[str, str]) -> list[str]:
    """``name==version`` for every package ``roots`` need (their dependency closure in this
    environment, extras not taken), pinned as ``pins`` says, sorted by name."""
    env = default_environment()
    seen: dict[str, str] = {}
    todo = [Requirement(r) if isinstance(r, str) else r for r in roots]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen or name in _BOOTSTRAP:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise ReleaseError(f"{req.name} is needed by the learners' bundle but not installed; "
                               "run make venv") from None
        if name not in pins:
            raise ReleaseError(f"{req.name} is needed by the learners' bundle but not pinned in "
                               "requirements.txt")
        seen[name] = f"{dist.metadata['Name']}=={pins[name]}"
        todo.extend(Requirement(r) for r in (dist.requires or []))
    return [seen[n] for n in sorted(seen)]


def _actlab_dependencies() -> list[str]:
    import tomllib

    with open(REPO / "pyproject.toml", "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def build_wheel(dest: Path) -> Path:
    """The course library as a wheel, built from a copy of this checkout's package (setuptools
    leaves build folders next to the sources) without network access, dated 1980-01-01."""
    src = dest / "src"
    shutil.copytree(REPO / "actlab", src / "actlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", src / "pyproject.toml")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--quiet", "--wheel-dir", str(dest), str(src)],
                          capture_output=True, text=True,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"})
    wheels = sorted(dest.glob("actlab-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise ReleaseError(f"building the actlab wheel failed: {proc.stderr.strip()[-500:]}")
    return wheels[0]


def readme(notebooks: list[str], wheel: str) -> str:
    example = notebooks[0] if notebooks else "ps1/ps1.ipynb"
    listed = "\n".join(f"- `{nb}`" for nb in notebooks)
    return f"""# Activation functions: problem sets

The problem sets of the course on activation functions, one Jupyter notebook each:

{listed}

You need Python 3.11 or newer. In this folder:

1. **Install** the course library (`{wheel}`) and everything the notebooks need, at the
   versions the course was tested with, into a fresh environment:

   ```bash
   python3 -m venv .venv
   .venv/bin/python -m pip install -r requirements.txt
   ```

   (On Windows: `py -m venv .venv`, then
   `.venv\\Scripts\\python -m pip install -r requirements.txt`.)

2. **Open** the notebooks in JupyterLab: `.venv/bin/jupyter lab`. Each function to write
   stops with `NotImplementedError("write <function> here, then delete this line")`:
   replace that line with your code, and run the test cell under it as you go. A written
   answer goes where the notebook says `YOUR ANSWER HERE`.

3. **Validate** a notebook before you hand it in; it runs the whole notebook from a fresh
   kernel, lists every test that fails, and fails itself (a non-zero exit status) if any
   does:

   ```bash
   .venv/bin/{validate_command(example)}
   ```

Then upload the notebook file (`.ipynb`) to the course's page on your learning platform.
The file name does not matter.
"""


def build(out: Path, exercises: Path | None = None, requirements: Path | None = None) -> Path:
    """Write ``out/activation-functions-exercises.zip``; return its path."""
    exercises = Path(exercises) if exercises else REPO / "exercises"
    requirements = Path(requirements) if requirements else REPO / "requirements.txt"
    notebooks = sorted(p.relative_to(exercises).as_posix() for p in exercises.glob("*/*.ipynb"))
    if not notebooks:
        raise ReleaseError(f"no student notebooks in {exercises}; run make exercises")
    pins = _pins(requirements)
    pinned = learner_requirements([*_actlab_dependencies(), *LEARNER_TOOLS], pins)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{BUNDLE}.zip"
    with tempfile.TemporaryDirectory(prefix="actlab-release-") as tmp:
        wheel = build_wheel(Path(tmp))
        wheel_rel = f"wheels/{wheel.name}"
        files = {f"{BUNDLE}/{nb}": (exercises / nb).read_bytes() for nb in notebooks}
        files[f"{BUNDLE}/{wheel_rel}"] = wheel.read_bytes()
        files[f"{BUNDLE}/requirements.txt"] = (
            "# Everything the problem sets need, at the versions the course was tested with.\n"
            f"./{wheel_rel}\n" + "".join(f"{line}\n" for line in pinned)).encode()
        files[f"{BUNDLE}/README.md"] = readme(notebooks, wheel_rel).encode()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(files):
                zf.writestr(zip_entry(name), files[name])
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m actlab.release",
        description="Build the student bundle (exercises, the course library as a wheel, pinned "
                    "requirements, instructions) as one zip to upload to the LMS.")
    p.add_argument("--out", type=Path, default=REPO / "_build" / "release",
                   help="folder for the zip (default: _build/release)")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        path = build(args.out)
    except ReleaseError as exc:
        print(f"actlab release: error: {exc}", file=sys.stderr)
        return 2
    with zipfile.ZipFile(path) as zf:
        count = len(zf.namelist())
    print(f"{path} ({path.stat().st_size / 1024:.0f} KiB, {count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
