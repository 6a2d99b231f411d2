"""The steps' guards and job logs, on tiny files written here (no Snakemake)."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import pandas as pd
import pytest

from helpers import REPO
from weekly.lifecycle import drift
from weekly.workflow import jobs
from weekly.workflow.steps.evaluate import evaluate as evaluate_step
from weekly.workflow.steps.predict import predict as predict_step
from weekly.workflow.steps.publish_tracker import publish_tracker as publish_tracker_step
from weekly.workflow.steps.train import train as train_step
from weekly.workflow.steps import register as register_module
from weekly.workflow.steps.common import REFERENCE, score_bands
from weekly.config import load_params
from weekly.inputs.data import DataError, application_columns, outcome_columns, segment_names
from weekly.errors import StepError
from weekly.inputs.generate import generate_week
from weekly.io import read_json, write_json, write_parquet
from weekly.logs import job_log

PARAMS = load_params(REPO / "params.yaml")
COLUMNS = PARAMS["data"]["columns"]
FITTING = {"recency_half_life_weeks": PARAMS["train"]["recency_half_life_weeks"], "refit": PARAMS["train"]["refit"],
           "threshold": PARAMS["train"]["threshold"], "resamples": 100, "bands": PARAMS["score"]["bands"]}
POOLING = PARAMS["evaluate"]
DRIFT_POLICY = PARAMS["retrain"]["drift"]
WEEK = "2022-01-16"


def week_files(tmp_path, week, rows=50):
    """A generated week's applications and outcomes files."""
    frame = generate_week(dt.date.fromisoformat(week), rows, 1)
    files = {}
    for kind, cols in (("applications", application_columns(COLUMNS)), ("outcomes", outcome_columns(COLUMNS))):
        files[kind] = str(tmp_path / kind / f"{week}.parquet")
        write_parquet(files[kind], frame[cols])
    return files


def test_train_refuses_a_window_whose_files_are_not_given(tmp_path):
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": True, "training_window": {
        "weeks": ["2022-01-02", "2022-01-09"], "train_weeks": ["2022-01-02"], "valid_weeks": ["2022-01-09"]}})
    files = week_files(tmp_path, "2022-01-09")
    with pytest.raises(StepError, match="no applications file given for week\\(s\\) 2022-01-02 of the training window"):
        train_step(
            algo="lightgbm", week=WEEK, decision=str(decision), window_applications=[files["applications"]],
            window_outcomes=[files["outcomes"]], candidate=str(tmp_path / "candidate.json"),
            model=str(tmp_path / "model"), columns=COLUMNS, hyper=PARAMS["train"]["lightgbm"], fitting=FITTING, seed=1, threads=1,
        )
    assert not (tmp_path / "candidate.json").exists() and not (tmp_path / "model").exists()


def test_train_on_a_quiet_week_records_it_and_leaves_an_empty_model_folder(tmp_path):
    decision = tmp_path / "decision.json"
    write_json(decision, {"retrain": False, "training_window": None})
    record = train_step(
        algo="catboost", week=WEEK, decision=str(decision), window_applications=[], window_outcomes=[],
        model=str(tmp_path / "model"), candidate=str(tmp_path / "candidate.json"), columns=COLUMNS,
        hyper=PARAMS["train"]["catboost"], fitting=FITTING, seed=1, threads=1,
    )
    assert record == read_json(tmp_path / "candidate.json") == {"algo": "catboost", "week": WEEK, "trained": False}
    assert list((tmp_path / "model").iterdir()) == []


def test_a_fit_that_fails_names_the_week_and_the_algorithm(tmp_path):
    decision = tmp_path / "decision.json"
    weeks = ["2022-01-02", "2022-01-09"]
    write_json(decision, {"retrain": True, "training_window": {"weeks": weeks, "train_weeks": weeks[:1],
                                                               "valid_weeks": weeks[1:]}})
    files = [week_files(tmp_path, w) for w in weeks]
    first = pd.read_parquet(files[0]["outcomes"]).assign(credit_score="Poor")  # one class only: CatBoost refuses
    first.to_parquet(files[0]["outcomes"], index=False)
    with pytest.raises(StepError, match="week 2022-01-16: catboost failed to fit on 50 rows: .*All train targets are equal"):
        train_step(
            algo="catboost", week=WEEK, decision=str(decision), window_applications=[f["applications"] for f in files],
            window_outcomes=[f["outcomes"] for f in files], candidate=str(tmp_path / "candidate.json"),
            model=str(tmp_path / "model"), columns=COLUMNS, hyper=PARAMS["train"]["catboost"], fitting=FITTING, seed=1, threads=1,
        )


def predictions(tmp_path, outcomes, ids):
    path = tmp_path / "preds.parquet"
    frame = pd.read_parquet(outcomes).set_index("application_id")
    applications = pd.read_parquet(Path(outcomes).parent.parent / "applications" / Path(outcomes).name)
    applications = applications.set_index("application_id").loc[ids]
    predicted = frame.loc[ids, "credit_score"].tolist()  # every prediction right, and sure of itself
    write_parquet(path, pd.DataFrame({
        "application_id": ids, "prediction": predicted,
        **{f"proba_{c}": [float(p == c) for p in predicted] for c in COLUMNS["classes"]},
        "model_version": "1", "model_type": "lightgbm",
        "score_band": [1 if p == "Poor" else 3 for p in predicted],  # three bands, the adverse class riskiest
        **{c: applications[c].to_numpy() for c in segment_names(COLUMNS)},
    }))
    return str(path)


def model_folder(tmp_path) -> str:
    """A model's folder holding only what evaluate reads of it: its score bands."""
    write_json(tmp_path / "model" / REFERENCE, {"bands": {"edges": [0.2, 0.6], "validation": None, "segments": {}}})
    return str(tmp_path / "model" / "model.txt")


def as_named(path: str) -> dict:
    """A model file as a tracker or a candidate names it: its path and its bytes' digest."""
    from weekly.workflow.provenance import file_digest

    return {"model_path": path, "model_sha256": file_digest(path)}


def evaluate(tmp_path, files, preds, min_rows=30):
    decision, tracker, drift = tmp_path / "decision.json", tmp_path / "tracker.json", tmp_path / "drift.json"
    write_json(decision, {"retrain": False, "reasons": []})
    if not tracker.exists():
        write_json(tracker, {"model_version": "1", "model_type": "lightgbm", "retrained": False,
                             "last_retraining_date": WEEK, "model_path": model_folder(tmp_path)})
    if not drift.exists():
        write_json(drift, {"week": WEEK, "features": {}, "score": 0.0})
    return evaluate_step(week=WEEK, decision=str(decision), tracker=str(tracker), preds=preds, drift=str(drift),
                          outcomes=files["outcomes"], evaluation=str(tmp_path / "eval.json"),
                          evidence=str(tmp_path / "evidence.parquet"), columns=COLUMNS,
                          pooling={**POOLING, "min_rows": min_rows, "resamples": 100}, scoring=PARAMS["score"],
                          fairness_band=[0.8, 1.25], psi_floor=0.1, seed=1)


def test_evaluate_refuses_outcomes_of_applications_not_scored(tmp_path):
    files = week_files(tmp_path, WEEK)
    ids = pd.read_parquet(files["applications"])["application_id"].tolist()
    with pytest.raises(StepError, match="1 outcome\\(s\\) of applications that .* did not score"):
        evaluate(tmp_path, files, predictions(tmp_path, files["outcomes"], ids[:-1]))
    assert not (tmp_path / "eval.json").exists()


def test_evaluate_scores_the_applications_with_an_outcome(tmp_path):
    files = week_files(tmp_path, WEEK)
    ids = pd.read_parquet(files["applications"])["application_id"].tolist()
    preds = predictions(tmp_path, files["outcomes"], ids[::-1])  # order does not matter
    pd.read_parquet(files["outcomes"]).head(40).to_parquet(files["outcomes"], index=False)  # 10 outcomes still to come
    result = evaluate(tmp_path, files, preds)
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0
    assert {c: r["auc"] for c, r in result["risk"]["per_class"].items()} == {c: 1.0 for c in COLUMNS["classes"]}
    assert result["risk"]["brier"] == 0.0 and result["risk"]["log_loss"] < 1e-9
    assert sum(result["predicted_mix"].values()) == pytest.approx(1.0)
    assert (result["rows"], result["applications"], result["too_small"]) == (40, 50, False)
    assert evaluate(tmp_path, files, preds, min_rows=41)["too_small"] is True


def test_an_empty_week_is_scored_and_evaluated(tmp_path):
    files = week_files(tmp_path, WEEK, rows=200)
    from weekly.modelling import models
    from weekly.inputs.data import read_labelled_weeks

    labelled = read_labelled_weeks([files["applications"]], [files["outcomes"]], [WEEK], COLUMNS)
    fitted = models.fit("lightgbm", labelled, COLUMNS, PARAMS["train"]["lightgbm"], 1, 1)
    (tmp_path / "model").mkdir()
    native = models.save("lightgbm", fitted, tmp_path / "model")
    from weekly.lifecycle.drift import reference

    raw = models.predict_proba("lightgbm", fitted, labelled, COLUMNS)
    write_json(tmp_path / "model" / REFERENCE, {**reference(labelled, COLUMNS, raw[:, 0]),
                                                "bands": score_bands(labelled, raw, labelled, raw, COLUMNS, 10)})
    write_json(tmp_path / "tracker.json", {"model_version": "1", "model_type": "lightgbm", **as_named(str(native)),
                                           "last_retraining_date": WEEK, "retrained": False})
    for kind in files:  # a holiday: no application, so no outcome
        pd.read_parquet(files[kind]).iloc[0:0].to_parquet(files[kind], index=False)
    preds = str(tmp_path / "preds.parquet")
    scored = predict_step(week=WEEK, tracker=str(tmp_path / "tracker.json"), applications=files["applications"],
                           preds=preds, drift=str(tmp_path / "drift.json"),
                           estimate=str(tmp_path / "estimate.json"), columns=COLUMNS,
                           drift_policy=DRIFT_POLICY, pooling=POOLING, scoring=PARAMS["score"], seed=1)
    assert read_json(tmp_path / "drift.json")["score"] is None
    assert scored.empty and list(scored.columns)[:3] == ["application_id", "application_date", "prediction"]
    result = evaluate(tmp_path, files, preds)
    assert result["rows"] == 0 and result["macro_f1"] is None and result["too_small"] is True


def test_steps_take_keywords_only():
    with pytest.raises(TypeError):
        publish_tracker_step("weeks/2022-01-16/tracker.json", "out.json")


def test_a_failing_step_writes_its_error_to_its_log(tmp_path):
    log = tmp_path / "logs" / "predict.log"
    with pytest.raises(Exception):
        jobs.run("predict", week=WEEK, tracker=str(tmp_path / "none.json"), applications="x", preds="y", drift="z",
                 estimate="e", columns=COLUMNS, drift_policy=DRIFT_POLICY, pooling=POOLING, scoring=PARAMS["score"], seed=1, log=str(log))
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
        jobs.run("predict", week=WEEK, tracker=str(tracker), applications=str(raw), preds=str(tmp_path / "p.parquet"),
                 drift=str(tmp_path / "drift.json"), estimate=str(tmp_path / "estimate.json"), columns=COLUMNS,
                 drift_policy=DRIFT_POLICY, pooling=POOLING, scoring=PARAMS["score"], seed=1, log=str(log))
    text = log.read_text()
    assert f"ERROR weekly.job: predict failed: {raw} (week {WEEK}): unreadable parquet file" in text
    assert "Traceback" not in text


def test_parallel_jobs_keep_their_own_logs(tmp_path):
    # Snakemake runs jobs as threads of one process: each job's log holds its own lines only.
    log = logging.getLogger("weekly.workflow.steps.predict")
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


GATE = {"enabled": True, "margin": 0.0, "alpha": 0.05}


def fitted(tmp_path, name, weeks, files, shuffle=False):
    """A lightgbm fitted on `weeks` of `files` (labels shuffled: a model that learned nothing), as a tracker or
    a candidate record names it."""
    from weekly.modelling import models
    from weekly.inputs.data import read_labelled_weeks

    frame = read_labelled_weeks([files[w]["applications"] for w in weeks], [files[w]["outcomes"] for w in weeks],
                                weeks, COLUMNS)
    if shuffle:
        frame["credit_score"] = frame["credit_score"].sample(frac=1, random_state=1).to_numpy()
    (tmp_path / name).mkdir()
    path = models.save("lightgbm", models.fit("lightgbm", frame, COLUMNS, {**PARAMS["train"]["lightgbm"],
                                                                            "num_iterations": 30}, 1, 1), tmp_path / name)
    return str(path)


def gate_setup(tmp_path):
    weeks = ["2022-01-02", "2022-01-09", "2022-01-16"]
    files = {w: week_files(tmp_path, w, rows=400) for w in weeks}
    window = {"weeks": weeks, "train_weeks": weeks[:2], "valid_weeks": weeks[2:]}
    applications = [files[w]["applications"] for w in weeks]
    outcomes = [files[w]["outcomes"] for w in weeks]
    return weeks, files, window, applications, outcomes


def test_the_gate_does_not_judge_a_serving_model_on_weeks_it_learned_from(tmp_path):
    weeks, files, window, applications, outcomes = gate_setup(tmp_path)
    serving = {"week": "2022-01-16", "model_version": "4", "model_type": "lightgbm", "model_path": "unused",
               "trained_until": "2022-01-16"}
    winner = {"algo": "lightgbm", "valid_metrics": {"macro_f1": 0.7}, "model_path": "unused"}
    args = (serving, winner, window, applications, outcomes, COLUMNS, GATE, POOLING)
    kept = register_module._challenger_gate(*args, ["time"], 1)
    assert kept["passed"] is False and kept["compared"] is False and kept["weeks"] == []
    assert "no fair comparison" in kept["why"] and "the serving model stays" in kept["why"]
    admitted = register_module._challenger_gate(*args, ["time", "performance"], 1)
    assert admitted["passed"] is True and "retraining was for evidence (performance)" in admitted["why"]


def test_the_gate_lets_a_challenger_in_only_beyond_sampling_error(tmp_path):
    weeks, files, window, applications, outcomes = gate_setup(tmp_path)
    good = fitted(tmp_path, "good", weeks[:2], files)
    blind = fitted(tmp_path, "blind", weeks[:2], files, shuffle=True)
    challenger = {"algo": "lightgbm", "valid_metrics": {"macro_f1": 0.7}, **as_named(good)}
    blind_serving = {"week": "2022-01-16", "model_version": "4", "model_type": "lightgbm", **as_named(blind),
                     "trained_until": "2021-12-26"}
    better = register_module._challenger_gate(blind_serving, challenger, window, applications, outcomes, COLUMNS, GATE,
                                    {**POOLING, "resamples": 200}, ["time"], 1)
    assert better["compared"] and better["weeks"] == ["2022-01-16"] and better["rows"] == 400
    assert better["passed"] and better["p_value"] < 0.05 and better["difference"] > 0
    assert better["difference_interval"][0] > 0 and better["challenger_interval"][0] > better["serving_interval"][1]
    # the same model against itself: no difference, kept out
    same = {**blind_serving, **as_named(good)}
    tie = register_module._challenger_gate(same, challenger, window, applications, outcomes, COLUMNS, GATE,
                                 {**POOLING, "resamples": 200}, ["time"], 1)
    assert tie["compared"] and tie["difference"] == 0 and not tie["passed"] and tie["p_value"] > 0.5


def test_a_serving_model_predicting_one_class_gives_way_to_a_challenger_no_worse(tmp_path):
    weeks, files, window, applications, outcomes = gate_setup(tmp_path)
    good = fitted(tmp_path, "good", weeks[:2], files)
    # every outcome of the training weeks one class: a model that predicts it for everyone
    for w in weeks[:2]:
        frame = pd.read_parquet(files[w]["outcomes"]).assign(credit_score="Standard")
        frame.to_parquet(files[w]["outcomes"], index=False)
    stuck = fitted(tmp_path, "stuck", weeks[:2], files)
    serving = {"week": "2022-01-16", "model_version": "4", "model_type": "lightgbm", **as_named(stuck),
               "trained_until": "2021-12-26"}
    challenger = {"algo": "lightgbm", "valid_metrics": {"macro_f1": 0.7}, **as_named(good)}
    gate = register_module._challenger_gate(serving, challenger, window, applications, outcomes, COLUMNS,
                                  {**GATE, "margin": 0.9}, {**POOLING, "resamples": 100}, ["performance"], 1)
    # a margin no challenger clears, yet the serving model has stopped ranking: it gives way
    assert gate["serving_single_class"] and gate["passed"] and gate["p_value"] > 0.05
    assert "the serving model predicts one class only" in gate["why"]


def test_a_window_bigger_than_the_reference_sample_is_sampled_evenly(tmp_path, monkeypatch):
    """A portfolio's window: the reference distributions come from REFERENCE_ROWS evenly
    spaced training rows, and the window's own newest week is not drifted from them."""
    monkeypatch.setattr(drift, "REFERENCE_ROWS", 2_000)
    decision = tmp_path / "decision.json"
    weeks = ["2022-01-02", "2022-01-09", "2022-01-16"]
    write_json(decision, {"retrain": True, "training_window": {"weeks": weeks, "train_weeks": weeks[:2],
                                                               "valid_weeks": weeks[2:]}})
    files = [week_files(tmp_path, w, rows=3_000) for w in weeks]
    record = train_step(
        algo="lightgbm", week="2022-01-23", decision=str(decision),
        window_applications=[f["applications"] for f in files], window_outcomes=[f["outcomes"] for f in files],
        candidate=str(tmp_path / "candidate.json"), model=str(tmp_path / "model"), columns=COLUMNS,
        hyper=PARAMS["train"]["lightgbm"], fitting=FITTING, seed=1, threads=1,
    )
    reference = read_json(tmp_path / "model" / REFERENCE)
    assert record["train_rows"] == 6_000 and reference["rows"] == 2_000
    assert max(record["newest_week_psi"]["features"].values()) < 0.05  # sampling noise only
