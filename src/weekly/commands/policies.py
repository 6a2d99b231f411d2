"""Retraining policies compared side by side over the same data.

A policy is `params.yaml` with a few overrides of `retrain.*` and `train.*` (dotted keys, as
`dvc exp run -S` takes them), named in `policies.yaml`. Each is backfilled by the same
Snakefile in its own folder, `policies/<name>/`, on the project's raw files, with its own
registry alias (`<alias>-policy-<name>`: never the production one) in the project's store:
a grid of chains (weekly.workflow.grid), run locally or on SLURM. The chains share every fit they
have in common through a fit cache (weekly.modelling.fit_cache): a week retrained by two policies with
the same settings is fitted once.

The table (`reports/policies.csv`) and its plot read each policy's reports and model folders.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from html import escape
from pathlib import Path

import pandas as pd

from weekly import paths
from weekly.alerting import alerts
from weekly.config import validate_params
from weekly.io import read_json, write_text
from weekly.reporting import charts
from weekly.workflow import grid

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


PLOT_ID = "policies-plot"  # the chart's id, in its file and on the lifecycle page
FLOOR_COLOUR = "#c0392b"  # the performance floor, dashed, as on the lifecycle page
WIDTH = 1180
OVER_TIME = (70, 710)  # the left panel's plot, left to right
TRADE_OFF = (800, 1158)  # the right panel's
PLOT_HEIGHT = 250
HALO = {"stroke": "#fff", "stroke_width": "4", "stroke_linejoin": "round", "paint_order": "stroke"}  # text over lines


def _judged_series(frame: pd.DataFrame, weeks: list[str]) -> list[float | None]:
    """A policy's weekly macro F1 on `weeks`: None where the week was not judged (awaiting
    its outcomes, too small) or is not in its report."""
    judged = frame[frame["evaluated"] & (frame["too_small"] == False) & frame["macro_f1"].notna()]  # noqa: E712
    values = dict(zip(judged["week"].astype(str), judged["macro_f1"].astype(float)))
    return [values.get(week) for week in weeks]


def _styles(names: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each policy's colour (Okabe-Ito) and, past the colours, a dash."""
    colours = charts.SERIES_COLOURS
    return {name: (colours[k % len(colours)], (None, "6 3", "2 2")[k // len(colours) % 3])
            for k, name in enumerate(names)}


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _row_text(row: dict) -> str:
    """A policy's figures, for its tooltip."""
    parts = [row["policy"], f"mean weekly macro F1 {_figure(_number(row.get('mean_macro_f1')))}"]
    if _number(row.get("worst_macro_f1")) is not None:
        parts.append(f"worst {row['worst_macro_f1']:.4f} ({row.get('worst_week')})")
    for key, words in (("weeks_under_floor", "weeks under the floor"), ("retrainings", "retrainings"),
                       ("fits", "fits"), ("training_seconds", "training seconds")):
        if key in row and _number(row[key]) is not None:
            parts.append(f"{_figure(row[key], 1)} {words}")
    return " · ".join(parts)


def _over_time(weekly: dict[str, pd.DataFrame], styles: dict, floor: float | None, top: float,
               titles: dict[str, str]) -> list[str]:
    """The left panel: each policy's weekly macro F1 on the weeks' shared axis, one <path> a
    policy (broken where a week was not judged), the floor dashed."""
    left, right = OVER_TIME
    plot, bottom = right - left, top + PLOT_HEIGHT
    weeks = sorted({str(w) for frame in weekly.values() for w in frame["week"]})
    series = {name: _judged_series(frame, weeks) for name, frame in weekly.items()}
    values = [v for vs in series.values() for v in vs if v is not None] + ([floor] if floor is not None else [])
    lo = math.floor((min(values) - 0.02) * 20) / 20 if values else 0.5
    hi = math.ceil((max(values) + 0.01) * 20) / 20 if values else 1.0
    lo, hi = max(0.0, min(lo, hi - 0.1)), min(1.0, hi)

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    body = [charts.text(left, top - 14, "Weekly macro F1 of the serving model, by policy", 12.5, font_weight="600")]
    for v in charts.ticks(lo, hi, 0.05 if hi - lo <= 0.5 else 0.1):
        body.append(charts.line(left, y(v), right, y(v), charts.GRID))
        body.append(charts.text(left - 8, y(v) + 4, f"{v:.2f}", 11, "end", fill=charts.MUTED))
    middle = (top + bottom) / 2
    body.append(charts.text(left - 50, middle, "weekly macro F1", 12, "middle", fill=charts.MUTED,
                            transform=f"rotate(-90 {charts.coord(left - 50)} {charts.coord(middle)})"))
    if floor is not None and lo <= floor <= hi:
        body.append(charts.line(left, y(floor), right, y(floor), FLOOR_COLOUR, 1.2, "6 4"))
    n = len(weeks)
    for name, vs in series.items():
        colour, dash = styles[name]
        runs = [charts.run_points(vs, a, b, lambda i: charts.column_x(i, n, left, plot), y)
                for a, b in charts.runs([v is not None for v in vs])]
        body.append(charts.path(runs, colour, 1.5, dash, inner=charts.title(titles.get(name, name)),
                                data_policy=escape(name, quote=True), stroke_opacity="0.9"))
    if weeks:
        body += charts.time_axis(weeks, bottom + 4, left, plot, label=None, week_room=90)  # "16 Jan 2022" clear
    body.append(charts.text((left + right) / 2, bottom + 40, "week starting", 12, "middle", fill=charts.MUTED))
    return body


def _trade_off(table: pd.DataFrame, styles: dict, top: float) -> list[str]:
    """The right panel: each policy's mean weekly macro F1 against the models it promoted,
    a point a policy; policies that ended the same share one label, with their weeks under
    the floor."""
    left, right = TRADE_OFF
    bottom = top + PLOT_HEIGHT
    rows = [r for r in table.to_dict("records") if _number(r["mean_macro_f1"]) is not None]
    body = [charts.text(left, top - 14, "Trade-off: mean macro F1 against retrainings", 12.5, font_weight="600")]
    xs, ys = [float(r["retrainings"]) for r in rows] or [0.0], [float(r["mean_macro_f1"]) for r in rows] or [0.5]
    pad = max(1.0, 0.2 * (max(xs) - min(xs)))
    x_lo, x_hi = min(xs) - pad, max(xs) + pad
    span = max(max(ys) - min(ys), 0.002)
    y_lo, y_hi = min(ys) - 0.2 * span, max(ys) + 0.2 * span

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top)

    y_step = charts.nice_step(y_hi - y_lo, 5)
    digits = max(2, -math.floor(math.log10(y_step)))
    for v in charts.ticks(y_lo, y_hi, y_step):
        body.append(charts.line(left, py(v), right, py(v), charts.GRID))
        body.append(charts.text(left - 8, py(v) + 4, f"{v:.{digits}f}", 11, "end", fill=charts.MUTED))
    for v in charts.ticks(x_lo, x_hi, max(1.0, charts.nice_step(x_hi - x_lo, 6))):
        body.append(charts.line(px(v), top, px(v), bottom, charts.GRID))
        body.append(charts.line(px(v), bottom, px(v), bottom + 5, charts.AXIS))
        body.append(charts.text(px(v), bottom + 17, f"{v:g}", 11, "middle", fill=charts.MUTED))
    body.append(charts.line(left, bottom, right, bottom, charts.AXIS))
    middle = (top + bottom) / 2
    body.append(charts.text(left - 58, middle, "mean weekly macro F1", 12, "middle", fill=charts.MUTED,
                            transform=f"rotate(-90 {charts.coord(left - 58)} {charts.coord(middle)})"))
    body.append(charts.text((left + right) / 2, bottom + 40, "models promoted (retrainings)", 12, "middle",
                            fill=charts.MUTED))
    for r in rows:
        colour, _ = styles[r["policy"]]
        body.append(charts.circle(px(r["retrainings"]), py(r["mean_macro_f1"]), 5, colour, charts.title(_row_text(r)),
                                  stroke="#fff", stroke_width="1.5", data_policy=escape(r["policy"], quote=True)))
    # policies that ended the same (same retrainings and figures) share one label
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        groups.setdefault((r["retrainings"], r["mean_macro_f1"], r.get("weeks_under_floor")), []).append(r["policy"])
    labels = []
    for (retrainings, mean_f1, under), names in groups.items():
        under = _number(under)
        lines = charts.wrap(", ".join(names), 190, 11)
        if under is not None:  # "(2 wk < floor)" whole, after the names
            tail = f"({under:g} wk < floor)"
            fits = charts.text_width(f"{lines[-1]} {tail}", 11) <= 190
            lines = [*lines[:-1], f"{lines[-1]} {tail}"] if fits else [*lines, tail]
        width = max(charts.text_width(t, 11) for t in lines)
        x, y = px(retrainings), py(mean_f1)
        on_right = x + 9 + width <= WIDTH - 4
        labels.append({"x": x, "y": y, "lines": lines, "right": on_right,
                       "top": y - 4 - (len(lines) - 1) * 13 / 2 - 9, "height": len(lines) * 13})
    for side in (True, False):  # labels on one side pushed apart, top to bottom, then back inside the plot
        placed = sorted((lab for lab in labels if lab["right"] == side), key=lambda lab: (lab["top"], lab["x"]))
        for k, lab in enumerate(placed):
            if k:
                lab["top"] = max(lab["top"], placed[k - 1]["top"] + placed[k - 1]["height"] + 2)
        overflow = (placed[-1]["top"] + placed[-1]["height"] - bottom) if placed else 0
        for lab in placed:
            lab["top"] = max(top, lab["top"] - max(0.0, overflow))
    for lab in labels:
        x = lab["x"] + 9 if lab["right"] else lab["x"] - 9
        if abs(lab["top"] + 9 + (len(lab["lines"]) - 1) * 13 / 2 - 4 - lab["y"]) > 4:  # moved: a leader to its point
            body.append(charts.line(lab["x"], lab["y"], x, lab["top"] + lab["height"] / 2, charts.AXIS, 0.8))
        for k, words in enumerate(lab["lines"]):
            body.append(charts.text(x, lab["top"] + 9 + 13 * k, words, 11, "start" if lab["right"] else "end",
                                    fill=charts.INK, **HALO))
    return body


def comparison_svg(table: pd.DataFrame, weekly: dict[str, pd.DataFrame], floor: float | None) -> str:
    """The comparison as one SVG (id policies-plot), in the lifecycle page's style: each
    policy's weekly macro F1 over time (the floor dashed) and the trade-off (mean macro F1
    against retrainings, weeks under the floor written beside). The same table, the same bytes."""
    floor = _number(floor)
    names = list(dict.fromkeys([*map(str, table["policy"]), *weekly]))
    styles = _styles(names)
    weeks = sorted({str(w) for frame in weekly.values() for w in frame["week"]})
    series = {name: tuple(_judged_series(frame, weeks)) for name, frame in weekly.items()}
    items = []
    for k, name in enumerate(weekly):
        twin = next((other for other in list(weekly)[:k] if series[other] == series[name]), name)
        colour, dash = styles[name]
        items.append((charts.swatch_line(colour, 2, dash), name if twin == name else f"{name} (same weeks as {twin})"))
    if floor is not None:
        items.append((charts.swatch_line(FLOOR_COLOUR, 1.2, "6 4"), f"performance floor {floor:g}"))
    legend, _, rows = charts.legend(OVER_TIME[0], 14, items, TRADE_OFF[1])
    top = 60 + (rows - 1) * charts.LEGEND_ROW
    titles = {row["policy"]: _row_text(row) for row in table.to_dict("records")}
    label = "Retraining policies compared: weekly macro F1 over time and the trade-off against retrainings"
    body = [charts.title(label), *legend, *_over_time(weekly, styles, floor, top, titles), *_trade_off(table, styles, top)]
    return charts.svg(PLOT_ID, WIDTH, top + PLOT_HEIGHT + 52, body, label, font_family=charts.FONT, fill=charts.INK)


def plot(table: pd.DataFrame, weekly: dict[str, pd.DataFrame], floor: float, path: str | Path) -> None:
    """Write the comparison's chart (comparison_svg) to `path`, an .svg file: each policy's
    weekly macro F1 over time (the floor dashed), and the trade-off (mean macro F1 against
    retrainings, weeks under the floor written beside)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(path, comparison_svg(table, weekly, floor) + "\n")


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
    (weekly.workflow.grid): locally `parallel` at a time with `cores` each, or with `profile`
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
