"""Retraining policies compared side by side over the same data.

A policy is `params.yaml` with a few overrides of `retrain.*` and `train.*` (dotted keys, as
`dvc exp run -S` takes them), named in `policies.yaml`. Each is backfilled by the same
Snakefile in its own folder, `policies/<name>/`, on the project's raw files, with its own
registry alias (`<alias>-policy-<name>`: never the production one) in the project's store:
a grid of chains (weekly.grid), run locally or on SLURM. The chains share every fit they
have in common through a fit cache (weekly.fit_cache): a week retrained by two policies with
the same settings is fitted once.

The table (`reports/policies.csv`) and its plot read each policy's reports and model folders.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from weekly import alerts, grid, paths
from weekly.config import validate_params
from weekly.io import read_json

FOLDER = "policies"  # policies/<name>/: one policy's params.yaml, weeks/, models/, reports/, logs/
CHANGEABLE = ("retrain", "train")  # what a policy may override; the data, weeks and evaluation stay the project's
COLUMNS = ["policy", "overrides", "mean_macro_f1", "worst_macro_f1", "worst_week", "mean_auc", "worst_auc",
           "weeks_under_floor", "retrainings", "kept_out", "fits", "training_seconds", "judged_weeks"]


def read_policies(path: str | Path) -> dict[str, dict]:
    """The policies of `path`: name -> overrides (dotted key -> value), in the file's order."""
    return grid.read_table(path, "policies", "policy", CHANGEABLE)


def policy_params(project: dict, name: str, overrides: dict, folder: Path, source: str = "policies.yaml") -> dict:
    """The params.yaml of policy `name`, backfilled in `folder` (relative to the project):
    the project's parameters with the policy's overrides, reading the project's raw files
    (already there: data.generate false) and registering into the project's store under the
    policy's own alias, its alerts sent nowhere."""
    params = grid.with_overrides(project, overrides, f"{source}: policy '{name}'")
    params["data"] = {**params["data"], "raw_dir": grid.from_folder(params["data"]["raw_dir"], folder), "generate": False}
    params["registry"] = grid.shared_registry(params["registry"], folder,
                                              alias=f"{params['registry']['alias']}-policy-{name}")
    params["alerts"]["channels"] = alerts.file_only(params["alerts"]["channels"])
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
    """The table of the policies backfilled under `folder` (policies/<name>/); one not
    backfilled yet (`--only` another) is left out."""
    floor = project["retrain"]["performance"]["floor"] if floor is None else floor
    rows = [policy_row(name, overrides, folder / name, floor, policy_params(project, name, overrides, folder)["train"]["models"])
            for name, overrides in policies.items() if (folder / name / paths.SUMMARY).exists()]
    return pd.DataFrame(rows, columns=COLUMNS)


def backfill(project: Path, policies: dict[str, dict], cores: int = 2, parallel: int = 1,
             cache: Path | None = None, say=print, profile: str | None = None) -> dict[str, float]:
    """Backfill every policy in `project/policies/<name>/` through the grid workflow
    (weekly.grid): locally `parallel` at a time with `cores` each, or with `profile`
    (profiles/slurm) one SLURM job of `cores` threads each; after making the project's raw
    files. Fits go through the fit cache `cache` (default: `policies/.fit-cache`). Returns
    each policy's seconds."""
    from weekly.config import load_params

    project = project.resolve()
    params = load_params(project / "params.yaml")
    root = project / FOLDER
    root.mkdir(exist_ok=True)
    if params["data"]["generate"]:
        say(f"raw data: {params['data']['raw_dir']}")
        _raw_data(project, root / "raw_data.log")
    # every file checked before anything runs
    grid.write_chains(root, {name: policy_params(params, name, overrides, Path(FOLDER) / name)
                             for name, overrides in policies.items()})
    seconds = grid.backfill(project, FOLDER, list(policies), cores=cores, parallel=parallel, profile=profile,
                            cache=cache)
    for name, chain in seconds.items():
        say(chain_line(name, chain, read_json(root / name / paths.SUMMARY)))
    return seconds


def _figure(value, digits: int = 4) -> str:
    missing = value is None or (isinstance(value, float) and value != value)  # None, or NaN as pandas reads it
    return "n/a" if missing else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def chain_line(name: str, seconds: float, summary: dict) -> str:
    """One policy's backfill in a line: its time, retrainings and mean macro F1 (n/a when
    no week was judged)."""
    return (f"{name:<24} {seconds:6.1f} s  {summary['retrains']:3d} retrainings  "
            f"mean macro F1 {_figure(summary['mean_macro_f1'])}")


def table_text(table: pd.DataFrame) -> str:
    """The table as the console shows it: figures to 4 digits, n/a for a figure that does
    not exist (no week judged), overrides left to the CSV."""
    shown = table.drop(columns=["overrides"])
    cells = {c: [_figure(v, 1 if c == "training_seconds" else 4) for v in shown[c]] for c in shown.columns}
    return pd.DataFrame(cells, columns=shown.columns).to_string(index=False)


def _raw_data(project: Path, log: Path) -> None:
    """Make the project's raw files (the Snakefile's raw_data) before the policies read them."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(project / "Snakefile"),
               "--workflow-profile", str(project / "profiles" / "default"), "--directory", str(project),
               "--cores", "1", "raw_data"]
    env = {k: v for k, v in os.environ.items() if k != "DVC_EXP_NAME"}
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=project)
    if done.returncode:
        raise RuntimeError(f"raw_data in {project} failed (exit {done.returncode}): see {log}")
