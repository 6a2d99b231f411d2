"""MLflow imported ahead of time, in a process of its own.

A week that does not retrain touches MLflow once, for the monitoring run of its report,
and importing MLflow and opening its store takes a second: a third of a weekly run, all
of it after the week's own jobs. When the Snakefile sees that a run will add weeks to a
chain that has a report, it starts this process (`start_for_new_weeks`) before the DAG is
built: the process imports MLflow on the other core while Snakemake builds the DAG and runs the
week's jobs, then waits for one call. The report hands its call over (`call`).

Without a started process the call runs in the calling process, as it did before. A
process that is never called is stopped when its starter exits. A process that dies
before it answers leaves the call to the caller (only idempotent calls come here).
"""
from __future__ import annotations

import atexit
import importlib
import logging
import os
import pickle
import subprocess
import sys
import traceback
from typing import Any, Callable

from weekly import paths, weeks
from weekly.errors import WeeklyError

log = logging.getLogger(__name__)
_process: subprocess.Popen | None = None


def start_for_new_weeks(config: dict) -> None:
    """Start the side process when this run adds weeks to a chain that has its report: the
    last week of `config` has no tracker yet (a weekly run). The Snakefile calls this first
    thing, before it checks `config`: a config this cannot read starts nothing, and the
    check says what is wrong with it."""
    try:
        last = weeks.chain(config["start"], config["end"])[-1]
    except (KeyError, TypeError, ValueError, IndexError):
        return
    if os.path.exists(paths.WEEKLY_REPORT) and not os.path.exists(paths.TRACKER.format(week=last)):
        start()


def start() -> None:
    """Start the side process, once per process; its imports run beside the caller's work."""
    global _process
    if _process is None:
        _process = subprocess.Popen(
            [sys.executable, "-m", "weekly.sidecar"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        atexit.register(stop)


def stop() -> None:
    """Stop a side process that was never called (a no-op's or a dry run's)."""
    global _process
    process, _process = _process, None
    if process is not None:
        process.kill()
        process.communicate()


def call(function: Callable, **kwargs) -> tuple[Any, str]:
    """`function(**kwargs)`, in the side process when one was started, else here; with what
    the side process wrote on its stderr (MLflow's warnings, a traceback). The side process
    sees this process's environment and folder as they are now."""
    global _process
    process, _process = _process, None
    if process is None:
        return function(**kwargs), ""
    request = (function.__module__, function.__qualname__, kwargs, dict(os.environ), os.getcwd())
    answer, said = process.communicate(pickle.dumps(request))
    said = said.decode(errors="replace")
    if process.returncode != 0 or not answer:
        log.warning("the side process ended without an answer (exit status %s): %s runs here",
                    process.returncode, function.__qualname__)
        return function(**kwargs), said
    log.info("%s ran in the side process %d", function.__qualname__, process.pid)
    done, value = pickle.loads(answer)
    if not done:
        raise value
    return value, said


def _serve() -> int:
    """The side process: imports first, then one call read from stdin, answered on stdout."""
    from weekly.runtime import spare_the_collector

    # MLflow, the engine of its SQLite and PostgreSQL stores, and the package's side of it
    for module in ("mlflow", "mlflow.store.tracking.sqlalchemy_store", "weekly.registry"):
        importlib.import_module(module)
    spare_the_collector()

    request = sys.stdin.buffer.read()
    if not request:
        return 0
    module, name, kwargs, environment, folder = pickle.loads(request)
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)
    try:
        answer = (True, getattr(importlib.import_module(module), name)(**kwargs))
    except Exception as exc:  # raised again in the caller
        if not isinstance(exc, WeeklyError):  # an expected error is its one-line message
            traceback.print_exc()
        answer = (False, exc)
    try:
        data = pickle.dumps(answer)
        pickle.loads(data)
    except Exception:  # an exception that does not pickle arrives as its message
        data = pickle.dumps((False, WeeklyError(f"{type(answer[1]).__name__}: {answer[1]}")))
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    status = _serve()
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's cleanup of MLflow's and SQLAlchemy's modules (half a
    # second, which the caller would wait for): the answer is written, the store closed.
    os._exit(status)
