"""Benchmark: the Snakemake backfill against a plain single-process loop doing the same work.

Both sides start from clean folders with the same params.yaml, generate the same data,
train the same candidates with the same thread settings (1 thread per trainer), spare the
garbage collector their imports in the same way (weekly.workflow.runtime.spare_the_collector), log
and register to a fresh MLflow store, and write the same files with the same package
functions. Each side runs as one fresh process, so each pays its imports once; the
benchmark checks that both wrote the same reports.

Prints both wall times, their ratio (Snakemake / loop), the number of Snakemake jobs, the
mean wall time that a week without retraining adds to each chain (measured between the
preds.parquet files of consecutive weeks), where each side's time went (timing.py: fitting,
scoring, registration, data, other steps, outside any step, and the floor: fitting plus
scoring), the peak memory of each, then a no-op `snakemake all_weeks` (the median of
--repeat runs, and their range), one new week (the median of --repeat weeks added one after
the other, as a weekly run adds them), and Snakemake's own cost per job on this machine (a
chain of empty jobs). A single run of a second or two moves by a tenth of a second or more
with what else the machine does: the repeats tell the run from its noise.

  python benchmarks/backfill.py                # the default 155-week backfill
  python benchmarks/backfill.py --end 2022-06-05   # a shorter chain
  python benchmarks/backfill.py --rows-per-week 15000   # a bigger portfolio
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from statistics import mean, median

import yaml

from timing import breakdown, measured, table

REPO = Path(__file__).resolve().parents[1]
COPIED = ["Snakefile", "rules", "profiles"]


def prepare(folder: Path, end: str | None, rows_per_week: int | None = None) -> Path:
    """A clean copy of the workflow with the project's params.yaml (end optionally moved,
    rows_per_week optionally changed)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in COPIED:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, folder / name)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    if end:
        params["end"] = params["week"] = end
    if rows_per_week:
        params["data"]["rows_per_week"] = rows_per_week
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    elapsed, output, _ = measured(args, cwd, environment())
    return elapsed, output


def one_week_later(folder: Path) -> None:
    """Move the chain's end (and the DVC week) one week on, as a weekly run does."""
    import datetime as dt

    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["end"] = params["week"] = (dt.date.fromisoformat(params["end"]) + dt.timedelta(days=7)).isoformat()
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


# The order the loop runs a week's jobs in; `evaluate` of a week runs once its outcomes are
# known (label_delay_weeks later), before the next week's decision.
WEEK_ORDER = ("decide", "train", "register", "predict", "evaluate")
CHAIN_END = ("report", "publish_tracker", "lifecycle_report", "alerts")


def recorded_jobs(snake_dir: Path) -> list[tuple[str, dict]]:
    """Every job of the Snakemake backfill in `snake_dir` with the arguments its rule gave
    it (its log's first record, weekly.workflow.jobs), in an order the loop can run them:
    the raw weeks, then week after week, then the chain's reports."""
    from weekly.config import load_params
    from weekly.lifecycle import weeks as calendar
    from weekly.workflow.jobs import recorded_arguments

    k = load_params(snake_dir / "params.yaml")["data"]["label_delay_weeks"]
    jobs = []
    for log in (snake_dir / "logs").rglob("*.log"):
        rule = log.relative_to(snake_dir / "logs").parts[0]
        arguments = recorded_arguments(log.read_text())
        if arguments is None:
            continue
        week = arguments.get("week", "")
        if rule == "generate_week":
            key = (0, week, 0, "")
        elif rule in WEEK_ORDER:
            runs_in = (calendar.parse_week(week) + k * calendar.WEEK).isoformat() if rule == "evaluate" else week
            key = (1, runs_in, WEEK_ORDER.index(rule), arguments.get("algo", ""))
        else:
            key = (2, "", CHAIN_END.index(rule), "")
        jobs.append((key, rule, str(log.relative_to(snake_dir)), arguments))
    return [(rule, {"log": log, **arguments}) for _, rule, log, arguments in sorted(jobs, key=lambda job: job[0])]


def loop(folder: Path, snake_dir: Path) -> None:
    """The plain loop: every job of the Snakemake backfill, in order, in this one process,
    each step called with the arguments its rule gave it in the backfill (recorded in its
    job log: the wiring is the rules', written once) and writing the same job logs."""
    os.chdir(folder)
    from weekly.workflow import jobs
    from weekly.workflow.runtime import spare_the_collector

    spare_the_collector()  # as the Snakefile does after its imports: the same runtime on both sides
    for rule, arguments in recorded_jobs(snake_dir):
        jobs.run(rule, **arguments)


EMPTY_CHAIN = """
import sys
from weekly.workflow.runtime import spare_the_collector
sys.setrecursionlimit(100_000)
spare_the_collector()
onstart:
    spare_the_collector()
rule all:
    input: "out/{n}.txt"
rule step:
    input: lambda w: f"out/{{int(w.i) - 1}}.txt" if int(w.i) else []
    output: "out/{{i}}.txt"
    run:
        open(output[0], "w").write("x")
"""


def seconds_per_empty_job(folder: Path, n: int = 300) -> float:
    """Snakemake's own cost of one job on this machine: a chain of `n` `run:` jobs that
    write one byte each, run in-process and unpaced as the chain's are (its start and DAG,
    timed by a dry run, taken off)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "Snakefile").write_text(EMPTY_CHAIN.format(n=n))
    args = ["snakemake", "--cores", "2", "--force-use-threads", "--scheduler", "greedy", "--quiet",
            "--max-jobs-per-timespan", "100000/1s", "all"]  # as profiles/default paces the chain
    dry, _ = timed([*args, "--dry-run"], folder)
    full, _ = timed(args, folder)
    return (full - dry) / n


def repeated(args: list[str], folder: Path, times: int, before=None) -> list[float]:
    """Wall seconds of `times` runs of `args` in `folder`, each after `before(folder)` if given."""
    seconds = []
    for _ in range(times):
        if before is not None:
            before(folder)
        seconds.append(timed(args, folder)[0])
    return seconds


def spread(seconds: list[float]) -> str:
    return f"{median(seconds):8.2f} s   (median of {len(seconds)}: {min(seconds):.2f}-{max(seconds):.2f})"


def quiet_week_cost(folder: Path) -> tuple[float, int]:
    """Mean seconds between consecutive weeks' preds.parquet when the later week did not retrain."""
    weeks = sorted(p.name for p in (folder / "weeks").iterdir())
    gaps = []
    for before, week in zip(weeks, weeks[1:]):
        if not json.loads((folder / "weeks" / week / "decision.json").read_text())["retrain"]:
            gap = (folder / "weeks" / week / "preds.parquet").stat().st_mtime - (folder / "weeks" / before / "preds.parquet").stat().st_mtime
            gaps.append(gap)
    return mean(gaps), len(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end", help="last week of the benchmarked chain (default: params.yaml end)")
    parser.add_argument("--rows-per-week", type=int, help="applications per generated week (default: params.yaml)")
    parser.add_argument("--cores", default="2", help="snakemake --cores (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="no-op runs, and new weeks added one after the other (default: %(default)s)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out"), help="scratch folder (default: %(default)s)")
    parser.add_argument("--loop", nargs=2, help=argparse.SUPPRESS)  # internal: the plain loop in a folder, from a backfill's
    args = parser.parse_args()
    if args.loop:
        loop(Path(args.loop[0]), Path(args.loop[1]))
        return

    out = Path(args.out)
    snake_dir, loop_dir = (prepare(out / side, args.end, args.rows_per_week) for side in ("snakemake", "loop"))
    snake_s, log, snake_peak = measured(["snakemake", "--cores", args.cores, "all_weeks"], snake_dir, environment())
    loop_s, _, loop_peak = measured([sys.executable, __file__, "--loop", str(loop_dir), str(snake_dir)], REPO, environment())
    jobs = int(re.search(r"^total\s+(\d+)$", log, re.MULTILINE).group(1))
    summary = json.loads((snake_dir / "reports" / "summary.json").read_text())
    if summary != json.loads((loop_dir / "reports" / "summary.json").read_text()):
        sys.exit("the two sides produced different reports: the benchmark is not comparing the same work")
    snake_week, n_quiet = quiet_week_cost(snake_dir)
    loop_week, _ = quiet_week_cost(loop_dir)
    split = {"snakemake": breakdown(snake_dir, snake_s), "loop": breakdown(loop_dir, loop_s)}
    chain = ["snakemake", "--cores", args.cores, "all_weeks"]
    noops = repeated(chain, snake_dir, args.repeat)
    new_weeks = repeated(chain, snake_dir, args.repeat, before=one_week_later)
    per_job = seconds_per_empty_job(out / "empty-chain")
    result = {
        "weeks": summary["weeks"],
        "retrains": summary["retrains"],
        "rows_per_week": yaml.safe_load((loop_dir / "params.yaml").read_text())["data"]["rows_per_week"],
        "snakemake_jobs": jobs,
        "snakemake_seconds": round(snake_s, 1),
        "loop_seconds": round(loop_s, 1),
        "ratio": round(snake_s / loop_s, 2),
        "quiet_week_seconds_snakemake": round(snake_week, 3),
        "quiet_week_seconds_loop": round(loop_week, 3),
        "quiet_weeks": n_quiet,
        "noop_seconds": round(median(noops), 2),
        "noop_runs": [round(s, 2) for s in noops],
        "new_week_seconds": round(median(new_weeks), 2),
        "new_week_runs": [round(s, 2) for s in new_weeks],
        "snakemake_seconds_per_empty_job": round(per_job, 4),
        "peak_gib_snakemake": round(snake_peak, 2),
        "peak_gib_loop": round(loop_peak, 2),
        "breakdown": {side: {k: round(v, 1) for k, v in parts.items()} for side, parts in split.items()},
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"weeks {result['weeks']} ({result['retrains']} retrainings, {result['rows_per_week']} rows a week), "
          f"snakemake jobs {jobs}")
    print(f"snakemake backfill : {snake_s:8.1f} s   peak memory {snake_peak:.2f} GiB")
    print(f"plain python loop  : {loop_s:8.1f} s   peak memory {loop_peak:.2f} GiB")
    print(f"ratio              : {result['ratio']:8.2f}  (snakemake / loop)")
    print(f"week without retraining adds {snake_week:.3f} s to the snakemake chain, {loop_week:.3f} s to the loop "
          f"(mean of {n_quiet} weeks)")
    print(f"no-op all_weeks    : {spread(noops)}")
    print(f"one new week       : {spread(new_weeks)}")
    print(f"snakemake's own cost per job (a chain of 300 empty jobs): {per_job * 1000:.1f} ms; "
          f"a week without retraining is 6 jobs")
    print("where the time went (seconds of step work; the sides run in parallel and in order):")
    print(table(split))


if __name__ == "__main__":
    main()
