"""Grading untrusted notebooks: the adversarial corpus, graded in ONE batch with honest students.

Every hostile submission in ``tests/adversarial/corpus.py`` is handed in next to honest
students and the whole lot goes through ``actlab grade``'s engine (``cli.grade``) with two
workers and the sandbox on. The module asserts, per hostile case, its points and status;
that honest students get bit-identical details to grading them alone; that the course's
gradebook, sources and release are unchanged; and that the batch stays within its bound.
(The tampering scan's own tests are in ``tests/test_integrity.py``.)
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from adversarial import corpus
from helpers import read_csv_rows

from actlab.grading.sandbox import bwrap_available

GiB = 1024**3
CELL_TIMEOUT = 8.0
NOTEBOOK_TIMEOUT = 45.0
# The batch is ~40 notebooks on two shared cores; three of them hit the 8 s cell timeout.
BATCH_BOUND_SECONDS = 600.0
REPO_SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
REAL = "ps1_nonlinearity"

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not usable here")


def _tree_hashes(root: Path, skip: set[str]) -> dict[str, str]:
    hashes = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or not path.is_file():
            continue
        hashes[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


class _Listener:
    """A loopback TCP server that records whether anyone ever connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, run_once):
    """The batch's results, computed once per test run (see ``run_once``: under xdist a
    worker may set this module fixture up twice, and the batch is never graded twice)."""
    if not bwrap_available():
        pytest.skip("bubblewrap is not usable here")
    return _from_json(run_once("adversarial_batch",
                               lambda _shared: _to_json(_grade_batch(tmp_path_factory))))


def _to_json(result: dict) -> dict:
    out = dict(result)
    for key in ("grades", "grades_alone"):
        out[key] = [[list(k), v] for k, v in result[key].items()]
    return out


def _from_json(data: dict) -> dict:
    for key in ("grades", "grades_alone"):
        data[key] = {tuple(k): v for k, v in data[key]}
    return data


def _grade_batch(tmp_path_factory) -> dict:
    """Grade every hostile case plus honest students in one batch, and honest ones alone."""
    from actlab.grading.cli import grade
    from actlab.grading.course import load_course, unpack_folder
    from nbgrader.api import Gradebook

    tmp = tmp_path_factory.mktemp("adversarial")
    root = corpus.write_course(tmp / "course", cell_timeout=CELL_TIMEOUT,
                               notebook_timeout=NOTEBOOK_TIMEOUT, memory_bytes=int(1.5 * GiB))
    template = load_course(root).build_template(corpus.ASSIGNMENT)
    unpack_folder(template.archive, tmp / "template")
    # The course folder gets its release version and a real gradebook, as targets.
    (root / "release").mkdir()
    (tmp / "template" / "release" / corpus.ASSIGNMENT).rename(root / "release" / corpus.ASSIGNMENT)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "guard") as gb:
        gb.update_or_create_student("instructor_canary")
    release_nb = nbformat.read(root / "release" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb",
                               as_version=4)
    # The course's real problem sets ride along: honest students hand in ps1, and the cases
    # of corpus.real_cases() are built from ps1, ps2 and ps5.
    real = {}
    for name in corpus.REAL_SETS:
        if not (REPO_SOLUTIONS / name).is_dir():
            continue
        shutil.copytree(REPO_SOLUTIONS / name, root / "source" / name)
        tpl = load_course(root).build_template(name)
        unpack_folder(tpl.archive, tmp / "real" / name)
        (tmp / "real" / name / "release" / name).rename(root / "release" / name)
        real[name] = (nbformat.read(root / "release" / name / f"{name}.ipynb", as_version=4),
                      nbformat.read(root / "source" / name / f"{name}.ipynb", as_version=4))
    real_max = load_course(root).build_template(REAL).max_score if REAL in real else None
    listener = _Listener()
    scratch = tmp / "scratch"
    scratch.mkdir()
    ctx = corpus.Context(release_nb, root, scratch, listener.port, real)

    submitted, alone = tmp / "submitted", tmp / "alone"
    for name, (answer, _) in corpus.HONEST.items():
        files = {f"{corpus.ASSIGNMENT}.ipynb": nbformat.writes(
            corpus.student_notebook(release_nb, answer)).encode()}
        corpus.write_files(submitted / name / corpus.ASSIGNMENT, files)
        corpus.write_files(alone / name / corpus.ASSIGNMENT, files)
    if real_max is not None:
        for student, folder in (("real_solution", root / "source" / REAL),
                                ("real_blank", root / "release" / REAL)):
            files = {f"{REAL}.ipynb": (folder / f"{REAL}.ipynb").read_bytes()}
            corpus.write_files(submitted / student / REAL, files)
            corpus.write_files(alone / student / REAL, files)
    for case in CASES:
        corpus.write_files(submitted / case.name / case.assignment, case.build(ctx))

    before = _tree_hashes(root, skip=set())
    start = time.monotonic()
    grade(submitted, course_root=root, out=tmp / "out", workers=2, progress=False, gradebook=False)
    seconds = time.monotonic() - start
    grade(alone, course_root=root, out=tmp / "out_alone", workers=1, progress=False,
          gradebook=False)
    after = _tree_hashes(root, skip=set())
    listener.close()
    feedback = tmp / "out" / "feedback"
    return {
        "pages": {str(page.relative_to(feedback)): page.read_text(encoding="utf-8")
                  for page in feedback.glob("ps2_*/*/*.html")},
        "grades": {(r["student_id"],
                    r["assignment"]): r for r in read_csv_rows(tmp / "out" / "grades.csv")},
        "details": read_csv_rows(tmp / "out" / "details.csv"),
        "details_alone": read_csv_rows(tmp / "out_alone" / "details.csv"),
        "grades_alone": {(r["student_id"], r["assignment"]): r
                         for r in read_csv_rows(tmp / "out_alone" / "grades.csv")},
        "real_max": real_max,
        "seconds": seconds, "before": before, "after": after,
        "connections": listener.connections, "planted": sorted(p.name for p in scratch.iterdir()),
    }


CASES = [c for c in corpus.cases()
         if c.assignment == corpus.ASSIGNMENT or (REPO_SOLUTIONS / c.assignment).is_dir()]


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission_gets_expected_points_and_status(batch, case):
    """Graded in one batch with honest students, does each hostile submission get exactly
    the points and status its case states (see the case's question)?"""
    row = batch["grades"][(case.name, case.assignment)]
    assert (float(row["score"]), row["status"]) == (case.points, case.status), case.question


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
def test_delegation_loses_exactly_those_tests_and_says_why(batch):
    """For the ps2 notebook that calls actlab.activations in three answers: do exactly those
    three tests score 0, with the reason in details.csv and on the feedback page?"""
    if "ps2_saturation" not in [c.assignment for c in CASES]:
        pytest.skip("problem set 2 is not in this checkout")
    rows = {r["grade_id"]: r for r in batch["details"]
            if (r["student_id"], r["assignment"]) == ("ps2_delegation", "ps2_saturation")}
    lost = {gid for gid, r in rows.items() if r["score"] != r["max_score"]}
    assert lost == {"test_sigmoid", "test_sigmoid_grad", "test_tanh_grad"}
    # sigmoid and sigmoid_grad import inside the function; tanh_grad's cell imports it at
    # its top, so its definition never runs and the test cites that cell's error.
    for gid in ("test_sigmoid", "test_sigmoid_grad", "test_tanh_grad"):
        assert "course reference this problem set does not allow" in rows[gid]["reason"], rows[gid]
    assert "NameError: name 'tanh_grad' is not defined" in rows["test_tanh_grad"]["reason"]
    page = batch["pages"]["ps2_delegation/ps2_saturation/ps2_saturation.html"]
    assert "actlab.activations is not available in this problem set" in page


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
def test_honest_students_are_graded_exactly_as_when_graded_alone(batch):
    """Does sharing a batch with ~40 hostile submissions change any honest student's
    per-cell details or status, compared with grading the honest students alone?"""
    honest = set(corpus.HONEST) | {"real_solution", "real_blank"}
    # The batch also has the assignments only hostile cases hand in; the honest students
    # are "missing" there, which grading them alone cannot show.
    alone = {r["assignment"] for r in batch["details_alone"]}
    shared = [r for r in batch["details"] if r["student_id"] in honest and r["assignment"] in alone]
    assert shared and shared == batch["details_alone"]
    expected = {(name, corpus.ASSIGNMENT): points for name, (_, points) in corpus.HONEST.items()}
    if batch["real_max"] is not None:
        expected[("real_solution", REAL)] = batch["real_max"]
        expected[("real_blank", REAL)] = 0.0
    for key, points in expected.items():
        assert batch["grades"][key] == batch["grades_alone"][key]
        assert (float(batch["grades"][key]["score"]),
                batch["grades"][key]["status"]) == (points, "graded")


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
def test_gradebook_sources_and_release_are_unchanged_by_the_batch(batch):
    """After grading the corpus, are the course's gradebook, source (solutions) and release
    (exercises) files byte-identical to before?"""
    assert batch["before"] == batch["after"]
    assert any(k.endswith("gradebook.db") for k in batch["before"])


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
def test_no_submission_reaches_the_host_network_or_files(batch):
    """Did any submission connect to a loopback server on the host or plant a file outside
    its sandbox?"""
    assert batch["connections"] == 0
    assert batch["planted"] == []


@pytest.mark.grading
@pytest.mark.xdist_group("adversarial_batch")
def test_whole_batch_finishes_within_its_bound(batch):
    """Does the whole adversarial batch (hostile and honest, two workers) finish within
    BATCH_BOUND_SECONDS?"""
    students = len({student for student, _ in batch["grades"]})
    print(f"adversarial batch: {students} students, {len(batch['grades'])} (student, assignment) "
          f"rows in {batch['seconds']:.1f} s")
    assert batch["seconds"] < BATCH_BOUND_SECONDS
    assert students == len(CASES) + len(corpus.HONEST) + (2 if batch["real_max"] is not None else 0)


# --- the tampering scan ---------------------------------------------------------------------


