"""MLflow in a process of its own, imported ahead of the run's first call.

Importing MLflow and its SQL store takes a second and a half, and creating a new store
(its tables) another second; the steps that touch MLflow (a retraining week's register,
the report's monitoring run) are on the chain's critical path, one after the other, with
the other core idle. When the Snakefile sees that a run will add weeks to the chain (the
last week has no tracker yet: a backfill from clean, a weekly run), it starts this
process (`start_for_new_weeks`) before the DAG is built: it imports MLflow on the other
core while Snakemake builds the DAG. Once the jobs start, the Snakefile's `onstart` asks
it to open the store (`ahead`: creating a new one's tables, and for the chain's first
week what logging its models needs), or stops it when the run makes no MLflow call. The
steps hand their MLflow calls over (`call`), one at a time, and the Snakemake process
does not import MLflow. A call's log records come back into the caller's loggers (the
job's log); what it printed, and its traceback, as lines of this module's.

Without a started process a call runs in the calling process, as it did before (a week
run again, a step run by hand, the benchmark's plain loop). A process that is never
called (a dry run, `--unlock`: the Snakefile cannot tell them apart when it starts) is
killed when its starter exits, having spent its imports on the other core. A process
that dies before it answers leaves the call, and every later one, to the caller: only
calls that may be made twice come here (a registration finds its own version, or its
candidates' runs, again by its registration key; the monitoring run replaces the
chain's previous one).
"""
from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import traceback
from typing import Any, BinaryIO, Callable

from weekly import paths, weeks
from weekly.errors import WeeklyError

log = logging.getLogger(__name__)
_process: subprocess.Popen | None = None
_lock = threading.Lock()  # one call at a time; stop() waits for the one under way


def start_for_new_weeks(config: dict) -> None:
    """Start the side process when this run adds weeks to the chain: the last week of
    `config` has no tracker yet (a backfill from clean, a weekly run). The Snakefile calls
    this first thing, before it checks `config`: a config this cannot read starts
    nothing, and the check says what is wrong with it."""
    try:
        last = weeks.chain(config["start"], config["end"])[-1]
    except (KeyError, TypeError, ValueError, IndexError):
        return
    if not os.path.exists(paths.TRACKER.format(week=last)):
        start()


def start() -> None:
    """Start the side process, once per process; its imports run beside the caller's work.
    In a session of its own (Ctrl-C stops Snakemake, which stops it), and with `-P`: a
    module of the project's folder cannot stand in for a library."""
    global _process
    with _lock:
        if _process is None:
            _process = subprocess.Popen(
                [sys.executable, "-P", "-m", "weekly.sidecar"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
            )
            atexit.register(stop)


def stop() -> None:
    """Stop the side process, once the call under way (if any) is answered."""
    global _process
    with _lock:
        process, _process = _process, None
    if process is not None:
        _end(process)


def _end(process: subprocess.Popen) -> None:
    process.kill()
    process.communicate()


def _send(stream: BinaryIO, data: bytes) -> None:
    """One message (pickled), its length first."""
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    """The next message, or EOFError when the other side is gone."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("no message")
    (size,) = struct.unpack("!Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("a message cut short")
    return pickle.loads(data)


def _there(function: Callable, kwargs: dict, quiet: bool = False) -> tuple | None:
    """`function(**kwargs)` in the side process: (done, value, records, printed, pid), or
    None when there is no side process (any more) or the call cannot travel."""
    global _process
    try:
        request = pickle.dumps((function.__module__, function.__qualname__, kwargs, dict(os.environ), os.getcwd()))
    except Exception:  # not something to send: the caller runs it (and meets what is wrong)
        return None
    with _lock:
        process = _process
        if process is None:
            return None
        try:
            _send(process.stdin, request)
            return (*_receive(process.stdout), process.pid)
        except BaseException as exc:  # it died, or Ctrl-C while waiting: it goes
            _process = None
            _end(process)
            if not isinstance(exc, (OSError, EOFError, pickle.UnpicklingError)):
                raise
            if not quiet:  # the rest runs in the caller
                log.warning("the side process ended without an answer (exit status %s): %s runs here",
                            process.returncode, function.__qualname__)
            return None


def call(function: Callable, **kwargs) -> Any:
    """`function(**kwargs)`, in the side process when one was started, else here. The side
    process sees this process's environment and folder as they are now; its log records
    come back into this thread's loggers (the job's log), and what it printed (a
    traceback among it) as lines of this module's."""
    answer = _there(function, kwargs)
    if answer is None:
        return function(**kwargs)
    done, value, records, printed, pid = answer
    _relay(records, printed)
    log.info("%s ran in the side process %d", function.__qualname__, pid)
    if not done:
        raise value
    return value


def ahead(function: Callable, **kwargs) -> threading.Thread | None:
    """Start `function(**kwargs)` in the side process now, from a thread that waits for it:
    work that the first real call needs done (opening the store). Nothing happens without
    a side process, and a failure is left to the call that meets it again."""
    if _process is None:
        return None

    def wait() -> None:
        answer = _there(function, kwargs, quiet=True)
        if answer is not None and not answer[0]:
            log.debug("%s ahead of the first call failed: %s", function.__qualname__, answer[1])

    thread = threading.Thread(target=wait, name=f"side process: {function.__qualname__}", daemon=True)
    thread.start()
    return thread


def _relay(records: list[dict], printed: str) -> None:
    here = threading.get_ident()
    for fields in records:
        record = logging.makeLogRecord({**fields, "thread": here})
        logging.getLogger(record.name).handle(record)
    for line in printed.splitlines():
        log.info("side process: %s", line)


class _Collect(logging.Handler):
    """The side process's log records of one call, to be sent back with its answer."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append({"name": record.name, "levelno": record.levelno, "levelname": record.levelname,
                             "msg": message, "created": record.created, "msecs": record.msecs,
                             "relativeCreated": record.relativeCreated})


def _answer(module: str, name: str, kwargs: dict, collect: _Collect, printed: io.StringIO) -> bytes:
    """One call, pickled: (done, value or exception, its log records, what it printed,
    after what `printed` already holds)."""
    collect.records = []
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            done, value = True, getattr(importlib.import_module(module), name)(**kwargs)
        except Exception as exc:  # raised again in the caller
            if not isinstance(exc, WeeklyError):  # an expected error is its one-line message
                traceback.print_exc()
            done, value = False, exc
    try:
        data = pickle.dumps((done, value, collect.records, printed.getvalue()))
        pickle.loads(data)
    except Exception:  # an answer that does not travel: its text, and the traceback above
        if done:
            raise
        data = pickle.dumps((False, RuntimeError(f"{type(value).__name__}: {value}"), collect.records,
                             printed.getvalue()))
    return data


def _serve() -> int:
    """The side process: imports first, then calls read from stdin until it closes, each
    answered on a descriptor of its own. Its standard descriptors go nowhere (stdout to
    stderr, stdin from /dev/null, for the libraries and their children); what a call
    prints, and what the imports printed, goes back with the answer."""
    from weekly.logs import CAPTURED
    from weekly.runtime import spare_the_collector

    requests, answers = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        # MLflow, the engine of its SQLite and PostgreSQL stores, and the package's side of it
        for module in ("mlflow", "mlflow.store.tracking.sqlalchemy_store", "weekly.registry"):
            importlib.import_module(module)
    collect = _Collect()
    for logger_name in CAPTURED:  # what a job's log receives in the Snakemake process
        logger = logging.getLogger(logger_name)
        logger.handlers = [collect]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    spare_the_collector()
    while True:
        try:
            module, name, kwargs, environment, folder = _receive(requests)
        except EOFError:
            return 0
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(folder)
        _send(answers, _answer(module, name, kwargs, collect, printed))
        printed = io.StringIO()


if __name__ == "__main__":
    status = _serve()
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's cleanup of MLflow's and SQLAlchemy's modules (half a
    # second): every call is answered, the store closed.
    os._exit(status)
