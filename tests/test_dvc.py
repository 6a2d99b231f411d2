"""The real DVC on the tiny workflow: one week with `dvc repro`, policies with `dvc exp`."""
from __future__ import annotations

import csv
import io
import json

import pytest

from helpers import TINY_WEEKS, make_project, run

WEEK = "2022-02-06"  # week 4 of 8


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("dvc"), {"week": WEEK})
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "tiny project"], root)
    return root


def test_dvc_repro_builds_the_named_week_and_its_metrics(dvc_project):
    root = dvc_project
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
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline policy"], root)


def test_dvc_experiments_compare_retraining_policies(dvc_project):
    root = dvc_project
    run(["dvc", "exp", "run", "-n", "weekly-retrain", "-S", "retrain.time.max_days=7"], root)
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
