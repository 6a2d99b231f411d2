"""Logging with the standard library: a log file per job, and one console line per week.

Jobs run as threads inside the Snakemake process (two trainers at once), so a job's file
handler takes only the records of the thread that runs the job. A failing step writes
its error to its log before the exception leaves it: the one-line message for an
expected error (`WeeklyError`), the traceback for anything else. Every handler installed
here, and Snakemake's own (its console and .snakemake/log file, through the logger plugin
snakemake_logger_plugin_weekly), writes its lines with their secrets masked
(weekly.secrets.redact): a password in MLFLOW_TRACKING_URI, a token.
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


class Console(logging.Formatter):
    """The console's line of a record: "error: <the message>" for an expected error (a
    record with `short`), else the record as the format says."""

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
        handler.setFormatter(Redacting(Console("%(message)s")))
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


# What a record holds besides the fields of every LogRecord: Snakemake's events carry their
# text there (a job's files, the message of its rule, the command line).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _masked(value):
    # Plain text and the plain containers Snakemake builds; an event (a StrEnum) and a
    # Namedlist (wildcards, resources) keep their types.
    if type(value) is str:
        return redact(value)
    if type(value) in (list, tuple):
        return type(value)(redact(v) if type(v) is str else v for v in value)
    if type(value) is dict:
        return {k: redact(v) if type(v) is str else v for k, v in value.items()}
    return value


class RedactingRecords(logging.Filter):
    """Masks the secrets of every record a logger passes on, before any of its handlers
    sees it: the message with its arguments, and the text of the record's other fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        if message is not None:  # Snakemake's job records carry none: their text is in the fields
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # arguments that do not fit the message: shown as given
                message = str(message)
        fields = {name: value for name, value in vars(record).items() if name not in _RECORD_FIELDS}
        # One pass over the record's whole text first: most records hold no secret, and a
        # Snakemake job's record has a score of fields.
        text = "\x00".join(_texts([message, *fields.values()]))
        if redact(text) == text:
            return True
        if message is not None:
            record.msg, record.args = redact(message), None
        for name, value in fields.items():
            setattr(record, name, _masked(value))
        return True


def _texts(values) -> list[str]:
    out = []
    for value in values:
        if type(value) is str:
            out.append(value)
        elif type(value) in (list, tuple):
            out.extend(v for v in value if type(v) is str)
        elif type(value) is dict:
            out.extend(v for v in value.values() if type(v) is str)
    return out


def redact_records(logger: logging.Logger) -> RedactingRecords:
    """Mask the secrets in whatever `logger` writes, through any handler, now or added later
    (Snakemake's console and its log file under .snakemake/log/): an exception a job raised,
    as Snakemake prints it, may quote a library's message holding a URI. Once per logger;
    returns the filter (logger.removeFilter takes it off)."""
    for existing in logger.filters:
        if isinstance(existing, RedactingRecords):
            return existing
    masking = RedactingRecords()
    logger.addFilter(masking)
    return masking
