"""Secrets never leave the environment: redaction of URLs, parameters and secret variables
(pure), on every log handler, alert record, post and mail, and a planted password that a
failing chain must not write anywhere (the real Snakemake, a webhook on loopback)."""
from __future__ import annotations

import io
import json
import logging
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import make_project, snakemake
from test_alerts import WEBHOOK_ENV, channels, free_port
from test_alerts import smtp, webhook  # noqa: F401 (fixtures: a mail server and a webhook on loopback)
from weekly.alerting import alerts, senders
from weekly import logs
from weekly.config import validate_params
from weekly.secrets import MASK, redact, redact_data, redact_uri, secret_values

PLANTED = "PLANTED-SECRET-123"


# --- the scan: reusable by any test that plants a secret ---------------------------------------

def secret_forms(secret: str) -> list[bytes]:
    """The byte strings a written `secret` shows as: as it is, percent-encoded, and in UTF-16
    (a binary file may hold either)."""
    forms = {secret.encode(), urllib.parse.quote(secret, safe="").encode(), secret.encode("utf-16-le")}
    return sorted(forms)


def find_secret(secret: str, root: Path, received: list | tuple = (), console: str | list[str] = "") -> list[str]:
    """Where `secret` turns up: every file under `root` (hidden folders such as .snakemake/log,
    logs/, the MLflow store; read as bytes, symlinks not followed), each body a webhook
    received (`received`: test_alerts.Webhook.received) and the console text(s). Empty:
    nowhere."""
    forms = secret_forms(secret)
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if any(form in data for form in forms):
                found.append(str(path.relative_to(root)))
    for i, post in enumerate(received):
        if secret in json.dumps(post, ensure_ascii=False):
            found.append(f"webhook body {i}")
    for i, text in enumerate([console] if isinstance(console, str) else console):
        if secret in text or urllib.parse.quote(secret, safe="") in text:
            found.append(f"console {i}")
    return found


def test_the_scan_finds_a_secret_wherever_it_is(tmp_path):
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    (tmp_path / ".snakemake" / "log" / "x.log").write_bytes(b"\x00\x01" + PLANTED.encode() + b"\xff")
    (tmp_path / "wide.bin").write_bytes(PLANTED.encode("utf-16-le"))
    (tmp_path / "clean.txt").write_text(f"{MASK} only")
    (tmp_path / "link").symlink_to(tmp_path / "wide.bin")
    found = find_secret(PLANTED, tmp_path, [{"body": {"text": f"a {PLANTED}"}}], ["clean", f"x{PLANTED}"])
    assert sorted(found) == [".snakemake/log/x.log", "console 1", "webhook body 0", "wide.bin"]
    assert find_secret(PLANTED, tmp_path / ".snakemake" / "nothing") == []


# --- redact_uri and redact: pure ----------------------------------------------------------------

@pytest.mark.parametrize("uri, shown", [
    ("http://user:secret@host:5000", "http://user:***@host:5000"),
    ("https://alice:s3cr%40t%2Fx@mlflow.example.invalid/path?x=1", "https://alice:***@mlflow.example.invalid/path?x=1"),
    ("http://alice@host:5000/", "http://alice@host:5000/"),  # a user name alone is no secret
    ("http://host:5000", "http://host:5000"),
    ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
    ("postgresql://mlflow:p@ss:w@db:5432/mlflow", "postgresql://mlflow:***@db:5432/mlflow"),  # "@" in it: the last
    ("http://user:p'w\"x@host/x", "http://user:***@host/x"),  # one URI: its authority is all before the path
    # a text: each URL in it
    ("API request to http://a:b1@h:1/x failed; see http://c:d2@e/@f and http://host:1 (alice:x@y)",
     "API request to http://a:***@h:1/x failed; see http://c:***@e/@f and http://host:1 (alice:x@y)"),
    ("http://user:@host", "http://user:@host"),  # an empty password
    ("https://host/api?token=abc123&x=1&api_key=k3y#top", "https://host/api?token=***&x=1&api_key=***#top"),
    ("models:/credit-scoring@champion", "models:/credit-scoring@champion"),
])
def test_redact_uri_masks_the_password_and_secret_parameters(uri, shown):
    assert redact_uri(uri) == shown
    assert redact_uri(shown) == shown  # idempotent


def test_redact_masks_every_url_in_a_text_and_keeps_the_rest():
    text = ("MLflow tracking server http://alice:secret1@10.0.0.1:5000 is unreachable (see "
            "https://bob:hunter22@backup.invalid/x and http://carol@host.invalid/, mail ops@example.invalid); "
            "'postgresql://u:pw%2F1@db/m'")
    assert redact(text, env={}) == (
        "MLflow tracking server http://alice:***@10.0.0.1:5000 is unreachable (see "
        "https://bob:***@backup.invalid/x and http://carol@host.invalid/, mail ops@example.invalid); "
        "'postgresql://u:***@db/m'")
    assert redact("no secret here: weeks/2023-03-05/eval.json, key 3f2a", env={}) == \
        "no secret here: weeks/2023-03-05/eval.json, key 3f2a"
    assert redact("", env={}) == ""


@pytest.mark.parametrize("text, shown", [
    ("GET /x?token=abc&page=2", "GET /x?token=***&page=2"),
    ("password=hunter22 user=bob", "password=*** user=bob"),
    ("https://s3.invalid/b/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/x",
     "https://s3.invalid/b/k?X-Amz-Signature=***&X-Amz-Credential=***"),
    ("?key=v&monkey=banana&keyboard=1", "?key=***&monkey=banana&keyboard=1"),
    ("headers={'Authorization': 'Bearer eyJ.abc.def'}", "headers={'Authorization': 'Bearer ***'}"),
])
def test_redact_masks_secret_parameters_and_headers(text, shown):
    assert redact(text, env={}) == shown


def test_redact_masks_the_values_of_secret_variables():
    env = {
        "MLFLOW_TRACKING_PASSWORD": "pa55word", "MLFLOW_TRACKING_TOKEN": "tok-123456",
        "WEEKLY_ALERT_WEBHOOK_URL": "https://hooks.example.invalid/services/T000/B000/XYZ",
        "TEAM_HOOK": "https://teams.example.invalid/hook/abcdef",  # a channel's url_env renamed in params.yaml
        "MY_API_KEY": "k3y-k3y",  # named like a secret
        "SHORT_TOKEN": "abc", "FLAG_TOKEN": "true",  # too short, or a plain word: left alone
        "MLFLOW_TRACKING_URI": "http://alice:p%40ss%2Fword@127.0.0.1:5000",
        "HOME": "/root",
    }
    text = ("pa55word tok-123456 https://hooks.example.invalid/services/T000/B000/XYZ and its path "
            "'/services/T000/B000/XYZ' https://teams.example.invalid/hook/abcdef k3y-k3y abc true "
            "p@ss/word p%40ss%2Fword /root")
    assert redact(text, env=env, names=["TEAM_HOOK"]) == (
        "*** *** *** and its path '***' *** *** abc true *** *** /root")
    assert "https://teams.example.invalid/hook/abcdef" in redact(text, env=env)  # not named: not known
    assert set(secret_values(env, ["TEAM_HOOK"])) >= {"pa55word", "p@ss/word", "p%40ss%2Fword"}
    assert "/root" not in secret_values(env) and "http://alice:p%40ss%2Fword@127.0.0.1:5000" not in secret_values(env)


def test_redact_reads_the_processs_environment_by_default(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "from-the-env")
    assert redact("login with from-the-env failed") == "login with *** failed"
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    assert redact("login with from-the-env failed") == "login with from-the-env failed"


def test_a_control_character_in_a_secret_is_masked_as_a_repr_shows_it():
    env = {"WEEKLY_ALERT_WEBHOOK_URL": "http://hooks.invalid/services/T0/SECRET\x01TOKEN"}
    said = "URL can't contain control characters. '/services/T0/SECRET\\x01TOKEN' (found at least '\\x01')"
    assert "SECRET" not in redact(said, env=env)


def test_redact_data_keeps_the_structure():
    data = {"message": "http://a:b1234@h failed", "figures": {"n": 3, "list": ["token=x", None, 1.5]}, "ok": True}
    assert redact_data(data, env={}) == {"message": "http://a:***@h failed",
                                         "figures": {"n": 3, "list": ["token=***", None, 1.5]}, "ok": True}
    assert data["message"] == "http://a:b1234@h failed"  # the input is not changed


# --- where text leaves the process --------------------------------------------------------------

def test_a_job_log_and_the_console_never_show_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "the-token-42")
    log = logging.getLogger("weekly.test_secrets")
    stream = io.StringIO()
    logs.to_console("weekly.test_secrets", stream)
    try:
        with pytest.raises(RuntimeError):
            with logs.job_log(tmp_path / "job.log", "step"):
                log.warning("server %s answered", "http://alice:PLANTED-SECRET-123@127.0.0.1:1")
                log.warning("token the-token-42 refused")
                raise RuntimeError(f"http://alice:{PLANTED}@127.0.0.1:1 is down")
    finally:
        logger = logging.getLogger("weekly.test_secrets")
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    written, shown = (tmp_path / "job.log").read_text(), stream.getvalue()
    assert "http://alice:***@127.0.0.1:1 answered" in written and "token *** refused" in written
    assert "RuntimeError: http://alice:***@127.0.0.1:1 is down" in written  # the traceback too
    assert "http://alice:***@127.0.0.1:1 answered" in shown
    assert PLANTED not in written + shown and "the-token-42" not in written + shown


def test_snakemakes_and_a_librarys_console_handlers_are_redacted(tmp_path):
    logger = logging.getLogger("weekly.test_secrets.snakemake")
    logger.propagate = False
    console, file = io.StringIO(), logging.FileHandler(tmp_path / "snakemake.log")
    console_handler = logging.StreamHandler(console)
    console_handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.handlers = [console_handler, file]
    try:
        logs.redact_records(logger)
        logs.redact_records(logger)  # once per logger
        logs.off_console("weekly.test_secrets.snakemake")
        logger.error("RegistryError: server http://alice:%s@host is unreachable", PLANTED)
    finally:
        file.close()
    assert console.getvalue() == "ERROR RegistryError: server http://alice:***@host is unreachable\n"
    assert (tmp_path / "snakemake.log").read_text() == "RegistryError: server http://alice:***@host is unreachable\n"
    assert [type(f) for f in logger.filters] == [logs.RedactingRecords]


def test_a_failure_alert_posts_and_records_no_secret(tmp_path, monkeypatch, webhook):
    """The failure alert reads the job's log: what it records and posts is redacted."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "another-secret-9")
    (tmp_path / "logs" / "register").mkdir(parents=True)
    (tmp_path / "logs" / "register" / "2022-01-16.log").write_text(
        f"2026 ERROR weekly.job: register failed: MLflow tracking server http://alice:{PLANTED}@127.0.0.1:1 "
        f"is unreachable (another-secret-9)\n")
    records = senders.alert_failures([senders.job_failure("register", "2022-01-16", ["logs/register/2022-01-16.log"])],
                                     validate_params({}))
    assert len(records) == 1 and records[0]["figures"]["rule"] == "register"
    assert records[0]["message"].endswith("MLflow tracking server http://alice:***@127.0.0.1:1 is unreachable (***)")
    assert records[0]["delivery"]["webhook"]["delivered"] and len(webhook.received) == 1
    assert find_secret(PLANTED, tmp_path / "reports", webhook.received) == []
    assert "another-secret-9" not in (tmp_path / "reports" / "alerts.jsonl").read_text()


def test_a_mail_and_a_post_carry_no_secret(tmp_path, monkeypatch, webhook, smtp):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "token-in-a-message")
    event = alerts.failure_event({"rule": "check", "week": None, "log": None,
                                  "message": f"http://u:{PLANTED}@h and token-in-a-message"}, [])
    mail_to = {"host": "127.0.0.1", "port": smtp.port, "security": "none", "to": ["risk@example.invalid"]}
    sent = senders.deliver(alerts.digest([event], "p"), channels(email=mail_to), {WEBHOOK_ENV: webhook.url})
    assert sent["webhook"]["delivered"] and sent["email"]["delivered"]
    mail = smtp.mails[0]["message"]
    assert PLANTED not in str(mail) and "token-in-a-message" not in str(mail)
    assert "http://u:***@h and ***" in mail.get_payload()
    assert find_secret(PLANTED, tmp_path, webhook.received) == []
    assert "token-in-a-message" not in json.dumps(webhook.received)


# --- the chain: a planted password goes nowhere -------------------------------------------------

class TrackingStub:
    """A tracking server on loopback that passes the chain's check at start (the search of
    registered models answers 200) and then drops every MLflow call unanswered, as a
    server killed during a call: MLflow's client raises with the URI in its message."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if "/registered-models/search" in self.path:
                    body = b"{}"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.close_connection = True  # no answer: the client sees the connection dropped

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["closed", "drops calls"])
def test_a_password_in_the_tracking_uri_is_written_and_sent_nowhere(tmp_path, webhook, server):
    """The chain with MLFLOW_TRACKING_URI holding a password fails and alerts: its server's
    port closed (the check at start stops it), or a server that passes the check and then
    drops MLflow's calls (the register step fails with MLflow's own error, which quotes the
    URI). The password is in no file of the project (.snakemake/log and logs/ included), no
    post and not on the console."""
    stub = TrackingStub() if server == "drops calls" else None
    try:
        root = make_project(tmp_path / "planted")
        port = stub.port if stub else free_port()
        env = {"MLFLOW_TRACKING_URI": f"http://alice:{PLANTED}@127.0.0.1:{port}", WEBHOOK_ENV: webhook.url}
        result = snakemake(root, "all_weeks", check=False, env=env)
    finally:
        if stub:
            stub.close()
    assert result.returncode != 0
    records = [json.loads(line) for line in (root / "reports" / "alerts.jsonl").read_text().splitlines()]
    failure = [r for r in records if r["condition"] == "failure"]
    assert failure and failure[0]["delivery"]["webhook"]["delivered"], records
    assert failure[0]["figures"]["rule"] == ("check" if server == "closed" else "register"), failure
    assert len(webhook.received) >= 1
    assert f"http://alice:***@127.0.0.1:{port}" in result.stderr + json.dumps(records)
    assert list((root / ".snakemake" / "log").iterdir())
    if stub:
        job_log = (root / "logs" / "register" / "2022-01-16.log").read_text()
        assert f"http://alice:***@127.0.0.1:{port}" in job_log, job_log
    assert find_secret(PLANTED, root, webhook.received, [result.stdout, result.stderr]) == []
