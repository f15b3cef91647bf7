"""Parallel and distributed grading give exactly the sequential results.

The same small batch is graded with one local worker, with two local worker processes and
on a Dask ``LocalCluster`` (two worker processes, one thread each, bound to 127.0.0.1);
the reports must be byte-identical. (That a single job needs nothing but its pickled spec
is in ``tests/test_job.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import DEMO_ASSIGNMENT, make_course, sandbox_flag

from actlab.grading import cli

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_parallel")]

A = DEMO_ASSIGNMENT
STUDENTS = {"s1": "correct", "s2": "partial", "s3": "wrong", "s4": "broken"}
REPORTS = ("grades.csv", "details.csv")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(course, submitted, reports of a one-worker run) for a four-student batch."""
    root = tmp_path_factory.mktemp("grade_parallel")
    course, submitted, _ = make_course(root, STUDENTS)
    out = root / "sequential"
    assert _grade(course, submitted, out, "--workers", "1") == 0
    return course, submitted, {name: (out / name).read_bytes() for name in REPORTS}


def _grade(course: Path, submitted: Path, out: Path, *args: str, sandbox: bool = False) -> int:
    # Local runs skip the sandbox to keep this module quick; the Dask run uses it when the
    # machine has bubblewrap, so equality also shows the sandbox changes no score.
    flags = sandbox_flag() if sandbox else ["--no-sandbox"]
    return cli.main([str(submitted), "--course", str(course), "--out", str(out), "--quiet",
                     "--no-gradebook", *flags, *args])


def test_sequential_batch_scores_are_the_expected_ones(batch):
    """Before comparing runs: does the reference run itself give the right scores?"""
    lines = batch[2]["grades.csv"].decode().splitlines()
    assert lines[1:] == ["s1,ps0_demo,3,3,graded", "s2,ps0_demo,1,3,graded",
                         "s3,ps0_demo,0,3,graded", "s4,ps0_demo,0,3,quarantined"]


def test_two_workers_give_byte_identical_reports_to_one_worker(batch, tmp_path):
    """Does grading with a pool of two processes write exactly the files one worker writes?"""
    course, submitted, reference = batch
    assert _grade(course, submitted, tmp_path, "--workers", "2") == 0
    for name in REPORTS:
        assert (tmp_path / name).read_bytes() == reference[name], name


def test_dask_local_cluster_gives_byte_identical_reports(batch, tmp_path):
    """Does grading on a Dask cluster (2 processes, 1 thread each, loopback), sandboxed, match the
    local run?"""
    distributed = pytest.importorskip("distributed")
    course, submitted, reference = batch
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  worker_dashboard_address="127.0.0.1:0") as cluster:
        assert _grade(course, submitted, tmp_path, "--scheduler", cluster.scheduler_address,
                      sandbox=True) == 0
    for name in REPORTS:
        assert (tmp_path / name).read_bytes() == reference[name], name


def test_unreachable_scheduler_fails_with_status_one(batch, tmp_path):
    """Is a Dask scheduler nobody listens on reported as a failure (1), not a traceback?"""
    course, submitted, _ = batch
    assert _grade(course, submitted, tmp_path, "--scheduler", "tcp://127.0.0.1:9") == 1


