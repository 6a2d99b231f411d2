"""The steps' guards and job logs, on tiny files written here (no Snakemake)."""
from __future__ import annotations

import datetime as dt
import logging
import threading

import pandas as pd
import pytest

from helpers import REPO
from weekly import steps
from weekly.config import load_params
from weekly.data import DataError
from weekly.errors import StepError
from weekly.generate import generate_week
from weekly.io import read_json, write_json, write_parquet
from weekly.logs import job_log

PARAMS = load_params(REPO / "params.yaml")
COLUMNS = PARAMS["data"]["columns"]
WEEK = "2022-01-16"


def raw_file(tmp_path, week, rows=50):
    path = tmp_path / "raw" / f"{week}.parquet"
    write_parquet(path, generate_week(dt.date.fromisoformat(week), rows, 1))
    return str(path)


def test_train_refuses_a_window_of_the_wrong_length(tmp_path):
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": True, "training_window": {
        "weeks": ["2022-01-02", "2022-01-09"], "train_weeks": ["2022-01-02"], "valid_weeks": ["2022-01-09"]}})
    with pytest.raises(StepError, match="1 window files given for the 2 weeks"):
        steps.train(
            algo="lightgbm", week=WEEK, decision=str(decision), window=[raw_file(tmp_path, "2022-01-09")],
            candidate=str(tmp_path / "candidate.json"), model=str(tmp_path / "model"), columns=COLUMNS,
            hyper=PARAMS["train"]["lightgbm"], seed=1, threads=1,
        )
    assert not (tmp_path / "candidate.json").exists() and not (tmp_path / "model").exists()


def test_train_on_a_quiet_week_records_it_and_leaves_an_empty_model_folder(tmp_path):
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": False, "training_window": None})
    record = steps.train(
        algo="catboost", week=WEEK, decision=str(decision), window=[], model=str(tmp_path / "model"),
        candidate=str(tmp_path / "candidate.json"), columns=COLUMNS, hyper=PARAMS["train"]["catboost"], seed=1, threads=1,
    )
    assert record == read_json(tmp_path / "candidate.json") == {"algo": "catboost", "week": WEEK, "trained": False}
    assert list((tmp_path / "model").iterdir()) == []


def predictions(tmp_path, raw, ids):
    path = tmp_path / "preds.parquet"
    frame = pd.read_parquet(raw)
    write_parquet(path, pd.DataFrame({
        "application_id": ids, "prediction": frame["credit_score"].iloc[: len(ids)].tolist(),
        "model_version": "1", "model_type": "lightgbm",
    }))
    return str(path)


@pytest.mark.parametrize("edit", ["other-order", "one-missing"])
def test_evaluate_refuses_predictions_of_other_rows(tmp_path, edit):
    raw = raw_file(tmp_path, WEEK)
    ids = pd.read_parquet(raw)["application_id"].tolist()
    ids = ids[::-1] if edit == "other-order" else ids[:-1]
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": False, "reasons": []})
    with pytest.raises(StepError, match="does not hold the ids of"):
        steps.evaluate(week=WEEK, decision=str(decision), preds=predictions(tmp_path, raw, ids), raw=raw,
                       evaluation=str(tmp_path / "eval.json"), columns=COLUMNS)
    assert not (tmp_path / "eval.json").exists()


def test_evaluate_scores_matching_predictions(tmp_path):
    raw = raw_file(tmp_path, WEEK)
    ids = pd.read_parquet(raw)["application_id"].tolist()
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": False, "reasons": []})
    result = steps.evaluate(week=WEEK, decision=str(decision), preds=predictions(tmp_path, raw, ids), raw=raw,
                            evaluation=str(tmp_path / "eval.json"), columns=COLUMNS)
    assert result["accuracy"] == 1.0 and result["rows"] == 50


def test_steps_take_keywords_only():
    with pytest.raises(TypeError):
        steps.publish_tracker("weeks/2022-01-16/tracker.json", "out.json")


def test_a_failing_step_writes_its_error_to_its_log(tmp_path):
    log = tmp_path / "logs" / "predict.log"
    with pytest.raises(Exception):
        steps.predict(week=WEEK, tracker=str(tmp_path / "none.json"), raw="x", preds="y", columns=COLUMNS, log=str(log))
    text = log.read_text()
    assert "predict started" in text and "predict failed with an unexpected error" in text
    assert "Traceback" in text and "FileNotFoundError" in text  # unexpected: the whole traceback


def test_an_expected_error_is_logged_as_its_message(tmp_path):
    log = tmp_path / "predict.log"
    tracker = tmp_path / "tracker.json"
    write_json(tracker, {"model_path": "m", "model_type": "lightgbm", "model_version": "1"})
    raw = tmp_path / f"{WEEK}.parquet"
    raw.write_bytes(b"not parquet")
    with pytest.raises(DataError):
        steps.predict(week=WEEK, tracker=str(tracker), raw=str(raw), preds=str(tmp_path / "p.parquet"),
                      columns=COLUMNS, log=str(log))
    text = log.read_text()
    assert f"ERROR weekly: predict failed: {raw} (week {WEEK}): unreadable parquet file" in text
    assert "Traceback" not in text


def test_parallel_jobs_keep_their_own_logs(tmp_path):
    # Snakemake runs jobs as threads of one process: each job's log holds its own lines only.
    log = logging.getLogger("weekly.steps")
    barrier = threading.Barrier(2)

    def job(name):
        with job_log(tmp_path / f"{name}.log", name):
            barrier.wait()
            log.info("line of %s", name)
            barrier.wait()

    threads = [threading.Thread(target=job, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = (tmp_path / "first.log").read_text(), (tmp_path / "second.log").read_text()
    assert "line of first" in first and "line of second" not in first
    assert "line of second" in second and "line of first" not in second
