"""Two checkouts side by side in one run: the backfill benchmark of each, and their outputs.

Runs `benchmarks/backfill.py` of the checkout BEFORE (with its own Python, e.g. an older
commit in a git worktree with its own virtual environment) and then of this one, on the
same params.yaml and machine, and prints each figure of both with after/before: the
backfill ratio (Snakemake / plain loop), the quiet week, the no-op and the new week. Then
it compares the two Snakemake backfills' outputs file by file: the week files, models and
reports must be the same bytes, but for the fields that name the code (code digests and
what is derived from them: a model's fingerprint and registration key).

  git worktree add ../before <commit> && (cd ../before && python -m venv .venv && .venv/bin/pip install -e .)
  python benchmarks/compare.py --before ../before --before-python ../before/.venv/bin/python
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURES = [("ratio", "backfill ratio (Snakemake / loop)"), ("snakemake_seconds", "Snakemake backfill, s"),
           ("loop_seconds", "plain loop, s"), ("quiet_week_seconds_snakemake", "a week without retraining adds, s"),
           ("noop_seconds", "no-op all_weeks, s (median)"), ("new_week_seconds", "one new week, s (median)"),
           ("peak_gib_snakemake", "peak memory of Snakemake, GiB")]
# Fields that name the code, and a fit's measured seconds: they differ between two
# checkouts by construction. reports/alerts.jsonl records when each alert was sent.
CODE_FIELDS = {"training_code", "fingerprint", "registration_key", "model_uri", "run_id", "fit_seconds"}
NOT_COMPARED = {"reports/alerts.jsonl"}


def benchmark(repo: Path, python: str, out: Path, extra: list[str]) -> dict:
    """Run `repo`'s benchmark with `python` into `out`; its result.json."""
    subprocess.run([python, str(repo / "benchmarks" / "backfill.py"), "--out", str(out), *extra], cwd=repo, check=True)
    return json.loads((out / "result.json").read_text())


def _without_code(value):
    if isinstance(value, dict):
        return {k: _without_code(v) for k, v in value.items() if k not in CODE_FIELDS}
    if isinstance(value, list):
        return [_without_code(v) for v in value]
    return value


def differing(before: Path, after: Path) -> list[str]:
    """The output files (weeks/, models/, reports/) of two backfills that are not the same:
    bytes, or for JSON files the same document but the fields naming the code."""
    found = []
    files = sorted({p.relative_to(root) for root in (before, after) for part in ("weeks", "models", "reports")
                    for p in (root / part).rglob("*") if p.is_file()})
    for name in files:
        if str(name) in NOT_COMPARED:
            continue
        a, b = before / name, after / name
        if not (a.exists() and b.exists()):
            found.append(f"{name} (only {'after' if b.exists() else 'before'})")
        elif a.read_bytes() != b.read_bytes():
            if name.suffix == ".json" and _without_code(json.loads(a.read_text())) == _without_code(json.loads(b.read_text())):
                continue
            found.append(str(name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the other checkout's folder")
    parser.add_argument("--before-python", required=True, help="the Python of its environment")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "compare"), help="scratch folder (default: %(default)s)")
    parser.add_argument("--repeat", default="5", help="backfill.py --repeat (default: %(default)s)")
    parser.add_argument("--end", help="backfill.py --end")
    args = parser.parse_args()
    extra = ["--repeat", args.repeat, *(["--end", args.end] if args.end else [])]
    out = Path(args.out)
    results = {"before": benchmark(Path(args.before).resolve(), args.before_python, out / "before", extra),
               "after": benchmark(REPO, sys.executable, out / "after", extra)}
    (out / "result.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'figure':40} {'before':>9} {'after':>9} {'after/before':>13}")
    for key, label in FIGURES:
        a, b = results["before"][key], results["after"][key]
        print(f"{label:40} {a:9.3f} {b:9.3f} {b / a:13.2f}")
    changed = differing(out / "before" / "snakemake", out / "after" / "snakemake")
    print(f"\noutputs of the two backfills that differ (but for code digests): {len(changed)}")
    for name in changed:
        print(f"  {name}")


if __name__ == "__main__":
    main()
