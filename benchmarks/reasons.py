"""Benchmark: what reason codes cost a weekly batch (weekly.modelling.reasons).

Fits each algorithm on generated weeks (params.yaml's settings of each; scikit-learn's on
the numeric features only: its reasons come from shap, which reads numeric splits) and
scores 1,000-row batches twice: the probabilities alone (what a week cost before reason
codes) and the probabilities with the top score.reasons reason codes (the contributions,
their check against the raw score, the ranking). Prints milliseconds per 1,000 rows,
medians over the repeats, and the ratio.

With --backfill, it also times the default backfill from clean twice, with the reason
codes (params.yaml score.reasons) and without (score.reasons 0), the same work otherwise,
one after the other: what they add to the whole chain.

  python benchmarks/reasons.py
  python benchmarks/reasons.py --repeats 9 --rows 5000
  python benchmarks/reasons.py --backfill
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from statistics import median

import pandas as pd
import yaml

from weekly.config import read_yaml, validate_params
from weekly.inputs.generate import generate_week
from weekly.inputs.data import check_applications
from weekly.modelling import models
from weekly.modelling.algorithms import ALGORITHMS

START = dt.date(2022, 1, 16)
sys.path.insert(0, str(Path(__file__).resolve().parent))


def labelled_rows(columns: dict, weeks: int, rows: int, seed: int, event_rate: float | None) -> pd.DataFrame:
    """`weeks` generated weeks of `rows` applications with their labels, as the weekly files hold them."""
    parts = []
    for i in range(weeks):
        week = START + dt.timedelta(days=7 * i)
        frame = generate_week(week, rows, seed, event_rate=event_rate, classes=columns["classes"])
        checked = check_applications(frame.drop(columns=[columns["target"]]), columns, "generated", week.isoformat())
        parts.append(checked.assign(**{columns["target"]: frame[columns["target"]].astype(str).to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def timed(call, repeats: int) -> float:
    """The median wall time of `call` over `repeats` runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return median(times)


def backfills(work: Path, k: int) -> None:
    """The default backfill from clean with `k` reason codes and with none, timed."""
    from backfill import prepare, timed as timed_command

    seconds = {}
    for reasons in (k, 0):
        folder = prepare(work / f"reasons-{reasons}", None)
        params = yaml.safe_load((folder / "params.yaml").read_text())
        params["score"]["reasons"] = reasons
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        timed_command(["snakemake", "--cores", "2", "raw_data"], folder)  # the data is not what is timed
        seconds[reasons], _ = timed_command(["snakemake", "--cores", "2", "all_weeks"], folder)
    print(f"default backfill, 2 cores: {seconds[k]:.1f} s with {k} reason codes, {seconds[0]:.1f} s without: "
          f"ratio {seconds[k] / seconds[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows of each scored batch (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5; the median is shown)")
    parser.add_argument("--backfill", action="store_true", help="also time the default backfill with and without")
    parser.add_argument("--work", default="benchmarks/out/reasons", help="where the backfills run")
    args = parser.parse_args()
    params = validate_params(read_yaml("params.yaml"))
    k = params["score"]["reasons"] or 3
    print(f"reason codes (top {k}) per {args.rows:,} rows, median of {args.repeats} runs, 1 thread")
    print(f"{'portfolio':<12} {'algorithm':<24} {'probabilities ms':>17} {'+ reasons ms':>13} "
          f"{'reasons ms / 1,000 rows':>24} {'ratio':>6}")
    portfolios = {"three-class": (params["data"]["columns"], None),
                  "binary-3pct": ({**params["data"]["columns"], "classes": ["No", "Yes"]}, 0.03)}
    for portfolio, (columns, event_rate) in portfolios.items():
        columns = {**columns, "segments": {}, "protected": None}
        train = labelled_rows(columns, 8, 1500, params["seed"], event_rate)
        batch = labelled_rows(columns, 1, args.rows, params["seed"] + 1, event_rate)
        for algo in ALGORITHMS:
            cols = {**columns, "categorical": []} if algo == "hist_gradient_boosting" else columns
            model = models.fit(algo, train, cols, params["train"][algo], params["seed"], 1)
            alone = timed(lambda: models.predict_proba(algo, model, batch, cols), args.repeats)
            both = timed(lambda: (models.predict_proba(algo, model, batch, cols),
                                  models.reason_codes(algo, model, batch, cols, k)), args.repeats)
            per_thousand = (both - alone) * 1000 / args.rows * 1000
            print(f"{portfolio:<12} {algo:<24} {alone * 1000:>17.1f} {both * 1000:>13.1f} {per_thousand:>24.1f} "
                  f"{both / alone:>6.1f}")
    if args.backfill:
        backfills(Path(args.work), k)


if __name__ == "__main__":
    main()
