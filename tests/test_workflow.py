"""Integration tests: the real Snakemake, MLflow, LightGBM and CatBoost on the tiny configuration."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from helpers import (TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, file_states, make_project, next_week, registry_client,
                     run, snakemake)
from weekly.config import load_params
from weekly.inputs.data import read_applications
from weekly.modelling import calibration, models, reasons
from weekly.modelling.algorithms import algorithm

CLASSES = ["Poor", "Standard", "Good"]


def read(root, path):
    return json.loads((root / path).read_text())


def test_every_week_has_its_four_files(backfill):
    root, _ = backfill
    for week in TINY_WEEKS:
        for name in ("decision.json", "tracker.json", "preds.parquet", "eval.json"):
            assert (root / "weeks" / week / name).is_file(), f"{week}/{name}"
    assert sorted(p.name for p in (root / "weeks").iterdir()) == TINY_WEEKS


def test_decisions_follow_the_chain(backfill):
    root, _ = backfill
    retrained = [w for w in TINY_WEEKS if read(root, f"weeks/{w}/decision.json")["retrain"]]
    assert retrained == TINY_RETRAIN_WEEKS
    first = read(root, f"weeks/{TINY_WEEKS[0]}/decision.json")
    assert first["reasons"] == ["initial"]
    fourth = read(root, "weeks/2022-02-06/decision.json")
    assert fourth["reasons"][0] == "time"  # (with drift: delay_from_due_date, just over its critical value)
    assert fourth["triggers"]["time"]["inputs"] == {"last_retraining_date": "2022-01-16", "days_since_last_retraining": 21}
    third = read(root, "weeks/2022-01-30/decision.json")
    assert third["triggers"]["time"]["inputs"]["days_since_last_retraining"] == 14 and not third["retrain"]


def test_trackers_carry_over_between_retrainings(backfill):
    root, _ = backfill
    previous = None
    for week in TINY_WEEKS:
        tracker = read(root, f"weeks/{week}/tracker.json")
        assert {"last_retraining_date", "model_name", "model_version", "model_type", "macro_f1_score",
                "registration_date", "model_path", "model_uri"} <= set(tracker)
        if week in TINY_RETRAIN_WEEKS:
            assert tracker["last_retraining_date"] == week and tracker["retrained"]
            # the winner refitted on the whole window serves
            assert tracker["model_path"] == f"models/{week}/winner/{algorithm(tracker['model_type']).native_file}"
            refit = read(root, f"models/{week}/winner/metrics.json")
            candidate = read(root, f"weeks/{week}/candidates/{tracker['model_type']}.json")
            assert refit["refit_rows"] == candidate["train_rows"] + candidate["valid_rows"]
            if previous:
                assert int(tracker["model_version"]) == int(previous["model_version"]) + 1
            scores = tracker["selection"]["scores"]
            assert set(scores) == {"lightgbm", "catboost"}
            assert tracker["macro_f1_score"] == max(scores.values())
        else:
            assert not tracker["retrained"]
            for key in ("last_retraining_date", "model_version", "model_type", "model_path", "macro_f1_score"):
                assert tracker[key] == previous[key]
        previous = tracker
    assert read(root, "models/last_retraining_date.json") == previous


def test_model_folders_hold_native_models_only_on_retraining_weeks(backfill):
    root, _ = backfill
    for week in TINY_WEEKS:
        for algo in ("lightgbm", "catboost"):
            record = read(root, f"weeks/{week}/candidates/{algo}.json")
            folder = root / "models" / week / algo
            assert record["trained"] is (week in TINY_RETRAIN_WEEKS)
            if record["trained"]:
                native = folder / algorithm(algo).native_file
                assert record["model_path"] == str(native.relative_to(root))
                assert record["model_sha256"] == hashlib.sha256(native.read_bytes()).hexdigest()
                assert set(record["libraries"]) == set(algorithm(algo).distributions)
                metrics = read(root, f"models/{week}/{algo}/metrics.json")
                assert metrics["valid"]["macro_f1"] == record["valid_metrics"]["macro_f1"]
                # point in time: trained on the six weeks before the week only
                assert record["window"][-1] < week and len(record["window"]) == 6
            else:
                # declared, and empty but for Snakemake's hidden timestamp
                assert folder.is_dir() and [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []
        winner = root / "models" / week / "winner"
        assert winner.is_dir() and bool([p for p in winner.iterdir() if not p.name.startswith(".")]) is (
            week in TINY_RETRAIN_WEEKS)


def test_predictions_and_evaluation_match_the_serving_model(backfill):
    root, _ = backfill
    for week in TINY_WEEKS:
        tracker = read(root, f"weeks/{week}/tracker.json")
        preds = pd.read_parquet(root / "weeks" / week / "preds.parquet")
        raw = pd.read_parquet(root / "data" / "raw" / "applications" / f"{week}.parquet")
        outcomes = pd.read_parquet(root / "data" / "raw" / "outcomes" / f"{week}.parquet")
        assert preds["application_id"].tolist() == raw["application_id"].tolist() == outcomes["application_id"].tolist()
        assert list(preds.columns) == ["application_id", "application_date", "prediction",
                                       "proba_Poor", "proba_Standard", "proba_Good", "model_version", "model_type",
                                       "score_band", "credit_mix", "age"]  # the tiny chains: score.reasons 0
        proba = preds[[f"proba_{c}" for c in CLASSES]].to_numpy()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        # the probabilities are the serving model's, calibrated; the class is its own decision on its raw ones
        params = load_params(root / "params.yaml")
        frame = read_applications(root / "data" / "raw" / "applications" / f"{week}.parquet", week,
                                  params["data"]["columns"])
        model = models.load(tracker["model_type"], root / tracker["model_path"], tracker["model_sha256"])
        raw_proba = models.predict_proba(tracker["model_type"], model, frame, params["data"]["columns"])
        np.testing.assert_allclose(proba, calibration.apply(raw_proba, tracker["calibration"], CLASSES), rtol=1e-9)
        assert (preds["prediction"] == np.asarray(CLASSES)[raw_proba.argmax(axis=1)]).all()
        assert set(preds["model_version"]) == {tracker["model_version"]}
        ev = read(root, f"weeks/{week}/eval.json")
        assert ev["model_version"] == tracker["model_version"] and ev["model_type"] == tracker["model_type"]
        assert ev["rows"] == ev["applications"] == len(raw) == 300 and ev["too_small"] is False
        assert ev["classes_present"] == CLASSES
        expected = f1_score(outcomes["credit_score"], preds["prediction"], labels=CLASSES, average="macro", zero_division=0)
        assert ev["macro_f1"] == pytest.approx(expected)
        assert set(ev["per_class"]) == set(CLASSES)
        assert sum(ev["per_class"][c]["support"] for c in CLASSES) == 300
        assert np.asarray(ev["confusion_matrix"]["matrix"]).sum() == 300
        assert ev["macro_f1"] > 0.5  # a sensible model, far above chance (0.33)
        for c in CLASSES:  # one-vs-rest AUC and Gini of the probabilities, as scikit-learn has them
            auc = roc_auc_score(outcomes["credit_score"] == c, preds[f"proba_{c}"])
            assert ev["risk"]["per_class"][c]["auc"] == pytest.approx(auc) and ev["risk"]["per_class"][c]["gini"] == pytest.approx(2 * auc - 1)
        assert ev["risk"]["log_loss"] > 0 and 0 < ev["risk"]["brier"] < 1
        assert ev["predicted_mix"] == {c: pytest.approx((preds["prediction"] == c).mean()) for c in CLASSES}
        drift = read(root, f"weeks/{week}/drift.json")
        assert set(drift["features"]) == set(raw.columns) - {"application_id", "application_date"}
        assert ev["psi"] == {"features": drift["features"], "score": drift["score"]}
        assert max(drift["features"].values()) < 0.25  # no shock in the tiny chain's weeks


def test_reports(backfill):
    root, _ = backfill
    weekly = pd.read_csv(root / "reports" / "weekly.csv")
    assert weekly["week"].tolist() == TINY_WEEKS
    assert weekly["retrained"].tolist() == [w in TINY_RETRAIN_WEEKS for w in TINY_WEEKS]
    summary = read(root, "reports/summary.json")
    assert summary["weeks"] == 8 and summary["retrains"] == 3
    assert sum(summary["wins"].values()) == 3
    assert summary["mean_macro_f1"] == pytest.approx(weekly["macro_f1"].mean())
    assert summary["worst_macro_f1"] == pytest.approx(weekly["macro_f1"].min())


def test_registry_holds_one_version_per_retraining(backfill):
    root, _ = backfill
    client = registry_client(root)
    versions = sorted(client.search_model_versions("name = 'credit-scoring'"), key=lambda v: int(v.version))
    assert [v.tags["week"] for v in versions] == TINY_RETRAIN_WEEKS
    for v in versions:
        tracker = read(root, f"weeks/{v.tags['week']}/tracker.json")
        assert str(v.version) == tracker["model_version"]
        assert v.tags["model_type"] == tracker["model_type"]
    champion = client.get_model_version_by_alias("credit-scoring", "champion")
    assert str(champion.version) == str(versions[-1].version)
    assert (root / "mlartifacts").is_dir() and not (root / "mlruns").exists()  # the embedded store's artifact folder
    experiment = client.get_experiment_by_name("credit-scoring-weekly")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted((r.data.tags["week"], r.data.tags["model_type"]) for r in runs) == sorted(
        (w, a) for w in TINY_RETRAIN_WEEKS for a in ("lightgbm", "catboost")
    )
    assert all("valid_macro_f1" in r.data.metrics for r in runs)


def test_champion_loads_from_the_registry_and_scores_raw_rows(backfill):
    import mlflow

    root, _ = backfill
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/credit-scoring@champion")
    assert model.metadata.signature is not None
    raw = pd.read_parquet(root / "data" / "raw" / "applications" / f"{TINY_WEEKS[-1]}.parquet").drop(
        columns=["application_id", "application_date"])
    served = model.predict(raw)
    assert list(served.columns) == [*(f"proba_{c}" for c in CLASSES), "prediction"]
    proba = served[[f"proba_{c}" for c in CLASSES]]
    preds = pd.read_parquet(root / "weeks" / TINY_WEEKS[-1] / "preds.parquet")
    np.testing.assert_allclose(proba.to_numpy(), preds[proba.columns].to_numpy(), rtol=1e-6)
    assert (served["prediction"] == preds["prediction"]).all()  # the class the weekly path predicts
    # asked for them, the reason codes the weekly path writes, from the serving model's own file
    explained = model.predict(raw, params={"reasons": 3})
    assert list(explained.columns) == [*served.columns, *reasons.columns(3)]
    tracker, columns = read(root, f"weeks/{TINY_WEEKS[-1]}/tracker.json"), load_params(root / "params.yaml")["data"]["columns"]
    native = models.load(tracker["model_type"], root / tracker["model_path"], tracker["model_sha256"])
    weekly = models.reason_codes(tracker["model_type"], native, read_applications(
        root / "data" / "raw" / "applications" / f"{TINY_WEEKS[-1]}.parquet", TINY_WEEKS[-1], columns), columns, 3)
    assert weekly["reason_1"].notna().sum() > len(weekly) / 2
    pd.testing.assert_frame_equal(explained[reasons.columns(3)], weekly, check_dtype=False)


def job_span(log):
    """Start and end of a job, from the timestamps of its log's first and last lines."""
    stamps = [dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f") for line in log.read_text().splitlines()]
    return stamps[0], stamps[-1]


def test_trainers_run_in_parallel(backfill):
    root, _ = backfill
    week = TINY_RETRAIN_WEEKS[0]
    (a_start, a_end), (b_start, b_end) = (job_span(root / "logs" / "train" / algo / f"{week}.log")
                                          for algo in ("lightgbm", "catboost"))
    assert a_start < b_end and b_start < a_end, "the two candidates of the first week never trained at the same time"


def test_console_shows_one_line_per_week(backfill):
    _, result = backfill
    lines = [line for line in result.stderr.splitlines() if re.match(r"\d{4}-\d{2}-\d{2}  ", line)]
    assert [line[:10] for line in lines] == TINY_WEEKS
    assert "retrain (initial)" in lines[0] and "keep" in lines[1] and "retrain (time" in lines[3]
    assert re.search(r"serving (lightgbm|catboost) v1 +macro F1 0\.\d{3} on 300 rows", lines[0])
    assert "rule train:" not in result.stderr and "Finished jobid" not in result.stderr  # no per-job lines
    assert "Created version" not in result.stderr  # MLflow's chatter goes to the register logs
    assert "Created version '1'" in (backfill[0] / "logs" / "register" / f"{TINY_RETRAIN_WEEKS[0]}.log").read_text()


def test_second_run_has_nothing_to_do_and_adds_no_version(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "again")
    before = file_states(root, "weeks/**/*")
    dry = snakemake(root, "-n", "all_weeks")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    snakemake(root, "all_weeks")
    assert file_states(root, "weeks/**/*") == before
    assert len(registry_client(root).search_model_versions("name = 'credit-scoring'")) == 3


def test_rerunning_a_registered_week_adds_no_version(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "rerun")
    week = TINY_RETRAIN_WEEKS[1]
    before = read(root, f"weeks/{week}/tracker.json")
    snakemake(root, "--force", f"weeks/{week}/tracker.json")
    after = read(root, f"weeks/{week}/tracker.json")
    assert after["model_version"] == before["model_version"]
    client = registry_client(root)
    assert len(client.search_model_versions("name = 'credit-scoring'")) == 3
    # re-registering an old week does not take the alias away from the latest winner
    assert client.get_model_version_by_alias("credit-scoring", "champion").tags["week"] == TINY_RETRAIN_WEEKS[-1]


def test_changing_a_later_week_leaves_earlier_weeks_untouched(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "pit")
    changed = "2022-02-13"  # week 5; weeks 1-4 must not move
    earlier = [w for w in TINY_WEEKS if w < changed]
    watched = [f"weeks/{w}/**/*" for w in earlier] + [f"models/{w}/**/*" for w in earlier] + [f"logs/*/{w}.log" for w in earlier]
    before = {pattern: states for pattern in watched if (states := file_states(root, pattern))}
    assert all(f"weeks/{w}/**/*" in before for w in earlier) and "models/2022-01-16/**/*" in before
    later_before = file_states(root, f"weeks/{changed}/preds.parquet")

    path = root / "data" / "raw" / "applications" / f"{changed}.parquet"
    raw = pd.read_parquet(path)
    raw["outstanding_debt"] = raw["outstanding_debt"] * 3
    raw.to_parquet(path, index=False)

    dry = snakemake(root, "-n", "all_weeks")
    for week in earlier:
        assert f"week={week}" not in dry.stdout + dry.stderr, f"{week} would be re-run"
    snakemake(root, "all_weeks")
    for pattern, state in before.items():
        assert file_states(root, pattern) == state, pattern
    assert file_states(root, f"weeks/{changed}/preds.parquet") != later_before  # the changed week was re-scored
    # week 7 retrains on a window holding the changed week: a new model, so a new version
    assert len(registry_client(root).search_model_versions("name = 'credit-scoring'")) == 4


def test_a_corrected_history_file_re_runs_every_decision_from_the_first(backfill, tmp_path):
    # A decision lists only the raw files its window adds (rules/decide.smk): a file from
    # before the chain is listed by the first decision alone, and the later ones follow.
    root = clone(backfill[0], tmp_path / "history")
    history = (dt.date.fromisoformat(TINY_WEEKS[0]) - dt.timedelta(days=7)).isoformat()
    path = root / "data" / "raw" / "outcomes" / f"{history}.parquet"
    outcomes = pd.read_parquet(path)
    outcomes.loc[0, "credit_score"] = "Good" if outcomes.loc[0, "credit_score"] != "Good" else "Poor"
    outcomes.to_parquet(path, index=False)

    dry = snakemake(root, "-n", "all_weeks")
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout, re.MULTILINE))
    assert planned.get("decide") == str(len(TINY_WEEKS)), dry.stdout  # the first week's, and every one after


def test_every_step_script_has_help(repo_root):
    for script in sorted((repo_root / "scripts").glob("*.py")):
        result = run(["python", str(script), "--help"], repo_root)
        assert "usage:" in result.stdout and "--params" in result.stdout, script.name


def test_a_step_run_by_hand_fails_with_its_message(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "missing")
    week = TINY_WEEKS[0]
    (root / f"data/raw/applications/{week}.parquet").unlink()
    preds = root / f"weeks/{week}/preds.parquet"
    preds.unlink()
    for outside in ([], ["--outside"]):  # Snakemake's job, or the step here
        result = run(["python", "scripts/predict.py", "--week", week, *outside], root, check=False)
        assert result.returncode == 1
        said = result.stdout + result.stderr
        assert (f"data/raw/applications/{week}.parquet (week {week}): missing week file" in said if outside
                else "MissingInputException" in said or "Missing input files" in said), said
        assert "Traceback" not in result.stderr and not preds.exists()


def test_workflow_passes_snakemake_lint(tmp_path):
    root = make_project(tmp_path / "lint")
    result = run(["snakemake", "--lint"], root, check=False)
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("output", ["eval.json", "preds.parquet", "drift.json"])
def test_a_week_outside_the_chain_is_a_clear_error(backfill, output):
    """predict and evaluate take plain patterns: the week's decision, which they follow, checks."""
    root, _ = backfill
    result = snakemake(root, "-n", f"weeks/2022-01-17/{output}", check=False)
    assert result.returncode != 0
    assert "2022-01-17 is not a week of the chain" in result.stdout + result.stderr


def test_moving_end_later_runs_only_the_new_week(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "next-week")
    before = {pattern: file_states(root, pattern) for pattern in ("weeks/**/*", "data/raw/**/*", "models/20*/**/*")}
    assert next_week(root) == "2022-03-13"

    dry = snakemake(root, "-n", "all_weeks")
    planned = set(re.findall(r"wildcards: .*?week=([\d-]+)", dry.stdout + dry.stderr))
    assert planned == {"2022-03-13"}
    snakemake(root, "all_weeks")
    for pattern, state in before.items():
        after = file_states(root, pattern)
        assert {k: v for k, v in after.items() if "2022-03-13" not in k} == state, pattern
    assert (root / "weeks" / "2022-03-13" / "eval.json").is_file()
    assert read(root, "models/last_retraining_date.json")["week"] == "2022-03-13"
    assert read(root, "reports/summary.json")["weeks"] == 9


def test_mlflow_holds_the_weekly_series_and_the_serving_history(backfill, tmp_path):
    import datetime as dt

    root = clone(backfill[0], tmp_path / "monitoring")
    client = registry_client(root)
    experiment = client.get_experiment_by_name("credit-scoring-weekly-monitoring")
    assert client.get_experiment_by_name("credit-scoring-weekly").tags["mlflow.experimentKind"] == "custom_model_development"
    (run,) = client.search_runs([experiment.experiment_id], "tags.chain = 'credit-scoring@champion'")
    history = client.get_metric_history(run.info.run_id, "macro_f1")
    weekly = pd.read_csv(root / "reports" / "weekly.csv")
    assert [m.step for m in history] == list(range(len(TINY_WEEKS)))
    assert [m.timestamp for m in history] == [
        int(dt.datetime.fromisoformat(w).replace(tzinfo=dt.timezone.utc).timestamp() * 1000) for w in TINY_WEEKS]
    np.testing.assert_allclose([m.value for m in history], weekly["macro_f1"])
    versions = [m.value for m in client.get_metric_history(run.info.run_id, "model_version")]
    assert versions == [float(v) for v in weekly["model_version"]]
    for version in client.search_model_versions("name = 'credit-scoring'"):
        assert version.description.startswith(f"Week {version.tags['week']}: ")
    # the report again (forced): the chain still has one monitoring run, the new one
    snakemake(root, "--force", "reports/summary.json")
    (again,) = client.search_runs([experiment.experiment_id], "tags.chain = 'credit-scoring@champion'")
    assert again.info.run_id != run.info.run_id
