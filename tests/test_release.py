"""`make release`: the student bundle, and a learner using it without this repository.

The bundle is built once; the tests read the zip, then unpack it outside the repository and
validate notebooks with a Python that has never seen the checkout: a fresh virtual environment
with the bundle's actlab wheel installed. Its other packages come from this environment's
site-packages (a path file), standing in for `pip install -r requirements.txt`, which would
download them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from actlab import release

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("release")]

REPO = Path(__file__).resolve().parents[1]
B = release.BUNDLE


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return release.build(tmp_path_factory.mktemp("release"))


def _read(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        return zf.read(f"{B}/{name}")


def test_bundle_holds_the_exercises_as_committed(bundle):
    """Is every student notebook of exercises/ in the zip, byte for byte, and nothing of
    solutions/?"""
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    expected = sorted(p.relative_to(REPO / "exercises").as_posix()
                      for p in (REPO / "exercises").glob("*/*.ipynb"))
    assert len(expected) == 5
    assert sorted(n[len(B) + 1:] for n in names if n.endswith(".ipynb")) == expected
    for nb in expected:
        data = _read(bundle, nb)
        assert data == (REPO / "exercises" / nb).read_bytes()
        assert b"BEGIN HIDDEN TESTS" not in data and b"BEGIN SOLUTION" not in data
    assert all(n.startswith(f"{B}/") for n in names)


def test_requirements_pin_the_library_wheel_and_only_what_learners_need(bundle):
    """Are the bundle's requirements the wheel plus exact pins from requirements.txt, with
    JupyterLab and nbgrader in and the book's and tests' own tools out?"""
    lines = [ln for ln in _read(bundle, "requirements.txt").decode().splitlines()
             if ln and not ln.startswith("#")]
    assert re.fullmatch(r"\./wheels/actlab-[\d.]+-py3-none-any\.whl", lines[0])
    repo_pins = {ln.split("==")[0].lower(): ln.split("==")[1]
                 for ln in (REPO / "requirements.txt").read_text().splitlines() if "==" in ln}
    pins = dict(ln.split("==") for ln in lines[1:])
    assert all(repo_pins[name.lower()] == version for name, version in pins.items())
    lowered = {n.lower() for n in pins}
    assert {"numpy", "scipy", "matplotlib", "jupyterlab", "nbgrader", "ipykernel"} <= lowered
    assert not lowered & {"jupyter-book", "sphinx", "playwright", "pytest", "psycopg2-binary",
                          "dask"}


def test_the_wheel_carries_the_library_the_notebooks_import(bundle, tmp_path):
    """Does the wheel hold actlab.checks and the modules the problem sets import, and no
    notebook?"""
    wheel_name = _read(bundle, "requirements.txt").decode().splitlines()[1][2:]
    wheel = tmp_path / "actlab.whl"
    wheel.write_bytes(_read(bundle, wheel_name))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"actlab/checks.py", "actlab/activations.py", "actlab/gradcheck.py",
            "actlab/nn.py"} <= names
    assert not any(n.endswith(".ipynb") or n.startswith(("solutions/", "tests/")) for n in names)


def test_readme_gives_one_install_command_then_open_and_validate(bundle):
    """Does the README tell a learner the single install command, how to open and how to
    validate?"""
    text = _read(bundle, "README.md").decode()
    assert "python -m pip install -r requirements.txt" in text
    assert "jupyter lab" in text
    assert release.validate_command("ps1_nonlinearity/ps1_nonlinearity.ipynb") in text


def test_building_twice_gives_the_same_bytes(bundle, tmp_path):
    """Is the bundle reproducible (sorted entries, fixed dates, a wheel dated 1980)?"""
    assert release.build(tmp_path).read_bytes() == bundle.read_bytes()


@pytest.fixture(scope="module")
def learner(bundle, tmp_path_factory) -> tuple[Path, Path]:
    """(unpacked bundle folder, python of a fresh venv with the bundle's wheel installed)."""
    home = tmp_path_factory.mktemp("learner")
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(home)
    folder = home / B
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next((folder / "wheels").glob("actlab-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    purelib = subprocess.run([str(python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder, python


def _validate(learner, notebook: Path) -> subprocess.CompletedProcess:
    """The README's validate command, run in the learner's environment."""
    folder, python = learner
    command = release.validate_command(str(notebook)).split()
    return subprocess.run([str(python.parent / command[0]), *command[1:]], cwd=folder,
                          capture_output=True, text=True, timeout=600)


def test_learner_environment_uses_the_bundled_library_not_the_checkout(learner):
    """In the learner's environment, is actlab the wheel's copy (not this repository's)?"""
    folder, python = learner
    where = subprocess.run([str(python), "-c",
                            "import actlab.checks; print(actlab.checks.__file__)"],
                           cwd=folder, check=True, capture_output=True, text=True).stdout.strip()
    assert str(python.parent.parent) in where and str(REPO) not in where


def test_learner_validates_a_blank_and_a_solved_notebook(learner):
    """Without the repository, does validate fail the blank problem set 1 and pass a solved one?"""
    folder, _ = learner
    blank = _validate(learner, folder / "ps1_nonlinearity" / "ps1_nonlinearity.ipynb")
    assert "NotImplementedError" in blank.stdout + blank.stderr
    assert blank.returncode == 1
    solved = folder / "ps1_nonlinearity" / "solved.ipynb"
    solved.write_bytes(
        (REPO / "solutions" / "ps1_nonlinearity" / "ps1_nonlinearity.ipynb").read_bytes())
    passed = _validate(learner, solved)
    assert "Success! Your notebook passes all the tests." in passed.stdout, (
        passed.stdout + passed.stderr)
    assert passed.returncode == 0
