"""Benchmark: how often the gains table's band test, a segment's PSI and the fairness
comparison speak up when nothing changes.

Backfills the real chain (`snakemake reports/summary.json`) on stationary generated weeks
(data.generator.drift false) brought in as a table of our own, with one more column,
`group`, drawn at random (A for 30 % of the applicants, B for the rest): carried, never
learned from, set as the protected attribute and as a segment beside `credit_mix`. Nothing
about the applicants, the outcomes or the groups changes over the weeks, so every band
flagged, every segment PSI over its critical value and every group outside the fairness
band is a false alarm. Counted over the judged evidence windows:

- windows with at least one band flagged (target: at most score.alpha, Holm over the bands);
- segment groups whose PSI passed its critical value (target: about score.alpha);
- windows with a group of `group` outside the band beyond sampling error, and the fairness
  alerts (onsets) the chain raised.

  python benchmarks/review_alarms.py                          # both portfolios, to 2023-06-25
  python benchmarks/review_alarms.py --only binary-60 --end 2022-12-25
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backfill import environment, prepare  # noqa: E402
from false_alarms import merge  # noqa: E402

from weekly.inputs.generate import generate_week  # noqa: E402
from weekly.lifecycle import weeks as chain_weeks  # noqa: E402

SCENARIOS = {
    "three-class-1500": {"rows": 1500, "event_rate": None, "classes": ["Poor", "Standard", "Good"], "retrain": {}},
    "binary-60": {"rows": 60, "event_rate": 0.03, "classes": ["No", "Yes"],
                  "retrain": {"performance": {"floor": None}}},
    # the same without the refit: the serving model is the fit its validation rows were scored by
    "binary-60-no-refit": {"rows": 60, "event_rate": 0.03, "classes": ["No", "Yes"],
                           "retrain": {"performance": {"floor": None}}, "train": {"refit": False}},
}


def table(params: dict, rows: int, event_rate: float | None, classes: list[str]) -> pd.DataFrame:
    """Every raw week of the chain, stationary, with the random `group` column."""
    cols = params["data"]["columns"]
    frames = []
    for week in chain_weeks.raw_weeks(params["start"], params["end"], params["train"]["max_window_weeks"], 0):
        frame = generate_week(dt.date.fromisoformat(week), rows, params["seed"], drift=False, event_rate=event_rate,
                              classes=classes)
        rng = np.random.default_rng([params["seed"], dt.date.fromisoformat(week).toordinal()])
        frames.append(frame.assign(group=np.where(rng.random(len(frame)) < 0.3, "A", "B")))
    out = pd.concat(frames, ignore_index=True)
    out[cols["date"]] = out[cols["date"]].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def run(folder: Path, scenario: dict, end: str) -> Path:
    prepare(folder, end)
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params = merge(params, {"data": {"generate": False, "raw_dir": "data/own"}, "retrain": scenario["retrain"],
                            "train": scenario.get("train", {})})
    params["data"]["columns"] = {**params["data"]["columns"], "classes": scenario["classes"],
                                 "segments": {"credit_mix": None, "group": None}, "protected": "group"}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    table(params, scenario["rows"], scenario["event_rate"], scenario["classes"]).to_csv(folder / "table.csv",
                                                                                        index=False)
    for args in (["weekly", "import", "table.csv"],
                 ["snakemake", "--cores", "2", "reports/summary.json", "reports/alerts.json"]):
        done = subprocess.run(args, cwd=folder, env=environment(), capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{folder}: {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return folder


def count(folder: Path) -> dict:
    weeks = sorted(p.name for p in (folder / "weeks").iterdir())
    judged = [e["pooled"] for w in weeks if (p := folder / "weeks" / w / "eval.json").exists()
              and (e := json.loads(p.read_text()))["pooled"]["judged"]]
    psi = [g["psi_moved"] for p in judged for groups in p["segments"].values() for g in groups.values()
           if g["psi"] is not None]
    alerts = json.loads((folder / "reports" / "alerts.json").read_text())
    events = alerts["events"] if isinstance(alerts, dict) else alerts
    return {
        "weeks": len(weeks), "judged_windows": len(judged),
        "windows_with_a_band_flagged": sum(bool(p["gains"]["flagged_bands"]) for p in judged),
        "bands_tested": sum(b["p_value"] is not None for p in judged for b in p["gains"]["bands"]),
        "segment_psi_judged": len(psi), "segment_psi_moved": int(sum(psi)),
        "windows_with_a_group_outside": sum(bool(p["fairness"]["groups_outside"]) for p in judged),
        "fairness_alerts": sum(e["condition"] == "fairness" and e["kind"] == "onset" for e in events),
        "approval_ratio_range": [round(min(g["approval_ratio"]["value"] for p in judged
                                           for g in p["fairness"]["groups"].values()), 3),
                                 round(max(g["approval_ratio"]["value"] for p in judged
                                           for g in p["fairness"]["groups"].values()), 3)],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end", default="2023-06-25", help="last week of each backfill (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), help="these portfolios only")
    parser.add_argument("--work", default="benchmarks/out/review_alarms", help="where the chains run")
    args = parser.parse_args(argv)
    for name in args.only or SCENARIOS:
        result = count(run(Path(args.work) / name, SCENARIOS[name], args.end))
        print(json.dumps({"portfolio": name, **result}))


if __name__ == "__main__":
    main()
