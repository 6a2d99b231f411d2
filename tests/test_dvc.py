"""The real DVC on the tiny workflow: one week with `dvc repro`, policies with `dvc exp`,
raw data that DVC sees. Each test makes and commits its own project."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd

from helpers import TINY_WEEKS, make_project, run

WEEK = "2022-02-06"  # week 4 of 8


def registry(root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def committed_project(root):
    root = make_project(root, {"week": WEEK})
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "tiny project"], root)
    return root


def test_dvc_repro_builds_the_named_week_and_its_metrics(tmp_path):
    root = committed_project(tmp_path / "repro")
    run(["dvc", "repro"], root)
    built = sorted(p.name for p in (root / "weeks").iterdir())
    assert built == [w for w in TINY_WEEKS if w <= WEEK]
    for name in ("decision.json", "tracker.json", "preds.parquet", "eval.json"):
        assert (root / "weeks" / WEEK / name).is_file()
    summary = json.loads((root / "reports" / "summary.json").read_text())
    assert summary["last_week"] == WEEK and summary["weeks"] == 4 and summary["retrains"] == 2

    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], root).stdout)
    shown = metrics[""]["data"]["reports/summary.json"]["data"]
    assert shown["retrains"] == 2 and shown["last_week_macro_f1"] == summary["last_week_macro_f1"]
    assert "up to date" in run(["dvc", "status"], root).stdout
    # whole sections are tracked: a key no one listed is still a parameter of the stage
    params = json.loads(run(["dvc", "params", "diff", "--all", "--json"], root).stdout)
    assert {"train.hist_gradient_boosting.max_iter", "registry.tracking_uri"} <= set(params["params.yaml"])


def test_a_changed_raw_file_is_seen_by_dvc(tmp_path):
    root = committed_project(tmp_path / "raw")
    run(["dvc", "repro"], root)
    changed = TINY_WEEKS[2]
    path = root / "data" / "raw" / "outcomes" / f"{changed}.parquet"
    raw = pd.read_parquet(path)
    raw.loc[:99, "credit_score"] = "Poor"  # relabel 100 rows
    raw.to_parquet(path, index=False)
    before = (root / "weeks" / changed / "eval.json").read_text()

    status = run(["dvc", "status", "--json"], root).stdout
    assert "all_weeks" in json.loads(status), status
    result = run(["dvc", "repro"], root)
    assert "Running stage 'all_weeks'" in result.stdout
    assert (root / "weeks" / changed / "eval.json").read_text() != before
    assert "up to date" in run(["dvc", "status"], root).stdout


def test_dvc_experiments_compare_retraining_policies(tmp_path):
    root = committed_project(tmp_path / "exp")
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline policy"], root)

    production = json.loads((root / "weeks" / WEEK / "tracker.json").read_text())["model_version"]
    run(["dvc", "exp", "run", "-n", "weekly-retrain", "-S", "retrain.time.max_days=7"], root)
    # the experiment has its own alias; the production alias still names production's model
    client = registry(root)
    assert str(client.get_model_version_by_alias("credit-scoring", "champion").version) == production
    experiment = json.loads((root / "weeks" / WEEK / "tracker.json").read_text())
    assert experiment["model_alias"] == "champion-weekly-retrain"
    assert str(client.get_model_version_by_alias("credit-scoring", "champion-weekly-retrain").version) == experiment["model_version"]
    diff = run(["dvc", "params", "diff", "--json"], root).stdout
    assert "retrain.time.max_days" in diff
    # the experiment's results are in the workspace: compare them with the committed baseline
    metrics = json.loads(run(["dvc", "metrics", "diff", "--json"], root).stdout)
    retrains = metrics["reports/summary.json"]["retrains"]
    assert (retrains["old"], retrains["new"]) == (2, 4)
    table = list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv"], root).stdout)))
    by_name = {row["Experiment"] or row["rev"]: row for row in table}
    assert by_name["weekly-retrain"]["retrains"] == "4"  # every week retrains
    assert by_name["weekly-retrain"]["retrain.time.max_days"] == "7"
    baseline = next(row for row in table if row["typ"] == "baseline" and row["rev"] != "workspace")
    assert baseline["retrains"] == "2" and baseline["retrain.time.max_days"] == "21"
    plots = run(["dvc", "plots", "show", "--json"], root).stdout
    assert "reports/weekly.csv" in plots


def test_a_queued_experiment_registers_into_the_projects_store(tmp_path):
    # Queued experiments run in a temporary copy of the project: their registrations must
    # still land in the project's own MLflow store, under their own alias.
    root = committed_project(tmp_path / "queue")
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline policy"], root)
    production = str(registry(root).get_model_version_by_alias("credit-scoring", "champion").version)
    run(["dvc", "exp", "run", "--queue", "-n", "queued-weekly", "-S", "retrain.time.max_days=7"], root)
    run(["dvc", "exp", "run", "--run-all"], root)
    client = registry(root)
    queued = client.get_model_version_by_alias("credit-scoring", "champion-queued-weekly")
    assert queued.tags["week"] == WEEK  # every week retrains under this policy
    assert str(client.get_model_version_by_alias("credit-scoring", "champion").version) == production
