"""Benchmark: the default backfill at portfolio scale.

Runs `snakemake --cores 2 all_weeks` from clean on the project's params.yaml with more
applications a week (default: 1,500, 15,000 and 150,000, i.e. 1x, 10x, 100x), one after
the other, and prints for each its wall time, its ratio to the first, its peak memory and
where the time went (timing.py), with the floor: the seconds of fitting and scoring alone.

  python benchmarks/scale.py                         # 1x, 10x, 100x (the last takes long)
  python benchmarks/scale.py --rows 1500 15000 --end 2022-12-25
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from backfill import REPO, environment, prepare
from timing import breakdown, measured, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1500, 15000, 150000],
                        help="applications per week, one backfill each (default: %(default)s)")
    parser.add_argument("--end", help="last week of the chains (default: params.yaml end)")
    parser.add_argument("--cores", default="2", help="snakemake --cores (default: %(default)s)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out"), help="scratch folder (default: %(default)s)")
    args = parser.parse_args()

    results, split = [], {}
    for rows in args.rows:
        folder = prepare(Path(args.out) / f"scale-{rows}", args.end, rows)
        seconds, _, peak = measured(["snakemake", "--cores", args.cores, "all_weeks"], folder, environment())
        summary = json.loads((folder / "reports" / "summary.json").read_text())
        split[f"{rows} rows"] = breakdown(folder, seconds)
        results.append({"rows_per_week": rows, "seconds": round(seconds, 1), "peak_gib": round(peak, 2),
                        "ratio": round(seconds / results[0]["seconds"], 2) if results else 1.0,
                        "retrains": summary["retrains"], "mean_macro_f1": summary.get("mean_macro_f1")})
        print(f"{rows:>7} rows a week: {seconds:8.1f} s, {results[-1]['ratio']:5.2f}x the first, "
              f"peak memory {peak:.2f} GiB, {summary['retrains']} retrainings", flush=True)
    (Path(args.out) / "scale.json").write_text(json.dumps({"runs": results, "breakdown": split}, indent=2) + "\n")
    print("where the time went (seconds of step work; trainers run side by side):")
    print(table(split))


if __name__ == "__main__":
    main()
