"""The full default chain (155 weeks), once, with outcomes known four weeks late.

Slow (about a minute on 2 cores) but run in CI: a chain this deep once broke Snakemake's
DAG build (RecursionError), which the tiny chain cannot show.
"""
from __future__ import annotations

import json

import pytest

from helpers import make_project, snakemake, write_params
from weekly.lifecycle import weeks


@pytest.mark.slow
def test_the_default_backfill_with_outcomes_four_weeks_late(tmp_path):
    root = make_project(tmp_path / "full")
    # the project's params.yaml, k = 4; no reason codes (a third of the chain's time, tested on their own)
    write_params(root, {"data": {"label_delay_weeks": 4}, "score": {"reasons": 0}})
    result = snakemake(root, "all_weeks")
    chain = weeks.chain("2022-01-16", "2024-12-29")
    assert len(chain) == 155
    for week in chain:
        assert (root / "weeks" / week / "preds.parquet").is_file(), week
        decision = json.loads((root / "weeks" / week / "decision.json").read_text())
        if decision["training_window"]:
            assert decision["training_window"]["weeks"][-1] == weeks.newest_labelled(week, 4)
    evaluated = sorted(p.parent.name for p in (root / "weeks").glob("*/eval.json"))
    assert evaluated == chain[:-4]
    summary = json.loads((root / "reports" / "summary.json").read_text())
    assert summary["weeks"] == 155 and summary["awaiting_outcomes"] == 4 and summary["retrains"] >= 12
    assert summary["mean_macro_f1"] > 0.75
    assert result.stderr.count("\n2024-") >= 40  # one line per evaluated week on the console
    # the rate shock of 2023-03-05 moves interest rates far from the serving model's training rows
    psi = {w: json.loads((root / "weeks" / w / "drift.json").read_text())["features"]["interest_rate"]
           for w in ("2023-02-26", "2023-03-05")}
    assert psi["2023-02-26"] < 0.1 < 0.25 < psi["2023-03-05"]
