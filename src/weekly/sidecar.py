"""MLflow imported ahead of time, in a process of its own.

A week that does not retrain touches MLflow once, for the monitoring run of its report,
and importing MLflow and opening its store takes a second: a third of a weekly run, all
of it after the week's own jobs. When the Snakefile sees that a run will add weeks to a
chain that has a report, it starts this process (`start_for_new_weeks`) before the DAG is
built: the process imports MLflow on the other core while Snakemake builds the DAG and runs the
week's jobs, then waits for one call. The report hands its call over (`call`).

Without a started process the call runs in the calling process, as it did before. A
process that is never called (a dry run, `--unlock`, a run of other targets such as the
DVC stage raw_data: the Snakefile cannot tell them apart when it starts) is killed when
its starter exits, having spent its imports on the other core. A process that dies
before it answers leaves the call to the caller: only calls that may be made twice come
here (the monitoring run replaces the chain's previous one).
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
    """Start the side process, once per process; its imports run beside the caller's work.
    In a session of its own (Ctrl-C stops Snakemake, which stops it), and with `-P`: a
    module of the project's folder cannot stand in for a library."""
    global _process
    if _process is None:
        _process = subprocess.Popen(
            [sys.executable, "-P", "-m", "weekly.sidecar"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        atexit.register(stop)


def stop() -> None:
    """Stop a side process that was never called (a dry run's, or another target's)."""
    global _process
    process, _process = _process, None
    if process is not None:
        process.kill()
        process.communicate()


def call(function: Callable, **kwargs) -> Any:
    """`function(**kwargs)`, in the side process when one was started, else here. The side
    process sees this process's environment and folder as they are now; what it logged
    (MLflow's records and warnings, a traceback) goes to this process's log, line by line."""
    global _process
    process, _process = _process, None
    if process is None:
        return function(**kwargs)
    request = (function.__module__, function.__qualname__, kwargs, dict(os.environ), os.getcwd())
    try:
        answer, said = process.communicate(pickle.dumps(request))
    except BaseException:
        process.kill()
        process.communicate()
        raise
    for line in said.decode(errors="replace").splitlines():
        log.info("side process: %s", line)
    try:
        done, value = pickle.loads(answer)
    except Exception:  # no answer: it died (the call may be made again: see the docstring)
        log.warning("the side process ended without an answer (exit status %s): %s runs here",
                    process.returncode, function.__qualname__)
        return function(**kwargs)
    log.info("%s ran in the side process %d", function.__qualname__, process.pid)
    if not done:
        raise value
    return value


class _ToCaller(logging.Handler):
    """The side process's log records, on its stderr for the caller (not a StreamHandler:
    `logs.off_console` leaves it alone)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def _serve() -> int:
    """The side process: imports first, then one call read from stdin, answered on a
    descriptor of its own (stdout goes to stderr: MLflow prints on stdout)."""
    from weekly.logs import CAPTURED, FORMAT
    from weekly.runtime import spare_the_collector

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # MLflow, the engine of its SQLite and PostgreSQL stores, and the package's side of it
    for module in ("mlflow", "mlflow.store.tracking.sqlalchemy_store", "weekly.registry"):
        importlib.import_module(module)
    to_caller = _ToCaller()
    to_caller.setFormatter(logging.Formatter(FORMAT))
    for name in CAPTURED:  # what a job's log receives in the Snakemake process
        logger = logging.getLogger(name)
        logger.handlers = [to_caller]
        logger.setLevel(logging.INFO)
        logger.propagate = False
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
    except Exception:  # an answer that does not travel: its text, and the traceback above
        if answer[0]:
            raise
        data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
    answers.write(data)
    answers.flush()
    return 0


if __name__ == "__main__":
    status = _serve()
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's cleanup of MLflow's and SQLAlchemy's modules (half a
    # second, which the caller would wait for): the answer is written, the store closed.
    os._exit(status)
