"""Benchmark: the performance estimated when a week is scored against the realized one once
its outcomes land (weekly.lifecycle.estimate).

Runs the real chain (`snakemake reports/summary.json`) with the outcomes 8 weeks late
(data.label_delay_weeks 8) on the default three-class data, on the same without its
gradual drift (data.generator.drift false), and on the binary rare-event portfolio
(3 % events), and reads each evaluated week's eval.json, where the estimate made
when it was scored is recorded beside the realized figures:

- over the weeks judged alone outside the 2023-03-05 shock (from the shock week until the
  first model promoted after it): the mean absolute error of the estimated macro F1 and AUC
  and the share of weeks whose interval (evaluate.estimate_confidence, 90 %) held the
  realized figure; the same over every week;
- the shock: the estimated and realized macro F1 of the weeks around it, and the mean of the
  8 weeks before it, as the estimate showed them while the outcomes were pending.

  python benchmarks/estimate.py                       # both portfolios, 155 weeks each
  python benchmarks/estimate.py --only three-class --end 2023-06-25
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent))
from false_alarms import BINARY, SHOCK, run  # noqa: E402

DELAY = {"data": {"label_delay_weeks": 8}}
SCENARIOS = {
    "three-class": DELAY,
    # the same data without its gradual drift (data.generator.drift false): no concept drift to miss
    "three-class-stationary": {"data": {"label_delay_weeks": 8, "generator": {"drift": False}}},
    "binary-3pct": {"data": {"label_delay_weeks": 8, "rows_per_week": 1500, "columns": BINARY,
                             "generator": {"event_rate": 0.03}},
                    "retrain": {"performance": {"floor": None}}},
}


def checked(folder: Path) -> dict:
    """The estimates of a backfilled chain against its outcomes (see the module docstring)."""
    weeks = sorted(p.name for p in (folder / "weeks").iterdir())
    trackers = {w: json.loads((folder / "weeks" / w / "tracker.json").read_text()) for w in weeks}
    evaluations = {w: json.loads(p.read_text()) for w in weeks if (p := folder / "weeks" / w / "eval.json").exists()}
    estimates = {w: json.loads((folder / "weeks" / w / "estimate.json").read_text()) for w in weeks}
    promoted_after = next((w for w in weeks if w > SHOCK and trackers[w]["retrained"]), weeks[-1])
    shock = [w for w in weeks if SHOCK <= w < promoted_after]

    def figures(chosen: list[str], metric: str) -> dict:
        rows = [evaluations[w]["estimate"][metric] for w in chosen
                if not evaluations[w]["too_small"] and evaluations[w]["estimate"][metric]["error"] is not None]
        if not rows:
            return {"weeks": 0}
        return {"weeks": len(rows), "mae": mean(abs(r["error"]) for r in rows),
                "coverage": mean(bool(r["covered"]) for r in rows), "bias": mean(r["error"] for r in rows)}

    evaluated = sorted(evaluations)
    quiet = [w for w in evaluated if w not in shock]
    before = [w for w in weeks if w < SHOCK][-8:]
    around = [w for w in weeks if w >= before[-3]][:8] if before else []
    return {
        "weeks": len(weeks), "evaluated": len(evaluated), "shock_weeks": shock,
        "confidence": next(iter(estimates.values()))["week_alone"].get("confidence"),
        "without_shock": {m: figures(quiet, m) for m in ("macro_f1", "auc")},
        "all_weeks": {m: figures(evaluated, m) for m in ("macro_f1", "auc")},
        "before_shock_estimated_macro_f1": mean(estimates[w]["week_alone"]["macro_f1"]["value"] for w in before)
        if before else None,
        "around_shock": [{"week": w, "estimated": estimates[w]["week_alone"]["macro_f1"],
                          "realized": evaluations[w]["macro_f1"] if w in evaluations else None,
                          "estimated_auc": estimates[w]["week_alone"]["auc"]["value"],
                          "realized_auc": evaluations[w]["estimate"]["auc"]["realized"] if w in evaluations else None}
                         for w in around],
    }


def _line(name: str, part: str, r: dict) -> str:
    f1, auc = r[part]["macro_f1"], r[part]["auc"]
    if not f1.get("weeks"):
        return f"{name:<12} {part}: no evaluated week"
    return (f"{name:<12} {part:<14} {f1['weeks']:>3} weeks: macro F1 MAE {f1['mae']:.4f} (bias {f1['bias']:+.4f}), "
            f"{r['confidence']:.0%} interval coverage {f1['coverage']:.1%}; AUC MAE {auc['mae']:.4f} "
            f"(bias {auc['bias']:+.4f}), coverage {auc['coverage']:.1%}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--end", help="last week of every chain (default: params.yaml end)")
    p.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run these scenarios only")
    p.add_argument("--out", default="benchmarks/out/estimate", help="working folder")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    results = {}
    for name in args.only or SCENARIOS:
        r = results[name] = checked(run(out / name, SCENARIOS[name], args.end))
        print(_line(name, "without_shock", r))
        print(_line(name, "all_weeks", r))
        if r["around_shock"] and r["shock_weeks"]:
            print(f"{name:<12} shock {SHOCK} (served until {r['shock_weeks'][-1] if r['shock_weeks'] else '-'}): "
                  f"estimated macro F1 of the 8 weeks before it {r['before_shock_estimated_macro_f1']:.3f}")
            for a in r["around_shock"]:
                e = a["estimated"]
                real = "pending" if a["realized"] is None else f"{a['realized']:.3f}"
                print(f"    {a['week']}  estimated {e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]  realized {real}"
                      f"  | AUC estimated {a['estimated_auc']:.3f} realized "
                      f"{'pending' if a['realized_auc'] is None else format(a['realized_auc'], '.3f')}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
