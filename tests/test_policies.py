"""Policies compared side by side: the policies file, each policy's params, and the real
comparison (Snakemake, MLflow) on the tiny project, with its shared fits."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import make_project, run, write_grid
from weekly import policies
from weekly.config import ConfigError, load_params
from weekly.io import read_json


def test_the_shipped_policies_file_is_valid(repo_root):
    project = load_params(repo_root / "params.yaml")
    table = policies.read_policies(repo_root / "policies.yaml")
    assert len(table) >= 5
    for name, overrides in table.items():
        params = policies.policy_params(project, name, overrides, Path("policies") / name)
        assert params["registry"]["alias"] == f"champion-policy-{name}"


@pytest.mark.parametrize("table, message", [
    ({"Bad Name": {}}, "policy name 'Bad Name'"),
    ({"late": {"data.label_delay_weeks": 2}}, "key 'data.label_delay_weeks': a policy changes only retrain and train"),
    ({"x": ["retrain.time.max_days", 30]}, "policy 'x': expected a mapping"),
    ({}, "expected a mapping 'policies:'"),
])
def test_a_bad_policies_file_is_refused_with_its_name_and_key(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message):
        policies.read_policies(write_grid(tmp_path / "policies.yaml", "policies", table))


def test_a_policy_is_the_project_params_with_its_overrides_on_the_project_files(repo_root):
    project = load_params(repo_root / "params.yaml")
    params = policies.policy_params(project, "monthly", {"retrain.time.max_days": 30, "train.window_weeks": 12},
                                    Path("policies/monthly"))
    assert params["retrain"]["time"]["max_days"] == 30 and params["train"]["window_weeks"] == 12
    assert params["retrain"]["drift"] == project["retrain"]["drift"]
    assert params["data"]["raw_dir"] == "../../data/raw" and params["data"]["generate"] is False
    assert params["registry"]["tracking_uri"] == "sqlite:///../../mlflow.db"
    assert params["registry"]["artifact_dir"] == "../../mlartifacts"
    assert project["registry"]["alias"] == "champion"  # the project's own params are left alone
    # a what-if alerts nobody: no webhook, no e-mail (its reports/alerts.jsonl still records)
    assert params["alerts"]["channels"]["webhook"]["url_env"] == "" and params["alerts"]["channels"]["email"]["host"] == ""
    assert project["alerts"]["channels"]["webhook"]["url_env"] == "WEEKLY_ALERT_WEBHOOK_URL"


@pytest.mark.parametrize("overrides, message", [
    ({"retrain.time.max_dayz": 30}, "policy 'p'.*max_dayz"),
    ({"retrain.time.max_days": "monthly"}, "policy 'p': key 'retrain.time.max_days'"),
    ({"train.nothing.here": 1}, "'train.nothing' is not a section"),
])
def test_a_bad_override_names_the_policy_and_the_key(repo_root, overrides, message):
    project = load_params(repo_root / "params.yaml")
    with pytest.raises(ConfigError, match=message):
        policies.policy_params(project, "p", overrides, Path("policies/p"))


def test_policies_backfill_side_by_side_sharing_fits_and_their_own_aliases(tmp_path):
    from mlflow import MlflowClient

    root = make_project(tmp_path / "project")
    # Both retrain on week 1 (initial) and on week 4 (every 21 days; the faster one also on
    # week 3): those fits are made once.
    write_grid(root / "policies.yaml", "policies", {"every-21d": {}, "every-14d": {"retrain.time.max_days": 14}})
    result = run(["python", "scripts/compare_policies.py", "--parallel", "1"], root)

    table = pd.read_csv(root / "reports/policies.csv")
    assert list(table["policy"]) == ["every-21d", "every-14d"]
    for row in table.itertuples():
        summary = read_json(root / "policies" / row.policy / "reports/summary.json")
        assert row.retrainings == summary["retrains"] and row.mean_macro_f1 == pytest.approx(summary["mean_macro_f1"])
        assert row.fits == 3 * summary["retrains"]  # both candidates and the winner's refit on every retraining week
    assert "every-14d" in result.stdout and "2 policies in" in result.stdout
    assert "every-21d" in (root / "reports/policies.svg").read_text()

    # the second policy copied the fits of the first one's retraining weeks, byte for byte
    first, second = root / "policies/every-21d", root / "policies/every-14d"
    shared = sorted({p.parent.parent.name for p in first.glob("models/*/lightgbm/model.txt")}
                    & {p.parent.parent.name for p in second.glob("models/*/lightgbm/model.txt")})
    assert "2022-01-16" in shared and len(shared) >= 2
    for path in (first / "models").glob("*/*/[!.]*"):
        twin = second / path.relative_to(first)
        if twin.exists():
            assert twin.read_bytes() == path.read_bytes(), twin
            folder, week = path.parent.name, path.parent.parent.name
            log = second / ("logs/register" if folder == "winner" else f"logs/train/{folder}") / f"{week}.log"
            assert "copied from the fit cache" in log.read_text()
    assert (first / "weeks/2022-01-16/candidates/catboost.json").read_text() == \
           (second / "weeks/2022-01-16/candidates/catboost.json").read_text()

    # each policy's alias names what its chain serves now; the production alias is not touched
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    for name in ("every-21d", "every-14d"):
        last = read_json(root / "policies" / name / "weeks/2022-03-06/tracker.json")
        assert str(client.get_model_version_by_alias("credit-scoring", f"champion-policy-{name}").version) == \
               str(last["model_version"])
    assert "champion" not in client.get_registered_model("credit-scoring").aliases
