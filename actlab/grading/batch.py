"""Run many grading jobs: in this process, in a local process pool, or on a Dask cluster.

Results always come back in the order of the specs, whatever order the jobs finish in, so
the reports written from them do not depend on the number of workers or on the scheduler.
A job that fails in a way the job itself could not catch (its worker process died, the
cluster lost it) becomes a ``crashed`` result for that submission; the batch goes on.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from ..util import progress as progress_bar
from .job import JobResult, JobSpec, NotebookResult, run_job, warm_up


def crashed_result(spec: JobSpec, detail: str) -> JobResult:
    """The result recorded for a job that never reported back."""
    notebooks = [NotebookResult(name, "crashed", detail) for name in spec.expected_notebooks]
    return JobResult(spec.student_id, spec.assignment, "crashed", notebooks, {})


def run_jobs(specs: list[JobSpec], workers: int = 1, scheduler: str | None = None,
             progress: bool | None = None) -> list[JobResult]:
    """Grade every spec; return one :class:`JobResult` per spec, in spec order.

    ``scheduler`` (``tcp://host:port``) sends the jobs to a Dask distributed cluster;
    otherwise ``workers`` > 1 uses a local process pool and ``workers`` == 1 runs them here.
    ``progress``: a bar, by default only when stderr is a terminal (:func:`actlab.util.progress`).
    """
    if not specs:
        return []
    with progress_bar(total=len(specs), enabled=progress, desc="grading", unit="submission") as bar:
        if scheduler:
            return _run_dask(specs, scheduler, bar)
        if workers <= 1 or len(specs) == 1:
            warm_up()
            results = []
            for spec in specs:
                results.append(run_job(spec))
                bar.update()
            return results
        return _run_pool(specs, min(workers, len(specs)), bar)


def _run_pool(specs, workers, bar) -> list[JobResult]:
    # Workers are forked from this process after it has imported nbgrader and built the
    # feedback exporter, so no worker pays for that again. Safe here: the parent has run
    # no kernel and holds no open database connection or ZMQ socket when it forks, and
    # ProcessPoolExecutor forks all workers at the first submit, before its own thread.
    warm_up()
    ctx = multiprocessing.get_context("fork")
    results: list[JobResult | None] = [None] * len(specs)
    pending = list(range(len(specs)))
    # A worker that dies (killed from outside, a crash in C code) breaks the whole pool;
    # the unfinished jobs then get one more try in a fresh pool before counting as crashed.
    for attempt in range(2):
        if not pending:
            break
        broken = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=warm_up) as pool:
            futures = {pool.submit(run_job, specs[i]): i for i in pending}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                    bar.update()
                except BrokenProcessPool:
                    broken.append(i)
                except Exception as exc:
                    results[i] = crashed_result(specs[i], "grading worker failed: "
                                                          f"{type(exc).__name__}: {exc}")
                    bar.update()
        pending = sorted(broken)
    for i in pending:
        results[i] = crashed_result(specs[i], "grading worker process died")
        bar.update()
    return results


def _run_dask(specs, scheduler, bar) -> list[JobResult]:
    from distributed import Client
    from distributed import as_completed as dask_as_completed

    results: list[JobResult | None] = [None] * len(specs)
    with Client(scheduler, timeout=30, set_as_default=False) as client:
        # Import nbgrader and build the feedback exporter once per worker, not per job.
        client.run(warm_up)
        futures = {}
        for i, spec in enumerate(specs):
            # pure=False: two identical submissions are still two jobs (two students).
            fut = client.submit(run_job, spec, pure=False, retries=1)
            futures[fut] = i
        for fut in dask_as_completed(list(futures), loop=client.loop):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:
                results[i] = crashed_result(specs[i],
                                            f"dask task failed: {type(exc).__name__}: {exc}")
            bar.update()
    return results
