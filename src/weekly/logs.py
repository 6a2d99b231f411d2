"""Logging with the standard library: a log file per job, and one console line per week.

Jobs run as threads inside the Snakemake process (two trainers at once), so a job's file
handler takes only the records of the thread that runs the job. A failing step writes
its error to its log before the exception leaves it: the one-line message for an
expected error (`WeeklyError`), the traceback for anything else. Every handler installed
here, and Snakemake's own (its console and .snakemake/log file), writes its lines with
their secrets masked (weekly.secrets.redact): a password in MLFLOW_TRACKING_URI, a token.
"""
from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from weekly.errors import WeeklyError
from weekly.secrets import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PROGRESS = "weekly.progress"
# Loggers whose records go to the job's log: the package's and MLflow's own.
CAPTURED = ("weekly", "mlflow")

_package = logging.getLogger("weekly")
_package.setLevel(logging.INFO)
_package.propagate = False  # never through Snakemake's or anyone's root handlers
_job = logging.getLogger("weekly.job")  # a job's start, end and failure


class Redacting(logging.Formatter):
    """The lines of another formatter (default: the bare message) with their secrets masked:
    the message, its arguments, a traceback, whatever the other formatter shows."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        formatted = self.inner.format(record)  # Snakemake's may give a message that is no string
        return redact(formatted if isinstance(formatted, str) else str(formatted))


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextmanager
def job_log(path: str | Path | None, step: str) -> Iterator[None]:
    """Log the records of this thread to `path` (created at once) while the step runs. A
    step that fails logs one line for an expected error (`WeeklyError`, a full disk), else
    its traceback."""
    import errno

    handler = None
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="w")
        handler.setFormatter(Redacting(logging.Formatter(FORMAT)))
        handler.addFilter(_ThisThread())
        for name in CAPTURED:
            logging.getLogger(name).addHandler(handler)
    started = time.perf_counter()
    _job.info("%s started", step)
    try:
        yield
    except WeeklyError as exc:
        _job.error("%s failed: %s", step, exc, extra={"short": str(exc)})
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            _job.exception("%s failed with an unexpected error", step)
            raise
        # A full disk is no bug: one line (a traceback per failing job would bury it), and
        # the error goes on as it is, so that Snakemake fails the job.
        where = f"writing {exc.filename}" if exc.filename else f"while {step} wrote its outputs"
        short = f"no space left on device {where}: free space and run again"
        _job.error("%s failed: %s", step, short, extra={"short": short})
        raise
    except BaseException:
        _job.exception("%s failed with an unexpected error", step)
        raise
    else:
        _job.info("%s done in %.2f s", step, time.perf_counter() - started)
    finally:
        if handler is not None:
            for name in CAPTURED:
                logging.getLogger(name).removeHandler(handler)
            handler.close()


def logged(step: Callable) -> Callable:
    """Run a step inside its job log; `log=` names the file (None: no file)."""

    @functools.wraps(step)
    def run(*, log: str | Path | None = None, **kwargs):
        with job_log(log, step.__name__):
            return step(**kwargs)

    return run


class _Console(logging.Formatter):
    # An expected error reads "error: <the message>"; the rest is the bare message.
    def format(self, record: logging.LogRecord) -> str:
        short = getattr(record, "short", None)
        return f"error: {short}" if short else super().format(record)


class _NoBookkeeping(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != _job.name or record.levelno >= logging.ERROR


def to_console(name: str = "weekly", stream=None) -> None:
    """Show the records of logger `name` on the console (stderr), once; a job's start and
    end stay in its log file."""
    logger = logging.getLogger(name)
    if not any(getattr(h, "_weekly_console", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(Redacting(_Console("%(message)s")))
        handler.addFilter(_NoBookkeeping())
        handler._weekly_console = True
        logger.addHandler(handler)


def off_console(name: str, *reraised: str) -> None:
    """Keep a library's informational records off the console (its warnings still show,
    their secrets masked); the job log still receives them. `reraised`: its loggers that
    log an error with its traceback before raising it: the step reports the exception in
    one line instead."""
    for handler in logging.getLogger(name).handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)
            if not isinstance(handler.formatter, Redacting):  # its warnings may name a URI
                handler.setFormatter(Redacting(handler.formatter))
            if reraised and not any(isinstance(f, _NotFrom) for f in handler.filters):
                handler.addFilter(_NotFrom(reraised))


class _NotFrom(logging.Filter):
    def __init__(self, loggers: tuple[str, ...]) -> None:
        super().__init__()
        self.loggers = loggers

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name not in self.loggers


# Snakemake's records about single jobs; the week lines replace them on the console.
_JOB_EVENTS = {"job_info", "job_started", "job_finished", "progress", "resources_info", "group_info"}
_JOB_MESSAGES = ("Select jobs to execute...",)


class _WeeksNotJobs(logging.Filter):
    def __init__(self, workflow) -> None:
        super().__init__()
        self.workflow = workflow

    def filter(self, record: logging.LogRecord) -> bool:
        # Asked when the record comes: a dry run is known only once the run has started.
        if self.workflow.dryrun or self.workflow.output_settings.verbose:
            return True
        event = str(getattr(record, "event", "") or "")
        return event not in _JOB_EVENTS and record.getMessage() not in _JOB_MESSAGES


def redact_snakemake(snakemake_logger: logging.Logger | None = None) -> None:
    """Mask the secrets in what Snakemake's console and log file (.snakemake/log/) show: an
    exception a job raised, as Snakemake prints it, may quote a library's message holding
    a URI. Once per handler; the sooner the Snakefile calls it, the more it covers."""
    logger = snakemake_logger or logging.getLogger("snakemake.logging")
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, Redacting):
            handler.setFormatter(Redacting(handler.formatter))


def weeks_on_console(workflow, snakemake_logger: logging.Logger | None = None) -> None:
    """The backfill's console: one line per finished week instead of Snakemake's lines per job.

    Only the console handlers are filtered: Snakemake's log file under .snakemake/log/
    keeps every job. Errors, warnings and summaries stay on the console too. A dry run,
    or a run with --verbose, shows Snakemake's lines as usual. Snakemake's lines, on the
    console and in its file, have their secrets masked (redact_snakemake). Called by the
    Snakefile.
    """
    to_console(PROGRESS)
    logger = snakemake_logger or logging.getLogger("snakemake.logging")
    redact_snakemake(logger)
    for handler in logger.handlers:
        console = isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
        if console and not any(isinstance(f, _WeeksNotJobs) for f in handler.filters):
            handler.addFilter(_WeeksNotJobs(workflow))
