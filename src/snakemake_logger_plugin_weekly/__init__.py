"""The chain's console and its failure alerts: a Snakemake 9 logger plugin (`--logger weekly`).

The workflow profile (profiles/default/config.yaml) enables it for every run in the folder.
It takes the place of Snakemake's console handler and shows what that one shows, through
Snakemake's own formatter, filter and colouring handler, with two differences:

- a run shows one line per finished week (the records of logger `weekly.progress`)
  instead of Snakemake's lines about single jobs; a dry run, or `--verbose`, shows those;
- every line has its secrets masked (weekly.secrets), and so has Snakemake's log file under
  .snakemake/log/: a filter on Snakemake's logger masks each record before any handler.

An expected error that the package has already said in one line (a check at start, see
weekly.alerting.senders.alert_on_failure) is not shown again as Snakemake reports it (with
its traceback).

Once the run is over, its failures alert (params.yaml `alerts`, reports/alerts.jsonl), read
from the records Snakemake logged, never from its text: each failed job with its rule, the
week of its wildcards and the one-line error of its own log; else an error outside any job
(a raw file of your own data that has not arrived stops the run before any job). A dry
run, and a command that runs no workflow (`--lint`, `--report`, `--summary`), alerts
nobody. The alert settings are read from the params file (setting `params`,
`--logger-weekly-params`): a `--config alerts=...` override of the run is not seen here.
"""

import logging
import sys
from dataclasses import dataclass, field

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from weekly.logs import PROGRESS, Console, Redacting, redact_records

# No `from __future__ import annotations`: Snakemake reads the settings' field types as types.

# Snakemake's records about single jobs: a run's console shows a line per week instead.
JOB_EVENTS = frozenset({LogEvent.JOB_INFO, LogEvent.JOB_STARTED, LogEvent.JOB_FINISHED, LogEvent.PROGRESS,
                        LogEvent.RESOURCES_INFO, LogEvent.GROUP_INFO})
JOB_MESSAGES = frozenset({"Select jobs to execute..."})
NOT_ALERTED = frozenset({"KeyboardInterrupt"})  # the user stopped the run


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    params: str = field(
        default="params.yaml",
        metadata={"help": "The params file whose `alerts` section says where a failed run alerts "
                          "(a --config override of it is not seen by the logger)."},
    )


class Failures:
    """What the records of a run say failed, for its alert."""

    def __init__(self) -> None:
        self.runs_workflow = False  # Snakemake started the workflow (not a lint, a report...)
        self.week_of_job: dict[int, str | None] = {}  # a job error carries no wildcards: its job info does
        self.jobs: list[tuple[str, str | None, list[str]]] = []  # rule, week, log files
        self.errors: list[tuple[str | None, str]] = []  # outside any job: exception, Snakemake's message
        self.said: list[str] = []  # exceptions the package has said in one line, and alerted

    def note(self, record: logging.LogRecord) -> bool:
        """Take note of `record`; False for Snakemake's report of an error already said."""
        event = getattr(record, "event", None)
        if record.name == PROGRESS:
            if getattr(record, "exception", None):
                self.said.append(record.exception)
        elif event == LogEvent.WORKFLOW_STARTED:
            self.runs_workflow = True
        elif event == LogEvent.JOB_INFO:
            self.week_of_job[record.jobid] = (getattr(record, "wildcards", None) or {}).get("week")
        elif event == LogEvent.JOB_ERROR:
            self.jobs.append((record.rule_name, self.week_of_job.get(record.jobid), list(record.log or [])))
        elif event == LogEvent.ERROR:
            exception = getattr(record, "exception", None)
            if exception in self.said:
                self.said.remove(exception)
                return False
            if exception not in NOT_ALERTED:
                self.errors.append((exception, record.getMessage()))
        return True

    def failures(self, params: dict) -> list[dict]:
        """The failures to alert (see senders.alert_failures): every failed job, else the
        first error outside any job."""
        from weekly.alerting import senders

        if self.jobs:
            return [senders.job_failure(rule, week, logs) for rule, week, logs in self.jobs]
        if not self.errors:
            return []
        exception, message = self.errors[0]
        missing = senders.missing_raw_files(params) if exception == "MissingInputException" else []
        if missing:
            return [senders.raw_data_failure(missing)]
        return [{"rule": "snakemake", "week": None, "log": None, "message": message.strip()}]


class LogHandler(LogHandlerBase):
    """Snakemake's console with a line per week instead of its lines per job, secrets
    masked; the run's failures alerted when it ends."""

    def __post_init__(self) -> None:
        from snakemake.logging import ColorizingTextHandler, DefaultFilter, DefaultFormatter

        out = self.common_settings
        self.console = ColorizingTextHandler(
            nocolor=out.nocolor,
            stream=sys.stdout if out.stdout else sys.stderr,
            formatter=Redacting(DefaultFormatter(out.quiet, out.show_failed_logs)),
            filter=DefaultFilter(out.quiet, out.debug_dag, out.verbose, out.dryrun, out.printshellcmds),
        )
        self.week_lines = Redacting(Console("%(message)s"))
        self.shows_jobs = bool(out.dryrun or out.verbose)
        self.run = Failures()
        self._closed = False
        self._masking = redact_records(logging.getLogger("snakemake.logging"))
        logging.getLogger(PROGRESS).addHandler(self)  # the package's week lines (its logger does not propagate)

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True  # Snakemake's DefaultFilter, on the console handler, with the job lines left out

    @property
    def has_formatter(self) -> bool:
        return True  # Snakemake's DefaultFormatter, redacted

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not self.run.note(record):
                return
            if record.name == PROGRESS:
                line = logging.makeLogRecord(vars(record))
                line.msg, line.args, line.exc_info, line.exc_text = self.week_lines.format(record), None, None, None
                self.console.handle(line)
            elif self.shows_jobs or not self._about_one_job(record):
                self.console.handle(record)
        except Exception:  # noqa: BLE001 (a console line must never fail the run)
            self.handleError(record)

    @staticmethod
    def _about_one_job(record: logging.LogRecord) -> bool:
        return getattr(record, "event", None) in JOB_EVENTS or record.getMessage() in JOB_MESSAGES

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._alert()
            finally:
                logging.getLogger(PROGRESS).removeHandler(self)
                logging.getLogger("snakemake.logging").removeFilter(self._masking)
                self.console.flush()
        super().close()

    def _alert(self) -> None:
        if self.common_settings.dryrun or not self.run.runs_workflow or not (self.run.jobs or self.run.errors):
            return
        from weekly.alerting import senders
        from weekly.config import load_params

        path = getattr(self.settings, "params", None) or "params.yaml"
        try:
            params = load_params(path)
            failures = self.run.failures(params)
        except Exception as exc:  # noqa: BLE001 (the run fails with its own error, not the alert's)
            logging.getLogger(PROGRESS).warning("alerts: the failed run could not be alerted (%s: %s)",
                                                type(exc).__name__, exc)
            return
        senders.alert_failures(failures, params)
