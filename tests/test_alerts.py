"""Alerts: events derived from the weeks' files, sent once per onset and clear, as one
digest per run, to real receivers on loopback (an HTTP server, an SMTP server)."""
from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import TINY_OVERRIDES, TINY_WEEKS, clone, file_states, make_project, merge, snakemake, write_params
from weekly.alerting import alerts, senders
from weekly.config import ConfigError, validate_params

WEBHOOK_ENV = "WEEKLY_ALERT_WEBHOOK_URL"


# --- receivers ------------------------------------------------------------------------------

class Webhook:
    """An incoming-webhook receiver on loopback: keeps every JSON body POSTed to it."""

    def __init__(self):
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if self.path == "/moved":  # a receiver that moved: its old address redirects
                    self.send_response(302)
                    self.send_header("Location", "/hook")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"content_type": self.headers["Content-Type"], "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self):  # a page at the new address, as most hosts serve
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"<html>welcome</html>")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Blackhole:
    """A server that accepts connections and never answers: a receiver that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        for conn in self.held:
            conn.close()
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture
def blackhole():
    receiver = Blackhole()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp():
    """aiosmtpd on loopback; `.mails` holds each message received."""
    from aiosmtpd.controller import Controller

    class Inbox:
        mails: list = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append({"to": envelope.rcpt_tos, "message": message_from_bytes(envelope.content)})
            return "250 OK"

    inbox = Inbox()
    inbox.mails = []
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def channels(**overrides) -> dict:
    return merge(validate_params({})["alerts"]["channels"], overrides)


def email_to(port: int) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none", "to": ["risk-team@example.invalid"]}


# --- the events: pure ------------------------------------------------------------------------

def shift(psi):
    return {"psi": psi, "critical": 0.05, "significant": psi > 0.05, "moved": psi > 0.1}


def week(name, f1=0.8, version="1", retrained=False, too_small=False, psi=0.01, seen_psi=None, kept_because=None,
         evaluated=True):
    tracker = {"week": name, "model_name": "credit-scoring", "model_version": version, "model_type": "lightgbm",
               "model_uri": f"models:/credit-scoring/{version}", "retrained": retrained, "macro_f1_score": 0.83,
               **({"kept_because": kept_because} if kept_because else {})}
    pooled = {"weeks": [name], "first_week": name, "last_week": name, "rows": 10 if too_small else 300,
              "judged": not too_small, "why_not": "10 labelled rows, fewer than evaluate.min_rows 200" if too_small else None,
              "macro_f1": {"value": f1, "se": 0.002, "low": f1 - 0.004, "high": f1 + 0.004},
              "auc": {"value": 0.9, "se": 0.01, "low": 0.88, "high": 0.92},
              "single_class": False, "predicted_classes": ["a", "b"]}
    evaluation = {"week": name, "macro_f1": f1, "too_small": too_small, "rows": 10 if too_small else 300,
                  "min_rows": 200, "risk": {"auc": 0.9}, "pooled": pooled} if evaluated else None
    drift = {"week": name, "model_version": version,
             "pooled": {"weeks": [name], "rows": 300, "judged": True, "why_not": None,
                        "features": {"rate": shift(psi), "age": shift(0.01)}, "score": shift(0.01), "missing": {}},
             "seen": {"features": {"rate": shift(seen_psi)}, "score": shift(0.0)} if seen_psi is not None else None}
    return {"week": name, "tracker": tracker, "decision": {"reasons": ["time"] if retrained else [], "blocked": None},
            "drift": drift, "evaluation": evaluation}


RULES = alerts.settings(validate_params({}))


def ids(events):
    return [e["id"] for e in events]


def test_a_condition_alerts_when_it_starts_and_when_it_clears_not_while_it_persists():
    weeks = [week("2023-02-26"), week("2023-03-05", f1=0.70), week("2023-03-12", f1=0.72),
             week("2023-03-19", f1=0.74), week("2023-03-26", f1=0.78), week("2023-04-02", f1=0.70)]
    assert ids(alerts.events(weeks, RULES)) == [
        "performance:2023-03-05:onset", "performance:2023-03-26:clear", "performance:2023-04-02:onset"]
    onset = alerts.events(weeks, RULES)[0]
    # names the week, the condition, the figures, the serving model and where to look
    assert onset["figures"] == {"metric": "macro_f1", "value": 0.7, "interval": [0.696, 0.704], "floor": 0.75,
                                "weeks": "2023-03-05..2023-03-05", "rows": 300}
    assert onset["model"]["version"] == "1" and onset["model"]["type"] == "lightgbm"
    assert "weeks/2023-03-05/eval.json" in onset["files"] and onset["report"] == "reports/lifecycle.html"
    assert "week 2023-03-05" in onset["message"] and "0.7000 [0.6960, 0.7040] under its floor 0.75" in onset["message"]


def test_weeks_that_cannot_judge_leave_the_condition_as_it_was():
    # too small to judge, or outcomes not known yet: neither starts nor clears anything
    weeks = [week("2023-03-05", f1=0.70), week("2023-03-12", f1=0.95, too_small=True),
             week("2023-03-19", evaluated=False), week("2023-03-26", f1=0.70)]
    events = alerts.events(weeks, RULES)
    assert ids(events) == ["performance:2023-03-05:onset", "data:2023-03-12:onset", "data:2023-03-26:clear"]


def test_thresholds_default_to_the_triggers_and_can_be_their_own():
    params = validate_params({"retrain": {"performance": {"floor": 0.6}, "drift": {"threshold": 0.5}}})
    assert alerts.settings(params)["performance"]["floor"] == 0.6
    assert alerts.settings(params)["drift"]["threshold"] == 0.5
    own = validate_params({"alerts": {"conditions": {"performance": {"floor": 0.9, "metric": "auc"}}}})
    assert alerts.settings(own)["performance"] == {"enabled": True, "metric": "auc", "floor": 0.9, "alpha": 0.05,
                                                   "min_single_class_rows": 30}
    weeks = [week("2023-03-05", f1=0.5)]  # AUC 0.9 is not under 0.9
    assert alerts.events(weeks, alerts.settings(own)) == []


def test_a_model_predicting_one_class_alerts_before_its_window_is_judged():
    blind = week("2024-03-24", f1=0.49, too_small=True)
    blind["evaluation"]["rows"] = blind["evaluation"]["pooled"]["rows"] = 99
    blind["evaluation"]["pooled"].update(single_class=True, predicted_classes=["No"])
    events = alerts.events([week("2024-03-17"), blind], RULES)
    onset = next(e for e in events if e["condition"] == "performance")
    assert onset["id"] == "performance:2024-03-24:onset" and onset["figures"]["predicts_one_class"] == ["No"]
    assert "predicts only No over outcomes holding several classes" in onset["message"]


def test_drift_is_read_as_the_trigger_reads_it():
    # the shock moves `rate`; the model retrained after it has seen the move: cleared
    weeks = [week("2023-02-26"), week("2023-03-05", psi=2.4),
             week("2023-03-12", psi=2.3, version="2", retrained=True, seen_psi=2.4)]
    events = alerts.events(weeks, RULES)
    assert ids(events) == ["drift:2023-03-05:onset", "promotion:2023-03-12:event", "drift:2023-03-12:clear"]
    assert events[0]["figures"]["features_over"] == {"rate": 2.4}
    assert events[1]["figures"]["replaced"] == "lightgbm v1" and "lightgbm v2 promoted" in events[1]["message"]


def test_a_challenger_kept_out_and_switched_off_conditions():
    weeks = [week("2023-03-05", kept_because="challenger kept out: catboost 0.80 vs serving version 1 0.81"),
             week("2023-03-12", f1=0.5)]
    assert ids(alerts.events(weeks, RULES)) == ["challenger:2023-03-05:event", "performance:2023-03-12:onset"]
    quiet = alerts.settings(validate_params({"alerts": {"conditions": {"performance": {"enabled": False}}}}))
    assert ids(alerts.events(weeks, quiet)) == ["challenger:2023-03-05:event"]


def test_an_unknown_condition_or_channel_is_refused():
    with pytest.raises(ConfigError, match="alerts.conditions"):
        validate_params({"alerts": {"conditions": {"latency": {"enabled": True}}}})
    with pytest.raises(ConfigError, match="alerts.channels"):
        validate_params({"alerts": {"channels": {"pager": {}}}})
    with pytest.raises(ConfigError, match="alerts.channels.email.security"):
        validate_params({"alerts": {"channels": {"email": {"security": "tls"}}}})


def test_recorded_events_are_not_sent_again_and_a_failure_alerts_once_until_cleared():
    weeks = [week("2023-03-05", f1=0.70), week("2023-03-12")]
    derived = alerts.events(weeks, RULES)
    assert alerts.new_events(derived, derived[:1]) == derived[1:]
    failure = {"rule": "predict", "week": "2023-03-05", "log": "logs/predict/2023-03-05.log",
               "message": "data/raw/applications/2023-03-05.parquet (week 2023-03-05): unreadable parquet file"}
    first = alerts.failure_event(failure, [])
    assert first["week"] == "2023-03-05" and "data/raw/applications/2023-03-05.parquet" in first["message"]
    assert alerts.failure_event(failure, [first]) is None  # the same failure again: still open
    cleared = alerts.failures_cleared([first])
    assert [c["kind"] for c in cleared] == ["clear"] and alerts.failures_cleared([first, *cleared]) == []
    again = alerts.failure_event(failure, [first, *cleared])  # failing again after a clean run: a new onset
    assert again["id"] != first["id"]


def test_a_failed_jobs_error_is_the_line_its_log_ends_with(tmp_path, monkeypatch):
    expected = ("2026 INFO weekly.job: predict started\n"
                "2026 ERROR weekly.job: predict failed: data/raw/x.parquet (week 2022-02-20): bad\n")
    unexpected = ("2026 ERROR weekly.job: report failed with an unexpected error\nTraceback ...\n  File x\n"
                  "KeyError: 'macro_f1'\n")
    assert alerts.job_error(expected) == "data/raw/x.parquet (week 2022-02-20): bad"
    assert alerts.job_error(unexpected) == "KeyError: 'macro_f1'"
    assert alerts.job_error("2026 INFO weekly.job: predict started\n") is None and alerts.job_error(None) is None
    # a job's failure, for its alert: read from its own log (see tests/test_console.py for the records)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "predict.log").write_text(expected)
    assert senders.job_failure("predict", "2022-02-20", ["logs/predict.log"]) == {
        "rule": "predict", "week": "2022-02-20", "log": "logs/predict.log",
        "message": "data/raw/x.parquet (week 2022-02-20): bad"}
    assert senders.job_failure("report", None, ["logs/gone.log"])["message"] == "see logs/gone.log"


# --- the senders: real receivers on loopback ---------------------------------------------------

def test_one_digest_reaches_the_webhook_and_the_mailbox(webhook, smtp, tmp_path):
    weeks = [week("2023-03-05", f1=0.70, psi=2.4), week("2023-03-12", version="2", retrained=True, seen_psi=2.4)]
    derived = alerts.events(weeks, RULES)
    env = {WEBHOOK_ENV: webhook.url}
    records = senders.send_and_record(derived, tmp_path / "alerts.jsonl", channels(email=email_to(smtp.port)),
                                      "credit-scoring-weekly (champion)", env)
    assert len(webhook.received) == 1 and len(smtp.mails) == 1
    post = webhook.received[0]
    assert post["content_type"] == "application/json"
    body = post["body"]
    assert body["text"].startswith("[weekly] credit-scoring-weekly (champion): 5 alerts")
    assert "week 2023-03-05: performance alert" in body["text"] and body["count"] == 5
    assert [e["id"] for e in body["events"]] == ids(derived)
    mail = smtp.mails[0]
    assert mail["to"] == ["risk-team@example.invalid"]
    assert " ".join(mail["message"]["Subject"].split()) == body["text"].splitlines()[0]  # unfolded
    assert "drift alert" in mail["message"].get_payload()
    # the file keeps every event, each with where it went
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == ids(derived) and lines == records
    assert all(r["delivery"]["webhook"]["delivered"] and r["delivery"]["email"]["delivered"] for r in lines)


def mail_with_login(security: str, **server) -> tuple[dict, list, list]:
    """One digest by mail with the login set (security: the sender's), to an aiosmtpd on
    loopback that offers AUTH (`server`: its TLS settings). The delivery, each login it saw
    (user, password, whether the connection was encrypted), and the mails it took."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    seen, delivered = [], []

    def authenticate(server, session, envelope, mechanism, auth_data):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        seen.append((auth_data.login, auth_data.password, encrypted))
        return AuthResult(success=True)

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            delivered.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, authenticator=authenticate, **server)
    controller.start()
    try:
        result = senders.deliver(alerts.digest(alerts.events([week("2023-03-05", f1=0.7)], RULES), "p"),
                                 channels(email={**email_to(port), "security": security}),
                                 {"WEEKLY_SMTP_USER": "risk", "WEEKLY_SMTP_PASSWORD": "s3cret"})
    finally:
        controller.stop()
    return result, seen, delivered


def test_mail_never_sends_the_credentials_without_tls():
    # the local receiver offers AUTH on a plain connection: the sender must not log in there
    result, seen, delivered = mail_with_login("none", auth_require_tls=False)
    assert result["email"]["delivered"] is False and "without TLS" in result["email"]["error"]
    assert seen == [] and delivered == []


def self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.parametrize("trusted", [True, False])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd, on the TLS-only port
def test_mail_logs_in_over_tls_and_checks_the_servers_certificate(tmp_path, monkeypatch, security, trusted):
    """A real TLS mail server on loopback (STARTTLS on a plain port, or TLS from the first
    byte) that requires the login: the credentials go over TLS, and only to a server whose
    certificate the system trusts (here: SSL_CERT_FILE names the test's own certificate)."""
    import ssl

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", cert)
    else:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    # aiosmtpd offers AUTH only after its own STARTTLS (auth_require_tls): on a port that is
    # TLS from the first byte it cannot tell, and the helper records whether it was encrypted.
    tls = ({"tls_context": server_tls, "require_starttls": True} if security == "starttls"
           else {"ssl_context": server_tls, "auth_require_tls": False})
    result, seen, delivered = mail_with_login(security, auth_required=True, **tls)
    if trusted:
        assert result["email"]["delivered"] is True, result
        assert seen == [(b"risk", b"s3cret", True)] and len(delivered) == 1
    else:
        assert result["email"]["delivered"] is False and "CERTIFICATE_VERIFY_FAILED" in result["email"]["error"]
        assert seen == [] and delivered == []


@pytest.mark.parametrize("secret, said", [
    ("hooks.example.invalid/services/T000/SECRETTOKEN", "<webhook url>"),  # no scheme: urllib names the URL
    # a control character or a space: urllib's error quotes the path, escaped
    ("http://127.0.0.1:9/services/T000/SECRET\x01TOKEN", "control character or a space at position 40"),
    ("http://127.0.0.1:9/services/T000/SECRET TOKEN", "control character or a space"),
    ("http://127.0.0.1:9/services/T000/SECRET\x7fTOKEN", "control character or a space"),
    ("http://hooks.exa\tmple.invalid/services/T000/SECRETTOKEN", "control character or a space"),
])
def test_a_webhook_error_never_shows_its_url(secret, said, tmp_path):
    derived = alerts.events([week("2023-03-05", f1=0.7)], RULES)
    sent = senders.deliver(alerts.digest(derived, "p"), channels(), {WEBHOOK_ENV: secret})
    assert sent["webhook"]["delivered"] is False and said in sent["webhook"]["error"]
    assert "SECRET" not in json.dumps(sent) and "services" not in json.dumps(sent)
    # nor in the record of the alert that could not be delivered
    records = senders.send_and_record(derived, tmp_path / "alerts.jsonl", channels(), "p", {WEBHOOK_ENV: secret})
    assert said in records[0]["delivery"]["webhook"]["error"]
    assert "SECRET" not in (tmp_path / "alerts.jsonl").read_text()


def test_the_webhooks_unsendable_url_or_path_is_taken_out_of_any_error():
    url = "https://hooks.example.invalid/services/T000/SECRETTOKEN"
    said = "URL can't contain control characters. '/services/T000/SECRETTOKEN' (found at least ' ')"
    assert senders._without_url(said, url) == \
        "URL can't contain control characters. '<webhook url>' (found at least ' ')"
    assert senders._without_url(f"unknown url type: {url!r}", url) == "unknown url type: '<webhook url>'"


def test_a_webhook_that_redirects_is_not_taken_for_delivered(webhook):
    moved = webhook.url.replace("/hook", "/moved")
    sent = senders.deliver(alerts.digest(alerts.events([week("2023-03-05", f1=0.7)], RULES), "p"),
                           channels(), {WEBHOOK_ENV: moved})
    assert sent["webhook"]["delivered"] is False and webhook.received == []
    assert sent["webhook"]["error"].startswith("HTTP 302: the webhook URL redirects")
    assert "/moved" not in sent["webhook"]["error"] and "/hook" not in sent["webhook"]["error"]


def test_no_channel_configured_sends_nothing_and_the_file_still_records(tmp_path):
    derived = alerts.events([week("2023-03-05", f1=0.7)], RULES)
    records = senders.send_and_record(derived, tmp_path / "alerts.jsonl", channels(), "p", {})
    assert records[0]["delivery"] == {} and (tmp_path / "alerts.jsonl").read_text().count("\n") == 1


def test_a_dead_or_hanging_receiver_is_recorded_and_never_stalls(blackhole, tmp_path):
    derived = alerts.events([week("2023-03-05", f1=0.7)], RULES)
    settings = channels(timeout_seconds=0.5, email=email_to(blackhole.port))
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens
    started = time.monotonic()
    records = senders.send_and_record(derived, tmp_path / "alerts.jsonl", settings, "p", {WEBHOOK_ENV: dead})
    took = time.monotonic() - started
    # both channels at once, each two tries of 0.5 s (plus a 0.5 s pause): well under 3 s
    assert took < 3.0, took
    delivery = records[0]["delivery"]
    assert delivery["webhook"]["delivered"] is False and "Connection refused" in delivery["webhook"]["error"]
    assert delivery["email"]["delivered"] is False and delivery["email"]["attempts"] == 2
    assert "timed out" in delivery["email"]["error"]
    assert json.loads((tmp_path / "alerts.jsonl").read_text())["delivery"] == delivery


# --- the workflow: the real Snakemake on the tiny chain --------------------------------------

def read_log(root):
    path = root / "reports" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_the_backfill_sends_one_digest_and_a_rerun_sends_nothing_new(tmp_path, webhook, smtp):
    floor = 0.83  # the tiny chain's weekly macro F1 is 0.77-0.84 (+- ~0.02): some weeks under it beyond doubt
    root = make_project(tmp_path / "digest", {"alerts": {"conditions": {"performance": {"floor": floor},
                                                                        "drift": {"enabled": False},
                                                                        "fairness": {"enabled": False}},
                                                         "channels": {"email": email_to(smtp.port)}}})
    env = {WEBHOOK_ENV: webhook.url}
    snakemake(root, "all_weeks", env=env)
    assert len(webhook.received) == 1 and len(smtp.mails) == 1  # one digest, not one message per week

    # what the weeks' files say, worked out here on its own: onset when the evidence window's macro F1 is
    # under the floor beyond its sampling error (one-sided 95 %: value + 1.645 se), clear when it is not
    expected, under = [], False
    for w in TINY_WEEKS:
        tracker = json.loads((root / f"weeks/{w}/tracker.json").read_text())
        if tracker["retrained"]:
            expected.append(f"promotion:{w}:event")
        f1 = json.loads((root / f"weeks/{w}/eval.json").read_text())["pooled"]["macro_f1"]
        if (f1["value"] + 1.6449 * f1["se"] < floor) != under:
            under = not under
            expected.append(f"performance:{w}:{'onset' if under else 'clear'}")
    assert any(":onset" in e for e in expected)
    records = read_log(root)
    assert [r["id"] for r in records] == expected
    assert [e["id"] for e in webhook.received[0]["body"]["events"]] == expected
    assert all(r["delivery"]["webhook"]["delivered"] for r in records)
    derived = json.loads((root / "reports" / "alerts.json").read_text())
    assert [e["id"] for e in derived["events"]] == expected and "recorded_at" not in derived["events"][0]

    # re-running a week (and so every week after it, and the alerts) sends nothing new
    rerun = TINY_WEEKS[-2]
    snakemake(root, "--force", f"weeks/{rerun}/decision.json", f"weeks/{rerun}/eval.json", "reports/alerts.json",
              env=env)
    assert f"{len(expected)} in the chain, 0 new" in (root / "logs" / "alerts" / "alerts.log").read_text()
    assert len(webhook.received) == 1 and len(smtp.mails) == 1 and len(read_log(root)) == len(expected)


@pytest.mark.slow
def test_a_corrupt_file_alerts_once_naming_it_and_clears_when_the_chain_runs_through(backfill, tmp_path, webhook):
    root = clone(backfill[0], tmp_path / "corrupt")
    before = len(read_log(root))
    env = {WEBHOOK_ENV: webhook.url}
    bad = f"data/raw/applications/{TINY_WEEKS[5]}.parquet"
    good = (root / bad).read_bytes()
    (root / bad).write_bytes(b"not a parquet file")
    assert snakemake(root, "all_weeks", check=False, env=env).returncode != 0
    failures = read_log(root)[before:]
    assert len(failures) == 1 and len(webhook.received) == 1
    alert = failures[0]
    assert alert["condition"] == "failure" and alert["week"] == TINY_WEEKS[5] and alert["figures"]["rule"] == "predict"
    assert bad in alert["message"] and "unreadable parquet file" in alert["message"]
    assert alert["files"] == [f"logs/predict/{TINY_WEEKS[5]}.log"] and alert["delivery"]["webhook"]["delivered"]
    assert bad in webhook.received[0]["body"]["text"]

    # the same failure again: nothing new
    assert snakemake(root, "all_weeks", check=False, env=env).returncode != 0
    assert len(read_log(root)) == before + 1 and len(webhook.received) == 1

    (root / bad).write_bytes(good)
    snakemake(root, "all_weeks", env=env)
    cleared = read_log(root)[before + 1:]
    assert [(r["condition"], r["kind"]) for r in cleared] == [("failure", "clear")]
    assert len(webhook.received) == 2


def test_malformed_input_found_at_start_alerts_too(backfill, tmp_path, webhook):
    root = clone(backfill[0], tmp_path / "flat")
    (root / "data" / "raw" / "2022-01-16.parquet").write_bytes(b"old layout")
    # The checks run when jobs will (Snakemake's onstart): a finished chain gets one to run.
    result = snakemake(root, "all_weeks", "--forcerun", "alerts", check=False, env={WEBHOOK_ENV: webhook.url})
    assert result.returncode != 0 and "one-file-per-week layout" in result.stderr
    said = [line for line in result.stderr.splitlines() if "one-file-per-week layout" in line]
    assert len(said) == 1 and said[0].startswith("error: data/raw: holds 2022-01-16.parquet"), result.stderr
    assert 'File "' not in result.stderr  # one line, no traceback
    alert = read_log(root)[-1]
    assert alert["condition"] == "failure" and alert["figures"]["rule"] == "check"
    assert "data/raw: holds 2022-01-16.parquet" in alert["message"] and len(webhook.received) == 1
    recorded = len(read_log(root))
    snakemake(root, "-n", "all_weeks", "--forcerun", "alerts", check=False, env={WEBHOOK_ENV: webhook.url})
    assert len(read_log(root)) == recorded and len(webhook.received) == 1  # a look alerts nobody
    (root / "data" / "raw" / "2022-01-16.parquet").unlink()  # fixed: the next run with a job clears it
    snakemake(root, "all_weeks", "--forcerun", "alerts", env={WEBHOOK_ENV: webhook.url})
    assert read_log(root)[-1]["id"] == f"{alert['id']}:clear" and len(webhook.received) == 2


def test_a_week_file_that_has_not_arrived_alerts_naming_it(backfill, tmp_path, webhook):
    root = clone(backfill[0], tmp_path / "missing")
    write_params(root, merge(TINY_OVERRIDES, {"data": {"generate": False}, "end": "2022-03-13", "week": "2022-03-13"}))
    result = snakemake(root, "all_weeks", check=False, env={WEBHOOK_ENV: webhook.url})
    assert result.returncode != 0 and "Missing input files" in result.stderr
    alert = read_log(root)[-1]
    assert alert["condition"] == "failure" and alert["week"] == "2022-03-13"
    assert alert["message"].startswith("week 2022-03-13: failure alert: raw_data failed: "
                                       "data/raw/applications/2022-03-13.parquet (week 2022-03-13): missing")
    assert len(webhook.received) == 1
    snakemake(root, "all_weeks", check=False, env={WEBHOOK_ENV: webhook.url})  # still missing: no second alert
    assert len(webhook.received) == 1


def test_a_dead_receiver_adds_seconds_not_minutes_and_the_reports_stay_as_they_were(backfill, tmp_path, blackhole):
    root = clone(backfill[0], tmp_path / "dead")
    reports = file_states(root, "reports/*.csv") | file_states(root, "reports/summary.json")
    weeks = file_states(root, "weeks/**/*")
    (root / "reports" / "alerts.jsonl").unlink()  # as if never sent: every event is new
    write_params(root, merge(TINY_OVERRIDES, {"alerts": {"channels": {"email": email_to(blackhole.port)}}}))
    started = time.monotonic()
    snakemake(root, "all_weeks", env={WEBHOOK_ENV: f"http://127.0.0.1:{blackhole.port}/hook"})
    took = time.monotonic() - started
    log = (root / "logs" / "alerts" / "alerts.log").read_text()
    seconds = float(re.search(r"alerts done in ([\d.]+) s", log).group(1))
    # default settings: 3 s per try, one retry, both channels at once
    assert seconds < 8.0 and took < 60, (seconds, took)
    records = read_log(root)
    assert records and all(not r["delivery"][c]["delivered"] for r in records for c in ("webhook", "email"))
    assert "not delivered to webhook" in log
    assert file_states(root, "reports/*.csv") | file_states(root, "reports/summary.json") == reports
    assert file_states(root, "weeks/**/*") == weeks


def test_an_event_no_channel_took_is_sent_again_by_the_next_run():
    derived = alerts.events([week("2023-03-05", f1=0.7)], RULES)
    down = [{**e, "delivery": {"webhook": {"delivered": False, "error": "timed out"}}} for e in derived]
    taken = [{**e, "delivery": {"webhook": {"delivered": True}}} for e in derived]
    file_only = [{**e, "delivery": {}} for e in derived]
    assert alerts.new_events(derived, down) == derived
    assert alerts.new_events(derived, taken) == [] and alerts.new_events(derived, file_only) == []


def test_a_record_after_a_line_cut_by_a_crash_stays_whole(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "condi')  # kill -9 in the middle of a write
    senders.append_records(path, [{"id": "c"}, {"id": "d"}])
    assert [r["id"] for r in senders.read_records(path)] == ["a", "c", "d"]


def test_a_protected_group_outside_the_band_beyond_sampling_error_alerts_once_until_it_comes_back():
    import numpy as np
    import pandas as pd

    from weekly.lifecycle import fairness

    def judged(name, young_approved):
        # 200 applicants under 25 and 800 older, approved 90 % of the time; the young ones `young_approved`
        group = pd.Series(["<25"] * 200 + [">=25"] * 800)
        declined = np.r_[np.arange(200) >= 200 * young_approved, np.arange(800) >= 720]
        compared = fairness.compare(group, np.zeros(1000, dtype=bool), declined, 0.95, (0.8, 1.25))
        w = week(name)
        w["evaluation"]["pooled"]["fairness"] = {"column": "age", **compared}
        return w

    held = judged("2023-03-12", 0.68)
    ratio = held["evaluation"]["pooled"]["fairness"]["groups"]["<25"]["approval_ratio"]
    assert ratio["value"] < 0.8 < ratio["high"]  # under the band, within its sampling error
    weeks = [judged("2023-02-26", 0.88), judged("2023-03-05", 0.5), held, week("2023-03-19"),
             judged("2023-03-26", 0.86)]
    found = [e for e in alerts.events(weeks, RULES) if e["condition"] == "fairness"]
    # 0.5 / 0.82 = 0.61 with its interval under 0.8: an onset. A ratio under the band within its
    # sampling error, or a week without the figures, holds the state; every ratio inside clears it.
    assert ids(found) == ["fairness:2023-03-05:onset", "fairness:2023-03-26:clear"]
    assert list(found[0]["figures"]["outside"]) == ["<25"] and found[0]["figures"]["outside"]["<25"][1] < 0.8
    assert "age <25" in found[0]["message"] and "outside [0.8, 1.25]" in found[0]["message"]
    quiet = alerts.settings(validate_params({"alerts": {"conditions": {"fairness": {"enabled": False}}}}))
    assert not [e for e in alerts.events(weeks, quiet) if e["condition"] == "fairness"]
