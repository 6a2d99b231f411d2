"""Bring your own data: other column names, a binary integer target, one table split into weeks."""
from __future__ import annotations

import json

import pandas as pd

from helpers import TINY_WEEKS, make_project, own_table, run, snakemake

COLUMNS = {
    "id": "loan_id",
    "date": "applied_on",
    "target": "defaulted",
    "classes": [0, 1],
    "numeric": ["income", "debt", "late_payments"],
    "categorical": ["region"],
}


def test_binary_target_with_own_columns_from_one_csv(tmp_path):
    root = make_project(tmp_path / "own", {"data": {"generate": False, "raw_dir": "data/own", "columns": COLUMNS}})
    own_table("2022-01-16", "2022-03-06", 6, yes_no=False).to_csv(root / "applications.csv", index=False)

    result = run(["python", "scripts/import_table.py", "--table", "applications.csv"], root)
    assert "wrote 14 weeks of applications and 14 of outcomes" in result.stdout
    assert sorted(p.stem for p in (root / "data" / "own" / "applications").glob("*.parquet"))[-1] == TINY_WEEKS[-1]

    snakemake(root, "all_weeks")
    preds = pd.read_parquet(root / "weeks" / TINY_WEEKS[-1] / "preds.parquet")
    assert list(preds.columns[:5]) == ["loan_id", "applied_on", "prediction", "proba_0", "proba_1"]
    assert set(preds["prediction"]) <= {"0", "1"}
    ev = json.loads((root / "weeks" / TINY_WEEKS[-1] / "eval.json").read_text())
    assert set(ev["per_class"]) == {"0", "1"} and ev["rows"] == 200
    assert ev["macro_f1"] > 0.6
    assert not (root / "data" / "raw").exists()  # nothing was generated
