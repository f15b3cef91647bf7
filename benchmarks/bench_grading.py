"""Grading throughput: stock `nbgrader autograde` against `actlab grade --workers 2`.

For each problem set (default: problem sets 1 and 5), builds N submissions (default 40: a
mix of correct, partial and wrong work made from the instructor and release versions),
grades the same folder with

1. stock nbgrader, sequentially: ``nbgrader autograde`` in a throw-away course folder;
2. ``actlab grade --workers 2 --no-sandbox`` (same isolation as stock nbgrader; tests are
   judged outside the kernel);
3. ``actlab grade --workers 2`` under the bubblewrap sandbox with the judge, when the
   machine has bubblewrap;

and prints the wall time of each (each run is a fresh process: interpreter start, imports,
judge start and gradebook set-up included), the speed-up over stock, the median
per-notebook overhead (job time minus the time spent in test and student code: the
student's cells in the kernel and the judged test cells), the job phases, and whether all
three agree on every score. The targets: with the sandbox and the judge, at
least 2x stock and a median overhead of at most 1.0 s, on problem sets 1 and 5.

    .venv/bin/python benchmarks/bench_grading.py [--n 40] [--assignment ps1_nonlinearity ps5_custom]
                                                 [--workers 2] [--skip-sandbox]

A script that prints figures, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
# The demo course and the course-config writer are the tests' (tests/helpers.py).
sys.path.insert(0, str(REPO / "tests"))
BIN = Path(sys.executable).parent
KINDS = ("correct", "partial", "wrong")


def _solution_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]


def make_submission(source_nb, release_nb, kind: str) -> bytes:
    """correct: every answer from the instructor; wrong: the release stubs; partial: the
    first half of the answers right, the rest left as stubs."""
    nb = copy.deepcopy(release_nb)
    answers = _solution_cells(source_nb)
    stubs = _solution_cells(nb)
    keep = {"correct": len(stubs), "partial": max(1, len(stubs) // 2), "wrong": 0}[kind]
    by_id = {source_nb.cells[i].metadata["nbgrader"]["grade_id"]: source_nb.cells[i]
             for i in answers}
    for i in stubs[:keep]:
        answer = by_id.get(nb.cells[i].metadata["nbgrader"]["grade_id"])
        if answer is not None:
            nb.cells[i].source = _strip_markers(answer.source)
    return nbformat.writes(nb).encode()


def _strip_markers(source: str) -> str:
    return "\n".join(ln for ln in source.splitlines()
                     if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def prepare(work: Path, assignment: str | None, n: int):
    """A course folder for each tool and one submitted folder; returns (course, name, submitted)."""
    from actlab.grading.course import load_course, unpack_folder
    from helpers import DEMO_ASSIGNMENT, write_course_config, write_demo_course

    if assignment and (REPO / "solutions" / assignment).is_dir():
        course = work / "course"
        (course / "source").mkdir(parents=True)
        shutil.copytree(REPO / "solutions" / assignment, course / "source" / assignment)
        name = assignment
        timeout = 120
    else:
        course = write_demo_course(work / "course")
        name = DEMO_ASSIGNMENT
        timeout = 60
    # One config for both tools, so both grade with the same settings.
    write_course_config(course, "bench", {"Execute.timeout": timeout})
    template = load_course(course).build_template(name)
    tpl = work / "template"
    unpack_folder(template.archive, tpl)
    source_nb = nbformat.read(tpl / "source" / name / f"{name}.ipynb", as_version=4)
    release_nb = nbformat.read(tpl / "release" / name / f"{name}.ipynb", as_version=4)
    submitted = course / "submitted"
    for k in range(n):
        folder = submitted / f"student{k:03d}" / name
        folder.mkdir(parents=True)
        kind = KINDS[k % len(KINDS)]
        (folder / f"{name}.ipynb").write_bytes(make_submission(source_nb, release_nb, kind))
    return course, name, submitted


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process's descendants, where the kernel can tell.

    Child processes that were waited for are counted with everything they waited for. A
    sandboxed kernel is not: it is reaped inside its own pid namespace by bubblewrap, which
    is then killed, so its CPU time never reaches us. Where /proc/stat exists the busy CPU
    time of the whole machine is used instead (it includes anything else running, so run the
    benchmark on a quiet machine)."""
    try:
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except (OSError, ValueError):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def run_stock(course: Path, name: str) -> tuple[float, float, dict]:
    """generate_assignment (untimed), then a timed sequential `nbgrader autograde`."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", name, "--force",
                    "--log-level=ERROR"], cwd=course, check=True, env=env)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    subprocess.run([str(BIN / "nbgrader"), "autograde", name, "--log-level=ERROR"],
                   cwd=course, check=True, env=env, stderr=subprocess.DEVNULL)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "bench") as gb:
        scores = {s.student.id: float(s.score) for s in gb.assignment_submissions(name)}
    return seconds, cpu, scores


_OURS = """
import json, sys, warnings
warnings.simplefilter("ignore")
from actlab.grading.cli import grade
submitted, course, out, workers, sandbox, dump = sys.argv[1:]
run = grade(submitted, course_root=course, out=out, workers=int(workers), sandbox=sandbox == "1",
            gradebook=False, progress=False)
json.dump([{"student": r.student_id, "score": r.score, "status": r.status, "timings": r.timings,
            "overhead": r.overhead} for r in run.results], open(dump, "w"))
"""


def run_ours(course: Path, submitted: Path, out: Path, workers: int,
             sandbox: bool) -> tuple[float, float, list]:
    dump = out.with_suffix(".json")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    subprocess.run([sys.executable, "-c", _OURS, str(submitted), str(course), str(out),
                    str(workers), "1" if sandbox else "0", str(dump)],
                   check=True, stderr=subprocess.DEVNULL)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    return seconds, cpu, json.loads(dump.read_text())


def bench_one(assignment: str, args) -> dict:
    """Grade one problem set's N submissions with each tool; print and return the figures."""
    from actlab.grading.sandbox import bwrap_available  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        course, name, submitted = prepare(work, assignment, args.n)
        print(f"\n=== assignment {name}, {args.n} submissions ({', '.join(KINDS)}), "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

        t_stock, cpu_stock, stock = run_stock(course, name)
        print(f"stock nbgrader autograde (sequential): {t_stock:7.1f} s wall, "
              f"{cpu_stock:7.1f} s CPU")
        t_plain, cpu_plain, plain = run_ours(course, submitted, work / "plain", args.workers,
                                             sandbox=False)
        print(f"actlab grade --workers {args.workers} --no-sandbox: {t_plain:7.1f} s wall, "
              f"{cpu_plain:7.1f} s CPU; speed-up {t_stock / t_plain:.2f}x")
        runs = {"no sandbox": (t_plain, plain)}
        if not args.skip_sandbox and bwrap_available():
            t_sb, cpu_sb, sb = run_ours(course, submitted, work / "sandboxed", args.workers,
                                        sandbox=True)
            print(f"actlab grade --workers {args.workers} (sandbox):    {t_sb:7.1f} s wall, "
                  f"{cpu_sb:7.1f} s CPU; speed-up {t_stock / t_sb:.2f}x")
            runs["sandbox"] = (t_sb, sb)
        # With W idle cores the wall-clock speed-up would approach W times the CPU ratio.
        # (Machine-wide CPU counts other users too: on a busy machine both figures suffer.)
        print(f"CPU per submission: stock {cpu_stock / args.n:.2f} s, actlab "
              f"{cpu_plain / args.n:.2f} s (no sandbox); bound on the speed-up with the cores to "
              f"ourselves: {args.workers * cpu_stock / cpu_plain:.2f}x")
        if "sandbox" in runs:
            print(f"CPU per submission, sandboxed: {cpu_sb / args.n:.2f} s; bound on its speed-up: "
                  f"{args.workers * cpu_stock / cpu_sb:.2f}x")

        figures = {}
        for label, (seconds, results) in runs.items():
            overheads = [r["overhead"] for r in results if r["timings"]]
            phases = {}
            for r in results:
                for k, v in r["timings"].items():
                    phases.setdefault(k, []).append(v)
            median = statistics.median(overheads)
            figures[label] = {"speedup": t_stock / seconds, "overhead": median}
            print(f"[{label}] per-notebook overhead (job time minus student and test code): "
                  f"median {median:.2f} s, max {max(overheads):.2f} s")
            print("  median per phase: " + ", ".join(
                f"{k} {statistics.median(v):.2f}" for k, v in sorted(phases.items())))

        agree = all({r["student"]: r["score"] for r in results} == stock
                    for _, results in runs.values())
        print(f"scores identical to stock nbgrader for every submission: {agree}")
        mean = statistics.mean(stock.values())
        print(f"mean score {mean:.2f}; statuses: "
              + ", ".join(f"{label}: {sorted({r['status'] for r in rs})}"
                          for label, (_, rs) in runs.items()))
        return {"agree": agree, "figures": figures}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40, help="number of submissions (default 40)")
    p.add_argument("--assignment", nargs="+", default=["ps1_nonlinearity", "ps5_custom"],
                   help="problem sets to build submissions from (an unknown name falls back to "
                        "a tiny demo course)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--skip-sandbox", action="store_true", help="do not time the sandboxed run")
    args = p.parse_args(argv)

    outcomes = {name: bench_one(name, args) for name in args.assignment}
    print("\n=== targets (sandbox and judge): speed-up >= 2.00x, median overhead <= 1.00 s")
    for name, outcome in outcomes.items():
        fig = outcome["figures"].get("sandbox") or outcome["figures"]["no sandbox"]
        label = "sandbox" if "sandbox" in outcome["figures"] else "no sandbox"
        ok = fig["speedup"] >= 2.0 and fig["overhead"] <= 1.0
        print(f"{name} [{label}]: speed-up {fig['speedup']:.2f}x, median overhead "
              f"{fig['overhead']:.2f} s -> {'met' if ok else 'NOT met'}")
    return 0 if all(o["agree"] for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
