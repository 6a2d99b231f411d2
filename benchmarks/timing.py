"""Where a backfill's time goes, read from the job logs it leaves (`logs/<step>/...log`).

Every step runs inside a job log that ends with "<step> done in <s> s" (weekly.logs), and
the fits log their own seconds, so the Snakemake chain and the plain loop are split the
same way:

- fitting: every candidate's fit and the winner's refit (the physical floor's first part);
- scoring: the weekly predict steps, drift included (the floor's second part);
- registration: the register steps without their refit (MLflow logging and registration,
  the challenger gate, reading the window again);
- data: generating the raw weeks;
- other steps: decisions, evaluations, reports, and the trainers' reading of the window;
- outside any step: wall time during which no step ran (for Snakemake its start, the DAG
  and scheduling; for the loop its imports).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path

_DONE = re.compile(r"^(\S+ \S+) INFO weekly\.job: (\w+) done in ([\d.]+) s$", re.MULTILINE)
_FIT = re.compile(r": \w+ trained in ([\d.]+) s")
_REFIT = re.compile(r" refitted on the whole window \(\d+ rows\) in ([\d.]+) s")
_STAMP = "%Y-%m-%d %H:%M:%S,%f"


def measured(args: list[str], cwd: Path, env: dict) -> tuple[float, str, float]:
    """Run a command: its wall seconds, its output, and the peak resident memory (GiB) of
    the largest process of its tree."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed in {cwd}:\n{output[-3000:]}")
    return elapsed, output, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    covered, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            covered += stop - max(start, end)
            end = stop
    return covered


def breakdown(folder: Path, wall: float) -> dict[str, float]:
    """Seconds of each kind of work in the backfill of `folder`, whose wall time was `wall`."""
    steps: dict[str, float] = {}
    intervals = []
    fitting = refitting = 0.0
    for log in (folder / "logs").rglob("*.log"):
        text = log.read_text()
        for stamp, step, seconds in _DONE.findall(text):
            end = dt.datetime.strptime(stamp, _STAMP).timestamp()
            steps[step] = steps.get(step, 0.0) + float(seconds)
            intervals.append((end - float(seconds), end))
        fitting += sum(map(float, _FIT.findall(text)))
        refitting += sum(map(float, _REFIT.findall(text)))
    scoring = steps.get("predict", 0.0)
    registration = steps.get("register", 0.0) - refitting
    data = steps.get("generate_week", 0.0)
    other = sum(steps.values()) - scoring - steps.get("register", 0.0) - data - fitting
    return {
        "wall": wall,
        "fitting": fitting + refitting,
        "scoring": scoring,
        "registration": registration,
        "data": data,
        "other steps": other,
        "outside any step": max(wall - _union_seconds(intervals), 0.0),
        "floor (fitting + scoring)": fitting + refitting + scoring,
    }


def table(columns: dict[str, dict[str, float]]) -> str:
    """The breakdowns side by side, one column each, in seconds."""
    names = list(columns)
    rows = [f"{'':27}" + "".join(f"{name:>14}" for name in names)]
    for kind in next(iter(columns.values())):
        rows.append(f"{kind:27}" + "".join(f"{columns[name][kind]:12.1f} s" for name in names))
    return "\n".join(rows)
