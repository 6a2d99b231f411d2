"""Benchmark: the Snakemake backfill against a plain single-process loop doing the same work.

Both sides start from clean folders with the same params.yaml, generate the same data,
train the same candidates with the same thread settings (1 thread per trainer), spare the
garbage collector their imports in the same way (weekly.runtime.spare_the_collector), log
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
TRAIN_THREADS = 1  # the rules' `threads: 1`


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


def loop(folder: Path) -> None:
    """The plain loop: every step of every week, in order, in this one process, with the
    same keyword arguments and the same job logs as the rules give."""
    os.chdir(folder)
    from weekly import paths, steps
    from weekly import weeks as calendar
    from weekly.config import load_params
    from weekly.runtime import spare_the_collector

    spare_the_collector()  # as the Snakefile does after its imports: the same runtime on both sides

    p = load_params("params.yaml")
    cols, train, k = p["data"]["columns"], p["train"], p["data"]["label_delay_weeks"]
    applications, outcomes = paths.applications(p["data"]["raw_dir"]), paths.outcomes(p["data"]["raw_dir"])
    chain = calendar.chain(p["start"], p["end"])
    evaluated = calendar.evaluated_weeks(p["start"], p["end"], k)
    history = max(train["max_window_weeks"], train["window_weeks"])  # the embedded data's history (rules/common.smk)
    for week in calendar.raw_weeks(p["start"], p["end"], history, k):
        steps.generate_week(week=week, applications=applications.format(week=week),
                            outcomes=outcomes.format(week=week), rows=p["data"]["rows_per_week"], seed=p["seed"],
                            columns=cols, generator=p["data"]["generator"],
                            log=paths.log("generate_week", "week").format(week=week))
    guard = {key: train[key] for key in ("min_rows", "min_class_rows")}
    fitting = {"recency_half_life_weeks": train["recency_half_life_weeks"], "refit": train["refit"],
               "threshold": train["threshold"], "resamples": p["evaluate"]["resamples"]}
    for i, week in enumerate(chain):
        at = {"week": week}
        previous = {"tracker": paths.TRACKER.format(week=chain[i - 1]),
                    "drift": paths.DRIFT.format(week=chain[i - 1])} if i else {}
        newest = calendar.newest_labelled(week, k)
        previous["evaluations"] = [paths.EVALUATION.format(week=newest)] if newest >= chain[0] else []
        window = calendar.labelled_window(week, history, k)
        window_applications = [applications.format(week=w) for w in window]
        window_outcomes = [outcomes.format(week=w) for w in window]
        decision, tracker, preds = paths.DECISION.format(**at), paths.TRACKER.format(**at), paths.PREDS.format(**at)
        steps.decide(week=week, decision=decision, window_outcomes=window_outcomes, retrain=p["retrain"],
                     window_weeks=train["window_weeks"], valid_weeks=train["valid_weeks"], label_delay_weeks=k,
                     guard=guard, minimums=p["evaluate"], columns=cols, log=paths.log("decide", "week").format(**at),
                     **previous)
        candidates = [paths.CANDIDATE.format(algo=algo, **at) for algo in train["models"]]
        for algo, candidate in zip(train["models"], candidates):
            steps.train(algo=algo, week=week, decision=decision, window_applications=window_applications,
                        window_outcomes=window_outcomes, candidate=candidate,
                        model=paths.MODEL_DIR.format(algo=algo, **at), columns=cols, hyper=train[algo],
                        fitting=fitting, seed=p["seed"], threads=TRAIN_THREADS,
                        log=paths.log("train", "algo", "week").format(algo=algo, **at))
        steps.register(week=week, decision=decision, candidates=candidates, tracker=tracker,
                       winner_model=paths.WINNER_DIR.format(**at), threads=TRAIN_THREADS, registry=p["registry"],
                       columns=cols, challenger=train["challenger"], minimums=p["evaluate"],
                       selection_metric=train["selection"]["metric"], seed=p["seed"],
                       window_applications=window_applications,
                       window_outcomes=window_outcomes, previous_tracker=previous.get("tracker"),
                       log=paths.log("register", "week").format(**at))
        steps.predict(week=week, tracker=tracker, applications=applications.format(**at), preds=preds,
                      drift=paths.DRIFT.format(**at), columns=cols, drift_policy=p["retrain"]["drift"],
                      max_weeks=p["evaluate"]["max_weeks"], seed=p["seed"], registry=p["registry"],
                      ranges=p["data"]["ranges"], **({"previous_drift": paths.DRIFT.format(week=chain[i - 1])} if i else {}),
                      log=paths.log("predict", "week").format(**at))
        known = (calendar.parse_week(week) - k * calendar.WEEK).isoformat()  # outcomes known at the end of `week`
        if known in evaluated:
            before = calendar.previous(known)
            steps.evaluate(week=known, decision=paths.DECISION.format(week=known),
                           tracker=paths.TRACKER.format(week=known), preds=paths.PREDS.format(week=known),
                           drift=paths.DRIFT.format(week=known),
                           outcomes=outcomes.format(week=known), evaluation=paths.EVALUATION.format(week=known),
                           evidence=paths.EVIDENCE.format(week=known), columns=cols, pooling=p["evaluate"],
                           seed=p["seed"],
                           **({"previous_evidence": paths.EVIDENCE.format(week=before)} if before >= chain[0] else {}),
                           log=paths.log("evaluate", "week").format(week=known))
    steps.report(trackers=[paths.TRACKER.format(week=w) for w in chain],
                 drifts=[paths.DRIFT.format(week=w) for w in chain],
                 evaluations=[paths.EVALUATION.format(week=w) for w in evaluated],
                 weekly=paths.WEEKLY_REPORT, summary=paths.SUMMARY, registry=p["registry"], models=train["models"],
                 made_with={key: p[key] for key in ("start", "seed", "data")}, log=paths.log("report"))
    steps.lifecycle_report(decisions=[paths.DECISION.format(week=w) for w in chain],
                           trackers=[paths.TRACKER.format(week=w) for w in chain],
                           drifts=[paths.DRIFT.format(week=w) for w in chain],
                           evaluations=[paths.EVALUATION.format(week=w) for w in evaluated],
                           awaiting=[paths.PREDS.format(week=w) for w in chain if w not in evaluated],
                           summary=paths.SUMMARY, lifecycle=paths.LIFECYCLE_REPORT, columns=cols,
                           log=paths.log("lifecycle_report"))
    steps.publish_tracker(tracker=paths.TRACKER.format(week=chain[-1]), latest=paths.LATEST_TRACKER,
                          log=paths.log("publish_tracker"))


EMPTY_CHAIN = """
import sys
from weekly.runtime import spare_the_collector, unthrottle
sys.setrecursionlimit(100_000)
spare_the_collector()
onstart:
    unthrottle(workflow)
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
    args = ["snakemake", "--cores", "2", "--force-use-threads", "--scheduler", "greedy", "--quiet", "all"]
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
    parser.add_argument("--loop", help=argparse.SUPPRESS)  # internal: run the plain loop in this folder
    args = parser.parse_args()
    if args.loop:
        loop(Path(args.loop))
        return

    out = Path(args.out)
    snake_dir, loop_dir = (prepare(out / side, args.end, args.rows_per_week) for side in ("snakemake", "loop"))
    snake_s, log, snake_peak = measured(["snakemake", "--cores", args.cores, "all_weeks"], snake_dir, environment())
    loop_s, _, loop_peak = measured([sys.executable, __file__, "--loop", str(loop_dir)], REPO, environment())
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
