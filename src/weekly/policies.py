"""Retraining policies compared side by side over the same data.

A policy is `params.yaml` with a few overrides of `retrain.*` and `train.*` (dotted keys, as
`dvc exp run -S` takes them), named in `policies.yaml`. Each is backfilled by the same
Snakefile in its own folder, `policies/<name>/`, on the project's raw files, with its own
registry alias (`<alias>-policy-<name>`: never the production one) in the project's store.
The chains share every fit they have in common through a fit cache (weekly.fit_cache): a
week retrained by two policies with the same settings is fitted once.

The table (`reports/policies.csv`) and its plot read each policy's reports and model folders.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import yaml

from weekly import fit_cache, paths
from weekly.config import ConfigError, read_yaml, validate_params
from weekly.io import read_json, write_csv

FOLDER = "policies"  # policies/<name>/: one policy's params.yaml, weeks/, models/, reports/, logs/
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
CHANGEABLE = ("retrain", "train")  # what a policy may override; the data, weeks and evaluation stay the project's
COLUMNS = ["policy", "overrides", "mean_macro_f1", "worst_macro_f1", "worst_week", "mean_auc", "worst_auc",
           "weeks_under_floor", "retrainings", "kept_out", "fits", "training_seconds", "judged_weeks"]


def read_policies(path: str | Path) -> dict[str, dict]:
    """The policies of `path`: name -> overrides (dotted key -> value), in the file's order."""
    path = Path(path)
    raw = read_yaml(path)
    policies = raw.get("policies") if isinstance(raw, dict) else None
    if not isinstance(policies, dict) or not policies:
        raise ConfigError(f"{path}: expected a mapping 'policies:' of name -> overrides")
    for name, overrides in policies.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ConfigError(f"{path}: policy name {name!r}: use lower-case letters, digits, '-' and '_'")
        if not isinstance(overrides, dict):
            raise ConfigError(f"{path}: policy '{name}': expected a mapping of dotted keys to values")
        for key in overrides:
            if str(key).split(".")[0] not in CHANGEABLE:
                raise ConfigError(
                    f"{path}: policy '{name}': key '{key}': a policy changes only {' and '.join(CHANGEABLE)}.*; "
                    "the data, the weeks and the evaluation are the project's"
                )
    return {name: dict(overrides or {}) for name, overrides in policies.items()}


def _set(params: dict, dotted: str, value, source: str) -> None:
    *parents, last = dotted.split(".")
    node = params
    for i, key in enumerate(parents):
        if not isinstance(node.get(key), dict):
            raise ConfigError(f"{source}: key '{dotted}': '{'.'.join(parents[:i + 1])}' is not a section of params.yaml")
        node = node[key]
    node[last] = value


def _from_folder(value: str, folder: Path) -> str:
    # A path relative to the project, seen from the policy's folder.
    return value if os.path.isabs(value) else os.path.relpath(value, folder)


def policy_params(project: dict, name: str, overrides: dict, folder: Path, source: str = "policies.yaml") -> dict:
    """The params.yaml of policy `name`, backfilled in `folder` (relative to the project):
    the project's parameters with the policy's overrides, reading the project's raw files
    (already there: data.generate false) and registering into the project's store under the
    policy's own alias."""
    params = copy.deepcopy(project)
    for key, value in overrides.items():
        _set(params, key, value, f"{source}: policy '{name}'")
    params["data"] = {**params["data"], "raw_dir": _from_folder(params["data"]["raw_dir"], folder), "generate": False}
    registry = params["registry"]
    uri = registry["tracking_uri"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + _from_folder(uri.removeprefix("sqlite:///"), folder)
    params["registry"] = {**registry, "tracking_uri": uri, "artifact_dir": _from_folder(registry["artifact_dir"], folder),
                          "alias": f"{registry['alias']}-policy-{name}"}
    return validate_params(params, f"{source}: policy '{name}'")


def describe(overrides: dict) -> str:
    """A policy's overrides on one line."""
    return "; ".join(f"{key}={value}" for key, value in overrides.items()) or "params.yaml as it is"


def weekly_table(folder: Path) -> pd.DataFrame:
    """A policy's weekly report."""
    return pd.read_csv(folder / paths.WEEKLY_REPORT)


def policy_row(name: str, overrides: dict, folder: Path, floor: float, models: list[str]) -> dict:
    """One policy's line of the table, from its backfill in `folder`: weekly macro F1 and AUC
    (mean and worst over the judged weeks), weeks under `floor`, models promoted, challengers
    kept out, fits (candidates, and promoted winners refitted on the whole window) and their
    fitting seconds (what the policy costs alone)."""
    weekly = weekly_table(folder)
    summary = read_json(folder / paths.SUMMARY)
    judged = weekly[weekly["evaluated"] & (weekly["too_small"] == False) & weekly["macro_f1"].notna()]  # noqa: E712
    fits, seconds, kept_out = 0, 0.0, 0
    for week in weekly["week"]:
        tracker = read_json(folder / paths.TRACKER.format(week=week))
        kept_out += "challenger kept out" in (tracker.get("kept_because") or "")
        for algo in models:
            candidate = read_json(folder / paths.CANDIDATE.format(week=week, algo=algo))
            if candidate["trained"]:
                fits += 1
                seconds += read_json(folder / candidate["metrics_path"])["fit_seconds"]
        refit = folder / paths.WINNER_DIR.format(week=week) / "metrics.json"
        if refit.exists() and "refit_rows" in read_json(refit):  # the winner, fitted again on the whole window
            fits += 1
            seconds += read_json(refit)["fit_seconds"]
    return {
        "policy": name,
        "overrides": describe(overrides),
        "mean_macro_f1": summary["mean_macro_f1"],
        "worst_macro_f1": summary["worst_macro_f1"],
        "worst_week": summary["worst_week"],
        "mean_auc": summary["mean_auc"],
        "worst_auc": summary["worst_auc"],
        "weeks_under_floor": int((judged["macro_f1"] < floor).sum()),
        "retrainings": summary["retrains"],
        "kept_out": kept_out,
        "fits": fits,
        "training_seconds": round(seconds, 1),
        "judged_weeks": summary["judged_weeks"],
    }


def plot(table: pd.DataFrame, weekly: dict[str, pd.DataFrame], floor: float, path: str | Path) -> None:
    """Two panels: each policy's weekly macro F1 over time (the floor dashed), and the
    trade-off (mean macro F1 against retrainings, weeks under the floor written beside)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "policies", "svg.fonttype": "none"})  # same table, same file; text as text
    fig, (over_time, trade_off) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [2.2, 1]})
    for name, frame in weekly.items():
        judged = frame[frame["evaluated"] & (frame["too_small"] == False)]  # noqa: E712
        over_time.plot(pd.to_datetime(judged["week"]), judged["macro_f1"], label=name, linewidth=1.2)
    over_time.axhline(floor, color="grey", linestyle="--", linewidth=1, label=f"floor {floor}")
    over_time.set(title="Weekly macro F1 of the serving model, by policy", xlabel="week", ylabel="macro F1")
    over_time.legend(fontsize=8, loc="lower left")
    trade_off.scatter(table["retrainings"], table["mean_macro_f1"])
    # policies that ended the same (same retrainings and figures) share one label
    for (retrainings, mean_f1, under), same in table.groupby(["retrainings", "mean_macro_f1", "weeks_under_floor"],
                                                          sort=False):
        trade_off.annotate(f"{', '.join(same['policy'])} ({under} wk < floor)", (retrainings, mean_f1),
                           fontsize=8, xytext=(4, 4), textcoords="offset points")
    trade_off.set(title="Trade-off", xlabel="models promoted (retrainings)", ylabel="mean weekly macro F1")
    trade_off.margins(x=0.6, y=0.15)  # room for the labels right of the points
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def compare(project: dict, policies: dict[str, dict], folder: Path, floor: float | None = None) -> pd.DataFrame:
    """The table of the policies backfilled under `folder` (policies/<name>/)."""
    floor = project["retrain"]["performance"]["floor"] if floor is None else floor
    rows = [policy_row(name, overrides, folder / name, floor, policy_params(project, name, overrides, folder)["train"]["models"])
            for name, overrides in policies.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def _snakemake(project: Path, workdir: Path, target: str, cores: int, log: Path, env: dict) -> float:
    """Run the project's Snakefile in `workdir` up to `target`; its console goes to `log`.
    Returns the seconds it took."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(project / "Snakefile"),
               "--workflow-profile", str(project / "profiles" / "default"), "--directory", str(workdir),
               "--cores", str(cores), target]
    started = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=project)
    if done.returncode:
        raise RuntimeError(f"{target} in {workdir} failed (exit {done.returncode}): see {log}")
    return time.perf_counter() - started


def backfill(project: Path, policies: dict[str, dict], cores: int = 2, parallel: int = 1,
             cache: Path | None = None, say=print) -> dict[str, float]:
    """Backfill every policy in `project/policies/<name>/`, `parallel` at a time with the
    `cores` shared among them, after making the project's raw files. Fits go through the
    fit cache `cache` (default: `policies/.fit-cache`). Returns each policy's seconds."""
    from weekly.config import load_params

    project = project.resolve()
    params = load_params(project / "params.yaml")
    root = project / FOLDER
    root.mkdir(exist_ok=True)
    env = {**os.environ, fit_cache.ENVIRONMENT: str(cache or root / ".fit-cache")}
    env.pop("DVC_EXP_NAME", None)  # a policy's alias is its own, inside an experiment too
    if params["data"]["generate"]:
        say(f"raw data: {params['data']['raw_dir']}")
        _snakemake(project, project, "raw_data", cores, root / "raw_data.log", env)
    for name, overrides in policies.items():  # every file checked before anything runs
        workdir = root / name
        text = yaml.safe_dump(policy_params(params, name, overrides, Path(FOLDER) / name), sort_keys=False)
        workdir.mkdir(exist_ok=True)
        if not (workdir / "params.yaml").exists() or (workdir / "params.yaml").read_text() != text:
            (workdir / "params.yaml").write_text(text)

    def one(name: str) -> tuple[str, float]:
        seconds = _snakemake(project, root / name, "all_weeks", cores,
                             root / name / "backfill.log", env)
        summary = read_json(root / name / paths.SUMMARY)
        say(f"{name:<24} {seconds:6.1f} s  {summary['retrains']:3d} retrainings  "
            f"mean macro F1 {summary['mean_macro_f1']:.4f}")
        return name, seconds

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return dict(pool.map(one, policies))

