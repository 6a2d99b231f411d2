"""How the long-lived Snakemake process runs the chain's in-process jobs: unpaced, the first
week first, with the garbage collector spared what lives to the end, and memory handed
back after each fit.

Snakemake starts at most 100 jobs a second unless told otherwise (`--max-jobs-per-timespan`,
default `100/1s`): a limit meant for submitting to a cluster. It also starts a timer thread
after each scheduling round to look again when the second is over, and waits for the last
of those threads before it exits. The chain's jobs are threads of the Snakemake process
(`force-use-threads` in the workflow profile), ~7 a week, most of them a few milliseconds
of work: the limit and its timers were a third of the orchestration's cost on the default
backfill and up to a second at the end of every run.

Python's cyclic garbage collector walks every live object on each full pass, and once more
when the process exits. Snakemake's imports, the package's and the DAG (~1,100 jobs) are
alive for the whole run: walking them cost a third of a no-op `all_weeks` (0.8 of its
2.4 s, half of it at exit).

A fit at portfolio scale allocates and frees gigabytes in the trainers' threads. glibc keeps
what they free in per-thread arenas for the next allocation, so the process grew by the
leftovers of every retraining.
"""
from __future__ import annotations

import atexit
import ctypes
import functools
import gc
import logging

log = logging.getLogger(__name__)


def unthrottle(workflow) -> None:
    """Lift the job rate limit of a local run (the Snakefile's `onstart`); a run whose jobs
    go to a cluster (an executor plugin) keeps it."""
    if not workflow.local_exec:
        return
    scheduler = getattr(workflow, "scheduler", None)
    if scheduler is None or not hasattr(scheduler, "job_rate_limiter"):
        # Another Snakemake than the one pinned: it still runs, only paced.
        log.warning("this Snakemake has no job_rate_limiter: jobs stay paced by --max-jobs-per-timespan")
        return
    scheduler.job_rate_limiter = None


def spare_the_collector() -> None:
    """Keep the objects alive now out of the garbage collector's passes (gc.freeze): call it
    once the imports are done and again once the DAG is built. They stay alive to the end
    of the run, and at exit the operating system takes the memory back without a last
    walk over them. Reference counting still frees everything else as it goes; but an
    object in a reference cycle alive at exit is never finalized, so nothing may rely on a
    finalizer (`__del__`, an unclosed file) to finish its work."""
    gc.freeze()
    _freeze_at_exit()


@functools.cache
def _freeze_at_exit() -> None:
    atexit.register(gc.freeze)  # before the last pass Python makes as it exits


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except AttributeError:  # not glibc (macOS, musl): nothing to hand back this way
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def hand_back_memory() -> bool:
    """Return the free memory of every malloc arena to the operating system (glibc's
    malloc_trim; after a fit, whose gigabytes the next step does not reuse). True when
    some was returned."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def first_week_first(workflow, target: str) -> None:
    """Run the jobs that make `target` (the chain's first predictions) and everything they
    need before any other job (the Snakefile's `onstart`). A backfill from clean generates
    ~175 raw weeks, ~20 of which the first week's training window needs: in the order
    Snakemake picks jobs of one rule (an arbitrary one), the chain started only once
    nearly all were generated. First, the chain starts after its window's weeks, and the
    other weeks are generated beside it, on the core the first registration leaves free.
    Nothing changes when `target` is already made (a weekly run) or not in this run."""
    dag = workflow.dag
    try:
        from snakemake.jobs import Job

        first = [job for job in dag.needrun_jobs() if target in job.output]
        if first:
            for job in dag.bfs(dag._dependencies, *first, stop=dag.noneedrun_finished):
                dag._priority[job] = Job.HIGHEST_PRIORITY
    except Exception:  # noqa: BLE001  (private to Snakemake: whatever another version does)
        # Another Snakemake than the one pinned: it still runs, in its own order.
        log.warning("this Snakemake's DAG has no job priorities to set: the first week's jobs are not run first")


def rules_to_run(workflow) -> set[str]:
    """The rules of the jobs this run will run (for the Snakefile's `onstart`)."""
    return {job.rule.name for job in workflow.dag.needrun_jobs()}
