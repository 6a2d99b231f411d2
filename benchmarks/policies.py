"""Benchmark: the policy comparison against the single backfill it builds on.

Both sides start from clean copies of the workflow with the project's params.yaml and
generate the same data and a fresh MLflow store: (a) the default backfill,
`snakemake --cores 2 all_weeks`; (b) `python scripts/compare_policies.py` with the project's
policies.yaml (every policy backfilled, fits shared through the fit cache). Prints both
wall times and the ratio (b) / (a), the fits the policies needed and those actually made,
and what the policies would cost as separate backfills (the sum of their stand-alone
chains is not run: the fits each needs are counted instead).

  python benchmarks/policies.py
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from backfill import REPO, prepare, timed

COPIED = ["scripts", "policies.yaml", "grid.smk"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end", help="last week of the chains (default: params.yaml end)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out"), help="scratch folder (default: %(default)s)")
    args = parser.parse_args()
    single, compared = (prepare(Path(args.out) / name, args.end) for name in ("single", "policies"))
    for name in COPIED:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, compared / name)

    single_seconds, _ = timed([sys.executable, "-m", "snakemake", "--cores", "2", "all_weeks"], single)
    compared_seconds, console = timed([sys.executable, "scripts/compare_policies.py", "--cores", "2"], compared)
    import pandas as pd

    table = pd.read_csv(compared / "reports/policies.csv")
    made = sum(1 for p in (compared / "policies/.fit-cache").iterdir() if p.is_dir())
    print(console)
    print(f"(a) single backfill               {single_seconds:7.1f} s")
    print(f"(b) {len(table)} policies side by side      {compared_seconds:7.1f} s")
    print(f"ratio (b) / (a)                   {compared_seconds / single_seconds:7.2f}")
    print(f"fits: {int(table['fits'].sum())} needed by the policies, {made} made")


if __name__ == "__main__":
    main()
