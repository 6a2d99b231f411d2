"""Test helpers: tiny copies of the workflow, and how to run its real tools on them."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "grid.smk", "rules", "profiles", "dvc.yaml", ".dvcignore", ".gitignore", "src", "scripts"]

# 8 weeks, retraining every 21 days: weeks 1 (initial), 4 and 7 retrain (every winner is
# promoted: the challenger gate has its own test).
TINY_OVERRIDES = {
    "start": "2022-01-16",
    "end": "2022-03-06",
    "week": "2022-03-06",
    "data": {"rows_per_week": 300},
    "retrain": {"time": {"max_days": 21}},
    "train": {
        "window_weeks": 6,
        "max_window_weeks": 6,  # no history generated beyond the window: tiny projects stay tiny
        "valid_weeks": 2,
        "challenger": {"enabled": False},
        "lightgbm": {"num_iterations": 30},
        "catboost": {"iterations": 30},
    },
    # reason codes (TreeSHAP) cost a tiny chain more than its fits: on where a test reads them
    "score": {"reasons": 0},
}
TINY_WEEKS = ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06", "2022-02-13", "2022-02-20", "2022-02-27", "2022-03-06"]
TINY_RETRAIN_WEEKS = ["2022-01-16", "2022-02-06", "2022-02-27"]


# Mappings an override gives whole: data.columns.segments names one portfolio's columns.
REPLACED = {"segments"}


def merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) and key not in REPLACED else value
    return out


def make_project(root: Path, overrides: dict | None = None) -> Path:
    """A copy of the workflow in `root` with the tiny configuration (plus `overrides`)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, root / name)
    shutil.copytree(REPO / ".dvc", root / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    write_params(root, merge(TINY_OVERRIDES, overrides or {}))
    return root


def write_params(root: Path, overrides: dict) -> None:
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), overrides)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def next_week(root: Path) -> str:
    """Move a project's `end` (and its DVC `week`) one week on, as a weekly run does; the new week."""
    import datetime as dt

    params = yaml.safe_load((root / "params.yaml").read_text())
    week = (dt.date.fromisoformat(params["end"]) + dt.timedelta(days=7)).isoformat()
    params["end"] = params["week"] = week
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return week


def write_grid(path: Path, key: str, table: dict) -> Path:
    """A policies.yaml (`key` policies) or portfolios.yaml (`key` portfolios): name -> overrides."""
    path.write_text(yaml.safe_dump({key: table}, sort_keys=False))
    return path


def tool_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@example.invalid"
    return env


def run(args: list[str], cwd: Path, check: bool = True, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a real command-line tool (snakemake, dvc, git) of this environment in `cwd`."""
    exe = BIN / args[0] if (BIN / args[0]).exists() else args[0]
    result = subprocess.run(
        [str(exe), *args[1:]], cwd=cwd, env={**tool_env(), **(env or {})}, capture_output=True, text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def snakemake(root: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    return run(["snakemake", "--cores", "2", *args], root, check=check, env=env)


def file_states(root: Path, pattern: str) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file matching `pattern` under `root`."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.glob(pattern))
        if p.is_file()
    }


def registry_client(root: Path, store: str = "mlflow.db"):
    """An MLflow client on a project's embedded store."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / store}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def clone(src: Path, dst: Path) -> Path:
    """A copy of a finished project (outputs, Snakemake metadata and MLflow store included)."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def own_table(start: str, end: str, window_weeks: int, rows: int = 200, seed: int = 7, label_delay_weeks: int = 0,
              yes_no: bool = True, applicant_age: bool = False) -> "pd.DataFrame":
    """A portfolio of our own, made from the generator: other column names, a binary target
    (`Yes`/`No`, or 0/1), integer-coded regions (with `yes_no`, else their names), rows in
    any order; with `applicant_age`, the applicant's age as a column that is no feature
    (a protected attribute, carried to be compared)."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    from weekly.lifecycle import weeks
    from weekly.inputs.generate import generate_week

    frames = []
    for week in weeks.raw_weeks(start, end, window_weeks, label_delay_weeks):
        g = generate_week(dt.date.fromisoformat(week), rows, seed)
        poor = g["credit_score"] == "Poor"
        frames.append(pd.DataFrame({
            "loan_id": g["application_id"],
            "applied_on": g["application_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "income": g["annual_income"],
            "debt": g["outstanding_debt"],
            "late_payments": g["num_of_delayed_payment"],
            "region": g["occupation"].astype("category").cat.codes if yes_no else g["occupation"],
            "defaulted": np.where(poor, "Yes", "No") if yes_no else poor.astype(int),
            **({"applicant_age": g["age"].astype(int)} if applicant_age else {}),
        }))
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)


def say(message: str) -> None:
    """Log `message` as a warning of the package (the side-process tests call it there)."""
    import logging

    logging.getLogger("weekly.test").warning(message)


def imported(module: str) -> bool:
    """Whether `module` is imported in this process (the side-process tests ask it there)."""
    return module in sys.modules


def write_past_stdout(text: str) -> int:
    """Write to descriptor 1 itself, as a library's C code may (the side-process tests)."""
    return os.write(1, text.encode())


REPLAY = """
import json, sys
from weekly.commands.command import _one_line, _quiet_steps
from weekly.errors import WeeklyError
from weekly.workflow import jobs
_quiet_steps()
try:
    jobs.run(sys.argv[1], **json.loads(sys.argv[2]))
except (WeeklyError, RuntimeError, OSError) as exc:  # as `weekly step --outside` says it: one line
    sys.exit(f"error: {_one_line(exc)}")
"""


def replay(root: Path, rule: str, week: str, overrides: dict | None = None, env: dict | None = None,
           wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    """`rule`'s job of `week` in the project `root` run again outside Snakemake, in a process
    of its own, with the arguments the backfill gave it (its job log) and `overrides`
    (e.g. other outputs, so that several run at once); started, or waited for."""
    from weekly.workflow import by_hand
    from weekly.workflow.jobs import recorded_arguments

    arguments = recorded_arguments((root / by_hand.job_log(rule, week=week)).read_text())
    arguments.pop("threads", None)
    arguments.update(overrides or {})
    process = subprocess.Popen([sys.executable, "-c", REPLAY, rule, json.dumps(arguments)], cwd=root,
                               env={**tool_env(), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    if not wait:
        return process
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
