"""Faults of the chain's stores and files end in one clear line naming the store or file and
the fix (issue 23): a damaged MLflow store, a full disk, a file of the week before that does
not hold what the decision reads, a tracking server that stops answering during a call."""
from __future__ import annotations

import errno
import json
import logging
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from helpers import REPO, TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, snakemake
from test_registry import one_line, register
from weekly import io
from weekly.workflow import jobs
from weekly.workflow.steps.decide import decide as decide_step
from weekly.alerting.alerts import LOG_LINE
from weekly.config import load_params
from weekly.inputs.data import application_columns, outcome_columns, segment_names
from weekly.workflow.steps.common import REFERENCE
from weekly.errors import StateError
from weekly.inputs.generate import generate_week
from weekly.io import read_json, write_json, write_parquet
from weekly.logs import job_log

PARAMS = load_params(REPO / "params.yaml")
COLUMNS = PARAMS["data"]["columns"]


def said_once(result, said: str) -> str:
    """The run failed, saying `said` in one line (Snakemake repeats a job's error, from its
    log: always the same line) and with no traceback; that line from `said` on."""
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    lines = {line[line.index(said):] for line in output.splitlines() if said in line}
    assert len(lines) == 1, output
    return lines.pop()


# --- a damaged MLflow store ------------------------------------------------------------------------

def damage(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how == "truncated":
        db.write_bytes(data[:len(data) // 2])
    elif how == "header zeroed":
        db.write_bytes(bytes(100) + data[100:])
    else:
        db.write_bytes(b"\x8f garbage over the header " * 4 + data[100:])


@pytest.mark.parametrize("how", ["truncated", "header zeroed", "header garbage"])
def test_a_damaged_store_fails_the_registration_in_one_line(backfill, tmp_path, repo_root, how):
    root = clone(backfill[0], tmp_path / how.replace(" ", "-"))
    damage(root / "mlflow.db", how)
    result = register(root, repo_root, TINY_RETRAIN_WEEKS[1], previous=TINY_RETRAIN_WEEKS[0])
    line = one_line(result, "is damaged")
    assert "the MLflow store mlflow.db is damaged (DatabaseError: " in line
    assert "restore it from a backup" in line and "--forcerun register all_weeks" in line
    assert not (root / "out.json").exists()


@pytest.mark.parametrize("how", ["truncated", "header zeroed"])
def test_a_damaged_store_stops_the_chain_in_one_line(backfill, tmp_path, how):
    # The Snakefile's check at start reads every page of the store (SQLite's quick check): the run
    # stops there, before any job, in one line
    root = clone(backfill[0], tmp_path / how.replace(" ", "-"))
    damage(root / "mlflow.db", how)
    started = {str(p) for p in root.glob("logs/**/*.log")}
    result = snakemake(root, "--forcerun", "report", "all_weeks", check=False)
    line = said_once(result, "the MLflow store mlflow.db is damaged")
    assert "restore it from a backup" in line and "--forcerun register all_weeks" in line
    assert "Traceback" not in result.stdout + result.stderr
    assert not any(p.stat().st_mtime > (root / "mlflow.db").stat().st_mtime for p in root.glob("logs/**/*.log")
                   if str(p) in started), "a job ran"
    alerts = [json.loads(x) for x in (root / "reports" / "alerts.jsonl").read_text().splitlines()]
    assert any(a["condition"] == "failure" and "is damaged" in a["message"] for a in alerts), alerts


# --- a full disk ------------------------------------------------------------------------------------

def failing_step(exc: BaseException):
    def step():
        logging.getLogger("weekly.workflow.steps.evaluate").info("writing the week's files")
        raise exc

    return step


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_is_one_line_in_the_job_log_and_the_error_goes_on(tmp_path, code):
    log = tmp_path / "predict.log"
    full = OSError(code, "No space left on device", "weeks/x/preds.parquet")
    with pytest.raises(OSError) as raised, job_log(log, "predict"):
        failing_step(full)()
    assert raised.value is full  # as it was: Snakemake fails the job
    text = log.read_text()
    errors = [line for line in text.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "Traceback" not in text, text
    assert errors[0].endswith("ERROR weekly.job: predict failed: no space left on device writing "
                              "weeks/x/preds.parquet: free space and run again")
    assert LOG_LINE.search(errors[0]).group(2).startswith("no space left on device")  # the failure alert's line


def test_a_full_disk_without_a_file_name_names_the_step(tmp_path):
    log = tmp_path / "evaluate.log"
    with pytest.raises(OSError), job_log(log, "evaluate"):
        failing_step(OSError(errno.ENOSPC, "No space left on device"))()
    assert "evaluate failed: no space left on device while evaluate wrote its outputs: free space and run again" \
        in log.read_text()


def test_another_os_error_is_still_logged_with_its_traceback(tmp_path):
    log = tmp_path / "predict.log"
    with pytest.raises(PermissionError), job_log(log, "predict"):
        failing_step(PermissionError(errno.EACCES, "Permission denied", "weeks/x/preds.parquet"))()
    text = log.read_text()
    assert "predict failed with an unexpected error" in text and "Traceback" in text


def week_files(tmp_path: Path, week: str, rows: int = 60) -> dict:
    frame = generate_week(pd.Timestamp(week).date(), rows, 1)
    files = {}
    for kind, cols in (("applications", application_columns(COLUMNS)), ("outcomes", outcome_columns(COLUMNS))):
        files[kind] = str(tmp_path / kind / f"{week}.parquet")
        write_parquet(files[kind], frame[cols])
    return files


@pytest.mark.parametrize("output", ["evidence.parquet", "eval.json"])
def test_a_step_writing_onto_a_full_device_logs_one_line(tmp_path, monkeypatch, output):
    """A real ENOSPC from the kernel: the step's write goes to /dev/full. The steps write a
    temporary sibling and rename it, so a symlink to /dev/full in place of the output would
    just be replaced: the sibling itself is the symlink. Python's write (eval.json) fails
    when its buffer is flushed, pyarrow's (evidence.parquet) at its write, neither naming
    the file: the atomic write names it."""
    week = TINY_WEEKS[0]
    files = week_files(tmp_path, week)
    scored = pd.read_parquet(files["outcomes"])
    preds = tmp_path / "preds.parquet"
    write_parquet(preds, pd.DataFrame({
        "application_id": scored["application_id"], "prediction": scored["credit_score"],
        **{f"proba_{c}": (scored["credit_score"] == c).astype(float) for c in COLUMNS["classes"]},
        "model_version": "1", "model_type": "lightgbm", "score_band": 1,
        **{c: pd.read_parquet(files["applications"])[c] for c in segment_names(COLUMNS)}}))
    write_json(tmp_path / "decision.json", {"retrain": False, "reasons": []})
    write_json(tmp_path / "model" / REFERENCE, {"bands": {"edges": [0.5], "validation": None, "segments": {}}})
    write_json(tmp_path / "tracker.json", {"model_version": "1", "model_type": "lightgbm", "retrained": False,
                                           "model_path": str(tmp_path / "model" / "model.txt"),
                                           "last_retraining_date": week})
    write_json(tmp_path / "drift.json", {"week": week, "features": {}, "score": 0.0})
    target = tmp_path / "out" / output
    target.parent.mkdir()
    full = target.parent / f".{output}.full.tmp"
    full.symlink_to("/dev/full")
    sibling = io._sibling
    monkeypatch.setattr(io, "_sibling", lambda path: full if Path(path) == target else sibling(path))
    outputs = {"evaluation": str(target.parent / "eval.json"), "evidence": str(target.parent / "evidence.parquet")}
    log = tmp_path / "evaluate.log"
    with pytest.raises(OSError) as raised:
        jobs.run("evaluate", week=week, decision=str(tmp_path / "decision.json"), tracker=str(tmp_path / "tracker.json"),
                 preds=str(preds), drift=str(tmp_path / "drift.json"), outcomes=files["outcomes"],
                 columns=COLUMNS, pooling={**PARAMS["evaluate"], "resamples": 50}, scoring=PARAMS["score"],
                 fairness_band=[0.8, 1.25], psi_floor=0.1, seed=1, log=str(log),
                 **outputs)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    text = log.read_text()
    errors = [line for line in text.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "Traceback" not in text, text
    assert errors[0].endswith(f"evaluate failed: no space left on device writing {target}: free space and run again")
    assert not target.exists() and not full.is_symlink() and Path("/dev/full").is_char_device()


# --- a file of the week before that does not hold what the decision reads ---------------------------

PREVIOUS, WEEK = "2022-01-16", "2022-01-23"
TEST = {"psi": 0.01, "critical": 0.02, "significant": False}


def previous_files() -> dict:
    """What a week that kept its model leaves: nothing in them makes the next week retrain."""
    figure = {"value": 0.8, "se": 0.01, "low": 0.78, "high": 0.82}
    return {
        "tracker": {"week": PREVIOUS, "model_version": "1", "last_retraining_date": PREVIOUS, "model_type": "lightgbm",
                    "macro_f1_score": 0.8, "auc_score": 0.9, "validation_se": {"macro_f1": 0.01, "auc": 0.01}},
        "evaluation": {"week": PREVIOUS, "model_version": "1", "pooled": {
            "weeks": [PREVIOUS], "rows": 300, "judged": True, "why_not": None, "single_class": False,
            "predicted_classes": COLUMNS["classes"], "macro_f1": figure, "auc": figure}},
        "drift": {"week": PREVIOUS, "model_version": "1", "seen": None, "pooled": {
            "weeks": [PREVIOUS], "rows": 300, "judged": True, "why_not": None,
            "features": {"age": {**TEST, "moved": False}}, "score": TEST}},
    }


def decide(tmp_path: Path, files: dict) -> dict:
    """steps.decide of WEEK on the files of PREVIOUS (weeks/<PREVIOUS>/ as the chain names them)."""
    folder = tmp_path / "weeks" / PREVIOUS
    names = {"tracker": "tracker.json", "evaluation": "eval.json", "drift": "drift.json"}
    for kind, content in files.items():
        path = folder / names[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return decide_step(
        week=WEEK, decision=str(tmp_path / "decision.json"), window_outcomes=[], retrain=PARAMS["retrain"],
        window_weeks=6, valid_weeks=2, label_delay_weeks=0, guard={"min_rows": 1, "min_class_rows": 1},
        minimums=PARAMS["evaluate"], columns=COLUMNS, tracker=str(folder / "tracker.json"),
        evaluations=[str(folder / "eval.json")], drift=str(folder / "drift.json"),
    )


def test_the_files_of_a_quiet_week_decide_the_next(tmp_path):
    result = decide(tmp_path, previous_files())
    assert result["retrain"] is False and result["evaluation_seen"] == PREVIOUS
    assert read_json(tmp_path / "decision.json") == result


def without(record: dict, *path: str) -> dict:
    record = json.loads(json.dumps(record))
    part = record
    for key in path[:-1]:
        part = part[key]
    del part[path[-1]]
    return record


STATE = previous_files()


@pytest.mark.parametrize("kind, content, problem", [
    ("evaluation", {}, "eval.json: the evaluation that the decision of week 2022-01-23 reads lacks week, "
                       "model_version"),
    ("evaluation", [STATE["evaluation"]], "eval.json: the evaluation that the decision of week 2022-01-23 reads holds "
                                          "a list, not a JSON object"),
    ("evaluation", without(STATE["evaluation"], "pooled", "judged"), "lacks pooled.judged"),
    ("evaluation", without(STATE["evaluation"], "pooled", "macro_f1"), "lacks pooled.macro_f1"),
    ("evaluation", {**STATE["evaluation"], "pooled": [1]}, "lacks pooled (not an object)"),
    ("tracker", {}, "tracker.json: the tracker that the decision of week 2022-01-23 reads lacks model_version, "
                    "last_retraining_date"),
    ("tracker", without(STATE["tracker"], "last_retraining_date"), "reads lacks last_retraining_date:"),
    ("drift", {}, "drift.json: the drift that the decision of week 2022-01-23 reads lacks week, model_version"),
    ("drift", None, "drift.json: the drift that the decision of week 2022-01-23 reads holds null, not a JSON object"),
    ("drift", without(STATE["drift"], "pooled", "score"), "lacks pooled.score:"),
    ("drift", without(STATE["drift"], "pooled", "features", "age", "psi"), "lacks pooled.features.age.psi:"),
], ids=["eval-empty", "eval-list", "eval-no-judged", "eval-no-metric", "eval-pooled-list", "tracker-empty",
        "tracker-no-date", "drift-empty", "drift-null", "drift-no-score", "drift-no-feature-psi"])
def test_a_file_of_the_week_before_that_lacks_what_decide_reads_is_one_line(tmp_path, kind, content, problem):
    files = {**STATE, kind: content}
    with pytest.raises(StateError) as raised:
        decide(tmp_path, files)
    message = str(raised.value)
    assert "\n" not in message and problem in message, message
    name = {"tracker": "tracker.json", "evaluation": "eval.json", "drift": "drift.json"}[kind]
    assert message.startswith(f"{tmp_path / 'weeks' / PREVIOUS / name}: ")
    assert message.endswith(f"delete {tmp_path / 'weeks' / PREVIOUS}/ and run `snakemake all_weeks` to make it again")
    assert not (tmp_path / "decision.json").exists()


@pytest.mark.parametrize("content", ['{"week": "2022-01-16", "model_ver', b"\x89PNG\r\n\x1a\n\x00"],
                         ids=["cut-short", "binary"])
def test_an_evaluation_that_is_not_json_is_one_line(tmp_path, content):
    folder = tmp_path / "weeks" / PREVIOUS
    folder.mkdir(parents=True)
    (folder / "eval.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    files = {k: v for k, v in STATE.items() if k != "evaluation"}
    with pytest.raises(StateError, match=f"{folder / 'eval.json'}: not valid JSON .*delete it and run the chain again"):
        decide(tmp_path, files)


def test_an_empty_evaluation_stops_the_chain_in_one_line_and_the_fix_it_names_works(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "empty-eval")
    week = TINY_WEEKS[4]  # a week that kept its model; the next week's decision reads its evaluation
    (root / "weeks" / week / "eval.json").write_text("{}\n")
    result = snakemake(root, "all_weeks", check=False)
    line = said_once(result, f"weeks/{week}/eval.json: ")
    assert line == (f"weeks/{week}/eval.json: the evaluation that the decision of week {TINY_WEEKS[5]} reads lacks "
                    f"week, model_version: the file was cut short or edited; delete weeks/{week}/ and run "
                    f"`snakemake all_weeks` to make it again")
    job_log = (root / "logs" / "decide" / f"{TINY_WEEKS[5]}.log").read_text()
    assert "Traceback" not in job_log and f"decide failed: {line}" in job_log
    shutil.rmtree(root / "weeks" / week)
    snakemake(root, "all_weeks")
    assert read_json(root / "weeks" / week / "eval.json")["week"] == week


# --- a tracking server that stops answering during a call ------------------------------------------

class StoppedServer:
    """A tracking server on loopback that passes the chain's check at start (the search of
    registered models answers 200) and then, to every other call, closes the connection
    unanswered (a server killed during a call) or answers 503 (a server whose database,
    PostgreSQL behind it, is down)."""

    def __init__(self, answer: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.command == "GET" and "/registered-models/search" in self.path:
                    self.reply(200, b"{}")
                elif answer == "503":
                    self.reply(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE"}')
                else:
                    self.close_connection = True  # no answer: the client sees the connection dropped

            do_POST = do_PATCH = do_DELETE = do_GET

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("answer, said", [
    ("closes the connection", "stopped answering during a call (model-versions/search: remote end closed connection "
                              "without response): start it again and run again"),
    ("503", "answers 503: the server runs but its backend store (the database behind it) does not answer"),
])
def test_a_tracking_server_that_stops_answering_fails_the_registration_in_one_line(backfill, tmp_path, repo_root,
                                                                                    answer, said):
    root = clone(backfill[0], tmp_path / answer.replace(" ", "-"))
    server = StoppedServer(answer)
    try:
        env = {"MLFLOW_TRACKING_URI": server.uri, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
        result = register(root, repo_root, TINY_RETRAIN_WEEKS[1], previous=TINY_RETRAIN_WEEKS[0], env=env)
    finally:
        server.close()
    line = one_line(result, f"MLflow tracking server {server.uri}")
    assert f"MLflow tracking server {server.uri} {said}" in line, line
    assert not (root / "out.json").exists()
