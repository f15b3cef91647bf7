"""The test suite's own machinery: does ``--dist loadgroup`` really keep a group on one worker?

Expensive module fixtures (the browser visits, the nbgrader courses, the sandbox probes) are
shared by the tests of one ``xdist_group``. If grouping silently stops working, two workers
set the same fixture up at once and race on shared files. pytest 9.2 with pytest-xdist 3.8
does exactly that (pytest-xdist issue #1386: xdist writes the group into the legacy
``_nodeid`` field, which pytest 9.2 does not read), which is why requirements.txt pins
pytest 9.1. These tests catch it.
"""

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

GROUP = "suite-canary"


@pytest.mark.xdist_group(GROUP)
def test_this_run_honours_xdist_groups(request):
    """Under ``make test`` (xdist, loadgroup), does this test carry its group in its node id?"""
    if not getattr(request.config.option, "loadgroup", False):  # set on xdist's workers
        pytest.skip("not run under pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith(f"@{GROUP}")


def test_loadgroup_keeps_each_group_on_one_worker(tmp_path: Path):
    """A throw-away suite of two modules run with ``-n 2 --dist loadgroup``: every test of a
    group, even across modules and parameters, ends on the same worker."""
    grouped = (
        "import os, time, pytest\n"
        "pytestmark = pytest.mark.xdist_group('{group}')\n"
        "@pytest.mark.parametrize('i', range(4))\n"
        "def test_param(i):\n"
        "    time.sleep(0.05)\n"
        "    print('WORKER', os.environ['PYTEST_XDIST_WORKER'])\n"
        "def test_plain():\n"
        "    time.sleep(0.05)\n"
    )
    (tmp_path / "test_a.py").write_text(grouped.format(group="one"), encoding="utf-8")
    (tmp_path / "test_b.py").write_text(grouped.format(group="one"), encoding="utf-8")
    (tmp_path / "test_c.py").write_text(grouped.format(group="two"), encoding="utf-8")
    (tmp_path / "test_free.py").write_text(
        "".join(f"def test_free_{i}():\n    pass\n" for i in range(6)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    counted = 0
    for line in run.stdout.splitlines():
        # e.g. "[gw1] [ 25%] PASSED test_a.py::test_param[0]@one"
        if not line.startswith("[gw") or "PASSED" not in line:
            continue
        worker = line.split("]", 1)[0].lstrip("[")
        module = line.split()[-1].split("::", 1)[0]
        if module != "test_free.py":
            group = "one" if module in ("test_a.py", "test_b.py") else "two"
            workers[group].add(worker)
            counted += 1
    assert counted == 15, run.stdout
    assert all(len(ws) == 1 for ws in workers.values()), dict(workers)
