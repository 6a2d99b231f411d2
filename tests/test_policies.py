"""Policies compared side by side: the policies file, each policy's params, and the real
comparison (Snakemake, MLflow) on the tiny project, with its shared fits."""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from helpers import make_project, run, write_grid
from weekly.commands import policies
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


WEEKS = ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06", "2022-02-13", "2022-02-20"]
SVG = "{http://www.w3.org/2000/svg}"


def tiny_comparison() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Three policies over six weeks, as `weekly policies` reads them: `monthly` has a week
    too small to judge (its line breaks there), `quarterly` and `with-drift` ended the same
    (one label for both); the last week awaits its outcomes."""
    def weekly(f1: list[float | None]) -> pd.DataFrame:
        return pd.DataFrame({"week": WEEKS, "macro_f1": f1, "evaluated": [True] * 5 + [False],
                             "too_small": [False, False, True, False, False, None]})

    table = pd.DataFrame([
        {"policy": "monthly", "overrides": "retrain.time.max_days=30", "mean_macro_f1": 0.8125, "worst_macro_f1": 0.78,
         "worst_week": "2022-02-06", "weeks_under_floor": 0, "retrainings": 3, "fits": 9, "training_seconds": 12.5},
        {"policy": "quarterly", "overrides": "retrain.time.max_days=90", "mean_macro_f1": 0.77, "worst_macro_f1": 0.70,
         "worst_week": "2022-02-13", "weeks_under_floor": 2, "retrainings": 1, "fits": 3, "training_seconds": 4.0},
        {"policy": "with-drift", "overrides": "retrain.drift.enabled=True", "mean_macro_f1": 0.77,
         "worst_macro_f1": 0.70, "worst_week": "2022-02-13", "weeks_under_floor": 2, "retrainings": 1, "fits": 3,
         "training_seconds": 4.0}])
    quarterly = [0.82, 0.80, None, 0.76, 0.70, None]
    return table, {"monthly": weekly([0.83, 0.82, 0.60, 0.78, 0.82, None]), "quarterly": weekly(quarterly),
                   "with-drift": weekly(quarterly)}


def test_the_comparison_is_drawn_as_svg_a_line_and_a_point_per_policy(tmp_path):
    table, weekly = tiny_comparison()
    policies.plot(table, weekly, 0.75, tmp_path / "reports/policies.svg")
    text = (tmp_path / "reports/policies.svg").read_text()
    root = ET.fromstring(text)  # well-formed, one chart
    assert root.tag == f"{SVG}svg" and root.get("id") == "policies-plot" and root.get("role") == "img"
    assert root.get("aria-label") and root.find(f"{SVG}title").text == root.get("aria-label")
    # over time: one line per policy, broken where the week was too small to judge (and before the week awaiting)
    lines = {p.get("data-policy"): p for p in root.iter(f"{SVG}path") if p.get("data-policy")}
    assert list(lines) == ["monthly", "quarterly", "with-drift"]
    assert [p.get("d").count("M") for p in lines.values()] == [2, 2, 2]
    assert len({p.get("stroke") for p in lines.values()}) == 3
    assert "mean weekly macro F1 0.8125" in lines["monthly"].find(f"{SVG}title").text
    monthly = [float(y) for y in re.findall(r",([\d.]+)", lines["monthly"].get("d"))]
    assert len(monthly) == 2 + 2 + 2 + 2  # two runs of two weeks, each held flat to its outer edges
    floor = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") == policies.FLOOR_COLOUR]
    assert len(floor) == 2 and all(ln.get("stroke-dasharray") for ln in floor)  # the floor, and its legend's swatch
    across = next(ln for ln in floor if float(ln.get("x2")) - float(ln.get("x1")) > 100)
    assert across.get("y1") == across.get("y2") and float(across.get("y1")) > max(monthly[:4])  # under 0.82 and 0.83
    # the trade-off: a point per policy, further right with more retrainings, higher with a better mean
    points = {c.get("data-policy"): c for c in root.iter(f"{SVG}circle") if c.get("data-policy")}
    assert list(points) == ["monthly", "quarterly", "with-drift"]
    assert float(points["monthly"].get("cx")) > float(points["quarterly"].get("cx"))
    assert float(points["monthly"].get("cy")) < float(points["quarterly"].get("cy"))
    assert points["quarterly"].get("cx") == points["with-drift"].get("cx")
    # text as text: the panels, the axes, the legend and the labels (the policies that ended the same share one)
    words = [t.text for t in root.iter(f"{SVG}text")]
    for expected in ("Weekly macro F1 of the serving model, by policy", "weekly macro F1", "week starting",
                     "models promoted (retrainings)", "mean weekly macro F1", "monthly", "quarterly",
                     "with-drift (same weeks as quarterly)", "performance floor 0.75", "16 Jan 2022", "20 Feb"):
        assert expected in words, expected
    labels = " ".join(t.text for t in root.iter(f"{SVG}text") if t.get("paint-order"))  # on one line or more, haloed
    assert labels == "monthly (0 wk < floor) quarterly, with-drift (2 wk < floor)"
    assert "<image" not in text and "matplotlib" not in text and "font-family=" in text


def test_the_comparison_svg_is_the_same_bytes_for_the_same_table(tmp_path):
    table, weekly = tiny_comparison()
    policies.plot(table, weekly, 0.75, tmp_path / "a.svg")
    policies.plot(table.copy(), {name: frame.copy() for name, frame in weekly.items()}, 0.75, tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    other = table.assign(mean_macro_f1=[0.8125, 0.77, 0.7701])
    policies.plot(other, weekly, 0.75, tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_bytes() != (tmp_path / "a.svg").read_bytes()


def test_the_comparison_without_a_floor_or_a_judged_week(tmp_path):
    table, weekly = tiny_comparison()
    table.loc[2, ["mean_macro_f1", "weeks_under_floor"]] = float("nan")
    weekly["with-drift"] = weekly["with-drift"].assign(evaluated=False, macro_f1=None)
    root = ET.fromstring(policies.comparison_svg(table, weekly, None))
    assert not [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") == policies.FLOOR_COLOUR]
    assert [p.get("data-policy") for p in root.iter(f"{SVG}path") if p.get("data-policy")] == list(weekly)
    assert [c.get("data-policy") for c in root.iter(f"{SVG}circle") if c.get("data-policy")] == ["monthly", "quarterly"]


def test_the_comparison_needs_no_matplotlib(tmp_path):
    code = ("import sys, pandas as pd; from weekly.commands import policies; "
            f"policies.plot(pd.DataFrame(columns=policies.COLUMNS), {{}}, 0.75, {str(tmp_path / 'p.svg')!r}); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "p.svg").read_text().startswith('<svg id="policies-plot"')


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
    plot = (root / "reports/policies.svg").read_text()
    assert plot.count('data-policy="every-21d"') == 2 and plot.count('data-policy="every-14d"') == 2  # line, point
    assert plot.startswith('<svg id="policies-plot"') and plot.count('id="policies-plot"') == 1

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
