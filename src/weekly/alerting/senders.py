"""Where alerts go, and the steps that send them: the chain's alerts after the report, a
failed run's from the Snakemake logger plugin (snakemake_logger_plugin_weekly: a failed
job, a missing input) and from the checks at start (the Snakefile's `onstart`).

Every alert is recorded in an append-only JSON-lines file (reports/alerts.jsonl) with
where it went; a webhook (a JSON POST that Slack- and Teams-style incoming webhooks
accept) and e-mail over SMTP are used when configured. A channel that is down or slow
never fails or stalls the chain: each try is bounded by a timeout, a failed try is
retried once, and what could not be delivered is recorded as such. Secrets (the webhook's
URL, the SMTP credentials) come from the environment, never from a file, and go into no
record, post, mail or error: all of these are redacted (weekly.secrets), as is the text
of the logs a failure alert quotes.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator, Mapping

from weekly.alerting import alerts as alert_logic
from weekly import paths
from weekly.errors import WeeklyError
from weekly.io import read_json, write_json
from weekly.lifecycle import weeks as week_calendar
from weekly.logs import PROGRESS
from weekly.secrets import redact_data

log = logging.getLogger(__name__)
progress = logging.getLogger(PROGRESS)

RETRY_PAUSE = 0.5  # seconds between a failed try and the retry


class ChannelError(Exception):
    """A channel's failure in its own words (a secret taken out), recorded as it is."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib follows a 301/302/303 answer to a POST with a GET that drops the body: the
    alert would be lost and the answer at the new address (a 200) taken for delivery."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx answer is raised as an HTTPError


# A control character or a space in a URL: urllib's error quotes the URL's path (its secret).
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


def _without_url(text: str, url: str) -> str:
    # The URL and its path (the secret part of a Slack- or Teams-style webhook), as written
    # and as an error's repr quotes them, stand as <webhook url>.
    scheme, sep, rest = url.partition("://")
    path = rest[min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest)):] if sep else ""
    for secret in sorted({url, repr(url)[1:-1], path, repr(path)[1:-1]} - {"", "/"}, key=len, reverse=True):
        text = text.replace(secret, "<webhook url>")
    return text


def _webhook(settings: dict, env: Mapping[str, str]) -> Callable[[dict, float], None] | None:
    url = env.get(settings["url_env"], "").strip()
    if not url:
        return None

    def send(message: dict, timeout: float) -> None:
        payload = {key: message[key] for key in ("text", "project", "count", "events")}
        bad = _UNSENDABLE.search(url)
        if bad:
            raise ChannelError(f"the webhook URL ({settings['url_env']}) holds a control character or a space at "
                               f"position {bad.start() + 1}: set it again without it")
        try:
            request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:  # noqa: S310
                response.read()
        except Exception as exc:  # the URL is a secret: it never goes into a record, a log or a message
            if isinstance(exc, urllib.error.HTTPError) and 300 <= exc.code < 400:  # its Location is a secret too
                raise ChannelError(f"HTTP {exc.code}: the webhook URL redirects, and a POST is not sent on: "
                                   f"set the URL it redirects to") from None
            raise ChannelError(f"{type(exc).__name__}: {_without_url(str(exc), url)}") from None

    return send


def _email(settings: dict, env: Mapping[str, str]) -> Callable[[dict, float], None] | None:
    if not settings["host"] or not settings["to"]:
        return None
    user, password = env.get(settings["user_env"]), env.get(settings["password_env"])

    def send(message: dict, timeout: float) -> None:
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = message["subject"], settings["sender"], ", ".join(settings["to"])
        mail.set_content(message["text"] + "\n\nThe alerts as JSON:\n" + json.dumps(message["events"], indent=1))
        secure = settings["security"]
        connect = smtplib.SMTP_SSL if secure == "ssl" else smtplib.SMTP
        extra = {"context": ssl.create_default_context()} if secure == "ssl" else {}
        with connect(settings["host"], settings["port"], timeout=timeout, **extra) as smtp:
            if secure == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if user:
                if secure == "none":
                    raise ValueError("refusing to send the SMTP credentials without TLS (alerts.channels.email.security)")
                smtp.login(user, password or "")
            smtp.send_message(mail)

    return send


# The channels besides the file, each active when configured (see params.yaml alerts.channels).
CHANNELS: dict[str, Callable[[dict, Mapping[str, str]], Callable[[dict, float], None] | None]] = {
    "webhook": _webhook,
    "email": _email,
}


def _try(send: Callable[[dict, float], None], message: dict, timeout: float, retries: int) -> dict:
    error = None
    for attempt in range(1, retries + 2):
        try:
            send(message, timeout)
            return {"delivered": True, "attempts": attempt}
        except Exception as exc:  # noqa: BLE001 (a channel must never fail the chain)
            error = str(exc) if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
            if attempt <= retries:
                time.sleep(RETRY_PAUSE)
    return {"delivered": False, "attempts": retries + 1, "error": error}


def secret_names(channels: dict) -> tuple[str, ...]:
    """The environment variables the channels read their secrets from (params.yaml
    alerts.channels): their values are masked wherever the alerts go (weekly.secrets)."""
    return tuple(name for name in (channels["webhook"]["url_env"], channels["email"]["password_env"]) if name)


def _redacted(data, channels: dict, env: Mapping[str, str]):
    # The process's secrets and the channels' (from `env`, which a test may give).
    return redact_data(data, {**os.environ, **env}, secret_names(channels))


def deliver(message: dict, channels: dict, env: Mapping[str, str] | None = None) -> dict[str, dict]:
    """Send `message` (see alerts.digest) to every active channel at once; never raises.

    Each channel runs in a thread of its own, bounded as a whole by its tries' timeouts
    (a server that answers byte by byte cannot stall it longer either). What is sent, and
    each error, has its secrets masked. Returns each active channel's result: delivered or
    not, attempts, error."""
    env = os.environ if env is None else env
    message = _redacted(message, channels, env)
    timeout, retries = float(channels["timeout_seconds"]), int(channels["retries"])
    results: dict[str, dict] = {}
    threads = {}
    for name, make in CHANNELS.items():
        try:
            send = make(channels[name], env)
        except Exception as exc:  # noqa: BLE001 (a channel configured wrongly is recorded, not raised)
            results[name] = {"delivered": False, "attempts": 0, "error": f"{type(exc).__name__}: {exc}"}
            continue
        if send is None:  # not configured
            continue

        def work(name=name, send=send):
            results[name] = _try(send, message, timeout, retries)

        threads[name] = threading.Thread(target=work, name=f"alert-{name}", daemon=True)
        threads[name].start()
    deadline = time.monotonic() + (timeout + RETRY_PAUSE) * (retries + 1) + 1.0
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            results[name] = {"delivered": False, "attempts": retries + 1, "error": "timed out"}
    return _redacted({name: results[name] for name in CHANNELS if name in results}, channels, env)


def read_records(path: str | Path) -> list[dict]:
    """The records of the alerts file (none when it is missing). A line cut by a crash is
    skipped: the file is append-only and every other line is whole."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s: skipped a line that is not JSON (cut by a crash?)", path)
    return records


def append_records(path: str | Path, records: list[dict]) -> None:
    """Append `records` to the alerts file, one JSON line each, in one write."""
    if not records:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, sort_keys=False) + "\n" for r in records)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # a run's records and a start-up check's do not interleave
        f.seek(0, os.SEEK_END)
        if f.tell():  # a line cut by a crash is ended first, so that the next record stays whole
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(text.encode())
        f.flush()
        os.fsync(f.fileno())


def send_and_record(items: list[dict], alert_log: str | Path, channels: dict, chain: str,
                    env: Mapping[str, str] | None = None) -> list[dict]:
    """Deliver `items` as one digest per channel and append them to `alert_log`, each with
    its delivery, its secrets masked. Returns the records appended."""
    if not items:
        return []
    items = _redacted(items, channels, os.environ if env is None else env)
    message = alert_logic.digest(items, chain)
    results = deliver(message, channels, env)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    digest_id = hashlib.sha256("\n".join(e["id"] for e in items).encode()).hexdigest()[:12]
    records = [{**e, "recorded_at": now, "digest": digest_id, "delivery": results} for e in items]
    append_records(alert_log, records)
    for name, result in results.items():
        if result["delivered"]:
            log.info("alerts: %d sent to %s as one message", len(items), name)
        else:
            log.warning("alerts: %d not delivered to %s (%s); recorded in %s", len(items), name, result["error"],
                        alert_log)
    return records


def _chain(registry: dict) -> str:
    from weekly.tracking.registry import serving_alias

    return f"{registry['project']} {registry['model_name']}@{serving_alias(registry)}"


def _channels(channels: dict) -> dict:
    """The channels this run may use: none but the file for a DVC experiment (a what-if,
    whose temporary copy has no record of what was sent), as for a policy."""
    return alert_logic.file_only(channels) if os.environ.get("DVC_EXP_NAME") else channels


def alerts(
    *, decisions: list[str], trackers: list[str], drifts: list[str], evaluations: list[str], events: str,
    alert_log: str, rules: dict, channels: dict, registry: dict, lifecycle: str | None = None,
    estimates: list[str] = (),
) -> list[dict]:
    """Derive the chain's alerts from its weeks' files (in week order; evaluations of the
    weeks whose outcomes are known), write them all to `events`, and send those not yet in
    `alert_log` as one digest, appended there; open failures are cleared (the chain ran
    through). `rules`: alerts.settings(params). `lifecycle`: the page the alerts point to,
    drawn before they are sent. `estimates`: the weeks' estimate.json, read for the
    estimated performance of the weeks whose outcomes are pending (with use_estimate)."""
    evaluated = {e["week"]: e for e in map(read_json, evaluations)}
    estimated = {e["week"]: e for e in map(read_json, estimates)}
    weeks = [{"week": t["week"], "tracker": t, "decision": read_json(d), "drift": read_json(f),
              "evaluation": evaluated.get(t["week"]), "estimate": estimated.get(t["week"])}
             for t, d, f in zip(map(read_json, trackers), decisions, drifts)]
    derived = redact_data(alert_logic.events(weeks, rules), names=secret_names(channels))
    write_json(events, {"chain": _chain(registry), "events": derived})
    recorded = read_records(alert_log)
    new = alert_logic.new_events(derived, recorded) + (
        alert_logic.failures_cleared(recorded) if rules["failure"]["enabled"] else [])
    send_and_record(new, alert_log, _channels(channels), _chain(registry))
    message = f"alerts: {len(derived)} in the chain, {len(new)} new" + (f" -> {alert_log}" if new else "")
    log.info(message)
    if new:
        progress.info(message)
    return new


def alert_failures(failures: list[dict], params: dict, alert_log: str = paths.ALERT_LOG,
                   env: Mapping[str, str] | None = None) -> list[dict]:
    """Alert the failures of a run (each: rule, week, message, log), once per failure
    until the chain runs through again. Never raises: a run that failed must fail with its
    own error, not the alert's."""
    try:
        if not params["alerts"]["conditions"]["failure"]["enabled"] or not failures:
            return []
        recorded = read_records(alert_log)
        channels = _channels(params["alerts"]["channels"])
        new = []
        # A failure's message quotes an error: its secrets are masked before it is keyed and recorded.
        for failure in redact_data(failures, names=secret_names(params["alerts"]["channels"])):
            event = alert_logic.failure_event(failure, recorded + new)
            if event is not None:
                new.append(event)
        records = send_and_record(new, alert_log, channels, _chain(params["registry"]), env)
        if records:
            progress.info("alerts: %d failure alert(s) -> %s", len(records), alert_log)
        return records
    except Exception:  # noqa: BLE001
        log.exception("alerts: the failure could not be alerted")
        return []


def job_failure(rule: str, week: str | None, logs: list[str]) -> dict:
    """The failure of a job of `rule` (a week's, or None) whose log files are `logs`, for
    alert_failures: with the one-line error its log ends with (alerts.job_error), else a
    pointer to the log."""
    log = logs[0] if logs else None
    text = Path(log).read_text(errors="replace") if log and Path(log).is_file() else None
    message = alert_logic.job_error(text) or f"see {log or 'the Snakemake log (.snakemake/log/)'}"
    return {"rule": rule, "week": week, "log": log, "message": message}


def missing_raw_files(params: dict) -> list[str]:
    """The raw files of your own data (data.generate off) that the chain needs and that
    have not arrived: applications of the training history and of every week, outcomes of
    the history and of the weeks evaluated (the newest of them may still be awaited), as
    rules/common.smk lists them; the files of the embedded data are made by the chain."""
    if params["data"]["generate"]:
        return []
    start, end, delay = params["start"], params["end"], params["data"]["label_delay_weeks"]
    history = week_calendar.window(start, params["train"]["window_weeks"] + delay)
    applications, outcomes = paths.applications(params["data"]["raw_dir"]), paths.outcomes(params["data"]["raw_dir"])
    evaluated = week_calendar.evaluated_weeks(start, end, delay)
    if evaluated and not os.path.exists(outcomes.format(week=evaluated[-1])):
        evaluated = evaluated[:-1]
    needed = [applications.format(week=w) for w in history + week_calendar.chain(start, end)] + [
        outcomes.format(week=w) for w in history + evaluated]
    return [path for path in needed if not os.path.exists(path)]


def raw_data_failure(missing: list[str]) -> dict:
    """The failure of a run stopped by raw files that have not arrived (see
    missing_raw_files): it names the first, and its week."""
    week = alert_logic.WEEK.search(missing[0])
    more = f" (and {len(missing) - 1} more raw file(s))" if len(missing) > 1 else ""
    where = f" (week {week.group(0)})" if week else ""
    return {"rule": "raw_data", "week": week.group(0) if week else None, "log": None,
            "message": f"{missing[0]}{where}: missing{more}"}


def clear_failures(params: dict, alert_log: str = paths.ALERT_LOG, only: tuple[str, ...] | None = None) -> list[dict]:
    """Clear the open failures (`only` those of these rules): Snakemake's `onsuccess` clears
    them all (the run went through), the Snakefile's `onstart` those of its checks and of
    missing raw files once jobs start (a run that fails later calls no `onsuccess`), so
    that the same failure later alerts again. Never raises."""
    try:
        if not params["alerts"]["conditions"]["failure"]["enabled"]:
            return []
        recorded = read_records(alert_log)
        cleared = [c for c in alert_logic.failures_cleared(recorded) if only is None or c["figures"]["rule"] in only]
        return send_and_record(cleared, alert_log, _channels(params["alerts"]["channels"]), _chain(params["registry"]))
    except Exception:  # noqa: BLE001
        log.exception("alerts: open failures could not be cleared")
        return []


@contextmanager
def alert_on_failure(params: dict, check: str) -> Iterator[None]:
    """Alert an expected error of a check made before any job runs (the raw folder, the
    MLflow store; Snakemake's `onstart`, which a dry run never calls), then let it stop the
    run. Its one-line message goes to the console first (logger `weekly.progress`): the
    logger plugin shows that line instead of Snakemake's report of the exception (which
    quotes the traceback)."""
    try:
        yield
    except WeeklyError as exc:
        progress.error("%s", exc, extra={"short": str(exc), "exception": type(exc).__name__})
        week = alert_logic.WEEK.search(str(exc))
        alert_failures([{"rule": check, "week": week.group(0) if week else None, "log": None,
                         "message": str(exc)}], params)
        raise
