"""Bring your own data: other column names, a binary integer target, one table split into
weeks, a segment column and a protected attribute that is no feature; what a reviewer reads
of it: reason codes, the gains table, the segments and a model card per version."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import TINY_WEEKS, make_project, own_table, registry_client, run, snakemake
from weekly.lifecycle import fairness
from weekly.modelling import reasons

COLUMNS = {
    "id": "loan_id",
    "date": "applied_on",
    "target": "defaulted",
    "classes": [0, 1],
    "numeric": ["income", "debt", "late_payments"],
    "categorical": ["region"],
    # a segment per region, and the applicant's age (no feature) banded and compared
    "segments": {"region": None, "applicant_age": [25, 35, 50]},
    "protected": "applicant_age",
}


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("own"), {"data": {"generate": False, "raw_dir": "data/own",
                                                                  "columns": COLUMNS}, "score": {"reasons": 3}})
    table = own_table("2022-01-16", "2022-03-06", 6, yes_no=False, applicant_age=True)
    table.to_csv(root / "applications.csv", index=False)
    result = run(["python", "scripts/import_table.py", "--table", "applications.csv"], root)
    assert "wrote 14 weeks of applications and 14 of outcomes" in result.stdout
    snakemake(root, "all_weeks")
    return root, table


def read(root, path):
    return json.loads((root / path).read_text())


def test_binary_target_with_own_columns_from_one_csv(own):
    root, _ = own
    assert sorted(p.stem for p in (root / "data" / "own" / "applications").glob("*.parquet"))[-1] == TINY_WEEKS[-1]
    preds = pd.read_parquet(root / "weeks" / TINY_WEEKS[-1] / "preds.parquet")
    assert list(preds.columns[:5]) == ["loan_id", "applied_on", "prediction", "proba_0", "proba_1"]
    assert set(preds["prediction"]) <= {"0", "1"}
    ev = read(root, f"weeks/{TINY_WEEKS[-1]}/eval.json")
    assert set(ev["per_class"]) == {"0", "1"} and ev["rows"] == 200
    assert ev["macro_f1"] > 0.6
    assert not (root / "data" / "raw").exists()  # nothing was generated
    # the protected attribute is carried, never learned from
    card = read(root, "models/2022-01-16/winner/card.json")
    assert "applicant_age" not in card["features"]["numeric"] + card["features"]["categorical"]


def test_every_scored_application_carries_its_reason_codes(own):
    root, table = own
    for week in TINY_WEEKS:
        preds = pd.read_parquet(root / "weeks" / week / "preds.parquet")
        assert reasons.columns(3) == [c for c in preds.columns if c.startswith("reason_")]
        assert set(preds["score_band"]) <= set(range(1, 11))
        # a reason is a feature that pushed toward the event (1, a default), with the row's value
        named = preds["reason_1"].dropna()
        assert len(named) > len(preds) / 2 and set(named) <= {"income", "debt", "late_payments", "region"}
        assert (preds["reason_1_contribution"].dropna() > 0).all()
        assert (preds["reason_1_contribution"].fillna(0) >= preds["reason_2_contribution"].fillna(0)).all()
    row = preds.dropna(subset=["reason_1"]).iloc[0]
    raw = table.set_index("loan_id").loc[row["loan_id"], row["reason_1"]]
    assert row["reason_1_value"] == (f"{float(raw):.6g}" if row["reason_1"] != "region" else str(raw))


def test_the_gains_table_is_the_pooled_window_banded_by_hand(own):
    root, _ = own
    week = TINY_WEEKS[-1]
    ev, tracker = read(root, f"weeks/{week}/eval.json"), read(root, f"weeks/{week}/tracker.json")
    bands = json.loads((root / tracker["model_path"]).with_name("reference.json").read_text())["bands"]
    window = pd.read_parquet(root / "weeks" / week / "evidence.parquet")
    assert sorted(set(window["week"]), reverse=True) == ev["pooled"]["weeks"]
    # by hand: the riskiest band first, each band's rows and defaults, the cumulative shares and KS
    edges = np.asarray(bands["edges"])
    n = len(edges) + 1
    event = window["outcome"].eq("1").to_numpy()
    table = ev["pooled"]["gains"]
    assert [b["band"] for b in table["bands"]] == list(range(1, n + 1))
    rows = [int((window["score_band"] == b).sum()) for b in range(1, n + 1)]
    events = [int(event[window["score_band"].to_numpy() == b].sum()) for b in range(1, n + 1)]
    assert [b["rows"] for b in table["bands"]] == rows and [b["events"] for b in table["bands"]] == events
    cum_events = np.cumsum(events) / sum(events)
    cum_other = np.cumsum(np.subtract(rows, events)) / (sum(rows) - sum(events))
    assert [b["cumulative_events"] for b in table["bands"]] == pytest.approx(cum_events.tolist())
    assert table["ks"] == pytest.approx(np.max(np.abs(cum_events - cum_other)))
    # the bands are the serving model's, cut on its training rows' probability of a default
    assert table["bands"][0]["score_low"] == pytest.approx(edges[-1])
    assert [b["validation_rows"] for b in table["bands"]] == bands["validation"]["rows"][::-1]


def test_segments_and_the_protected_attribute_match_a_hand_computation(own):
    root, table = own
    week = TINY_WEEKS[-1]
    pooled = read(root, f"weeks/{week}/eval.json")["pooled"]
    window = pd.read_parquet(root / "weeks" / week / "evidence.parquet")
    age = fairness.groups(window["applicant_age"], [25, 35, 50])
    assert set(pooled["segments"]["applicant_age"]) <= {"<25", "25-35", "35-50", ">=50"}
    assert set(pooled["segments"]["region"]) == set(window["region"].astype(str))
    declined = window["prediction"].eq("1").to_numpy()
    for group, figures in pooled["segments"]["applicant_age"].items():
        inside = (age == group).to_numpy()
        assert figures["rows"] == int(inside.sum())
        if figures["rows"]:
            assert figures["approval_rate"]["value"] == pytest.approx(1 - declined[inside].mean())
            assert figures["event_rate"]["value"] == pytest.approx(window["outcome"].eq("1").to_numpy()[inside].mean())
    compared = pooled["fairness"]
    assert compared["column"] == "applicant_age" and compared["band"] == [0.8, 1.25]
    overall = 1 - declined.mean()
    for group, figures in compared["groups"].items():
        inside = (age == group).to_numpy()
        assert figures["approval_ratio"]["value"] == pytest.approx((1 - declined[inside].mean()) / overall)


def test_each_registered_version_has_its_card_in_the_folder_and_in_mlflow(own):
    root, _ = own
    client = registry_client(root)
    versions = client.search_model_versions("name='credit-scoring'")
    trackers = [read(root, f"weeks/{w}/tracker.json") for w in TINY_WEEKS]
    assert {str(v.version) for v in versions} == {t["model_version"] for t in trackers}
    for version in versions:
        tracker = next(t for t in trackers if t["model_version"] == str(version.version))
        folder = (root / tracker["model_path"]).parent
        card = json.loads((folder / "card.json").read_text())
        assert card["version"] == str(version.version) and card["model_uri"] == f"models:/credit-scoring/{version.version}"
        assert version.tags["model_card"] == f"runs:/{version.run_id}/card/card.html"
        attached = {a.path for a in client.list_artifacts(version.run_id, "card")}
        assert attached == {"card/card.json", "card/card.html"}
        html = (folder / "card.html").read_text()
        assert f"version {version.version}" in html and "http://" not in html and "<script" not in html
    shown = run(["weekly", "card", "champion"], root).stdout
    assert f"Model card: credit-scoring version {trackers[-1]['model_version']}" in shown
    assert "Gains table" in shown and "Fairness" in shown and "applicant_age" in shown
