"""The real DVC on the tiny workflow: one week with `dvc repro`, policies with `dvc exp`,
raw data that DVC sees. Each test makes and commits its own project. Then the project's own
DVC files: plots drawn against time (rendered offline), params.yaml as DVC writes it, and a
fresh clone that compares with its commit."""
from __future__ import annotations

import csv
import difflib
import io
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from helpers import REPO, TINY_WEEKS, make_project, run

WEEK = "2022-02-06"  # week 4 of 8
PLOTS = {"weekly_macro_f1": "macro_f1", "pooled_macro_f1": "pooled_macro_f1", "weekly_auc": "auc"}  # dvc.yaml's plots: id -> column of reports/weekly.csv
VL_VERSION = "5.21"  # the Vega-Lite bundled into .dvc/plots/offline.html, and the one the tests render with
CHROMIUM = shutil.which("chromium")


def registry(root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def commit_all(root, message):
    """Make `root` a git repository whose one commit holds every file in it."""
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", message], root)
    return root


def committed_project(root):
    return commit_all(make_project(root, {"week": WEEK}), "tiny project")


def test_dvc_repro_builds_the_named_week_and_its_metrics(tmp_path):
    root = committed_project(tmp_path / "repro")
    run(["dvc", "repro"], root)
    built = sorted(p.name for p in (root / "weeks").iterdir())
    assert built == [w for w in TINY_WEEKS if w <= WEEK]
    for name in ("decision.json", "tracker.json", "preds.parquet", "eval.json"):
        assert (root / "weeks" / WEEK / name).is_file()
    summary = json.loads((root / "reports" / "summary.json").read_text())
    assert summary["last_week"] == WEEK and summary["weeks"] == 4 and summary["retrains"] == 2

    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], root).stdout)
    shown = metrics[""]["data"]["reports/summary.json"]["data"]
    assert shown["retrains"] == 2 and shown["last_week_macro_f1"] == summary["last_week_macro_f1"]
    assert "up to date" in run(["dvc", "status"], root).stdout
    # whole sections are tracked: a key no one listed is still a parameter of the stage
    params = json.loads(run(["dvc", "params", "diff", "--all", "--json"], root).stdout)
    assert {"train.hist_gradient_boosting.max_iter", "registry.tracking_uri"} <= set(params["params.yaml"])


def test_a_changed_raw_file_is_seen_by_dvc(tmp_path):
    root = committed_project(tmp_path / "raw")
    run(["dvc", "repro"], root)
    changed = TINY_WEEKS[2]
    path = root / "data" / "raw" / "outcomes" / f"{changed}.parquet"
    raw = pd.read_parquet(path)
    raw.loc[:99, "credit_score"] = "Poor"  # relabel 100 rows
    raw.to_parquet(path, index=False)
    before = (root / "weeks" / changed / "eval.json").read_text()

    status = run(["dvc", "status", "--json"], root).stdout
    assert "all_weeks" in json.loads(status), status
    result = run(["dvc", "repro"], root)
    assert "Running stage 'all_weeks'" in result.stdout
    assert (root / "weeks" / changed / "eval.json").read_text() != before
    assert "up to date" in run(["dvc", "status"], root).stdout


def test_a_fresh_clone_compares_then_reproduces_its_commit(tmp_path):
    # The README's commands in a fresh clone of a project committed with its dvc.lock and
    # reports: the diffs work before any run, and `dvc repro` rebuilds what git does not hold
    # (raw data, weeks) into the committed results.
    root = committed_project(tmp_path / "origin")
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline with dvc.lock"], root)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    for command in (["dvc", "params", "diff"], ["dvc", "metrics", "diff"], ["dvc", "metrics", "show"]):
        result = run(command, clone)
        assert "failed to load" not in result.stderr.lower(), (command, result.stderr)
    run(["dvc", "repro"], clone)
    assert json.loads(run(["dvc", "metrics", "diff", "--json"], clone).stdout) == {}
    tracked = ["dvc.lock", "reports/summary.json", "reports/weekly.csv"]
    assert run(["git", "status", "--porcelain", "--", *tracked], clone).stdout == "", run(["git", "diff", "--", *tracked], clone).stdout  # the same reports, the same lock
    assert "up to date" in run(["dvc", "status"], clone).stdout


def test_dvc_experiments_compare_retraining_policies(tmp_path):
    root = committed_project(tmp_path / "exp")
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline policy"], root)

    production = json.loads((root / "weeks" / WEEK / "tracker.json").read_text())["model_version"]
    run(["dvc", "exp", "run", "-n", "weekly-retrain", "-S", "retrain.time.max_days=7"], root)
    # the experiment has its own alias; the production alias still names production's model
    client = registry(root)
    assert str(client.get_model_version_by_alias("credit-scoring", "champion").version) == production
    experiment = json.loads((root / "weeks" / WEEK / "tracker.json").read_text())
    assert experiment["model_alias"] == "champion-weekly-retrain"
    assert str(client.get_model_version_by_alias("credit-scoring", "champion-weekly-retrain").version) == experiment["model_version"]
    diff = run(["dvc", "params", "diff", "--json"], root).stdout
    assert "retrain.time.max_days" in diff
    # the experiment's results are in the workspace: compare them with the committed baseline
    metrics = json.loads(run(["dvc", "metrics", "diff", "--json"], root).stdout)
    retrains = metrics["reports/summary.json"]["retrains"]
    assert (retrains["old"], retrains["new"]) == (2, 4)
    table = list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv"], root).stdout)))
    by_name = {row["Experiment"] or row["rev"]: row for row in table}
    assert by_name["weekly-retrain"]["retrains"] == "4"  # every week retrains
    assert by_name["weekly-retrain"]["retrain.time.max_days"] == "7"
    baseline = next(row for row in table if row["typ"] == "baseline" and row["rev"] != "workspace")
    assert baseline["retrains"] == "2" and baseline["retrain.time.max_days"] == "21"
    # the policies' weekly figures side by side: one line, one colour each
    plots = json.loads(run(["dvc", "plots", "diff", "--json", "HEAD", "weekly-retrain"], root).stdout)
    for plot_id in PLOTS:
        (plot,) = plots["data"][plot_id]
        assert set(plot["revisions"]) == {"HEAD", "weekly-retrain"}
        assert plot["content"]["encoding"]["color"]["field"] == "rev"
        assert drawn_lines(render(plot["content"])) == [len(TINY_WEEKS[:4])] * 2


def test_a_queued_experiment_registers_into_the_projects_store(tmp_path):
    # Queued experiments run in a temporary copy of the project: their registrations must
    # still land in the project's own MLflow store, under their own alias.
    root = committed_project(tmp_path / "queue")
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "baseline policy"], root)
    production = str(registry(root).get_model_version_by_alias("credit-scoring", "champion").version)
    run(["dvc", "exp", "run", "--queue", "-n", "queued-weekly", "-S", "retrain.time.max_days=7"], root)
    run(["dvc", "exp", "run", "--run-all"], root)
    client = registry(root)
    queued = client.get_model_version_by_alias("credit-scoring", "champion-queued-weekly")
    assert queued.tags["week"] == WEEK  # every week retrains under this policy
    assert str(client.get_model_version_by_alias("credit-scoring", "champion").version) == production


# --- The project's own DVC files ------------------------------------------------------

def render(spec: dict) -> str:
    """A Vega-Lite spec drawn to SVG offline (no browser, no CDN)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec, vl_version=VL_VERSION)


def drawn_lines(svg: str) -> list[int]:
    """The number of points of each line a Vega SVG draws: a line with nothing to draw is
    still there, with an empty path."""
    groups = re.findall(r'<g class="mark-line[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    paths = [path for group in groups for path in re.findall(r"<path\b[^>]*>", group)]
    return [len(re.findall(r"[ML]", " ".join(re.findall(r'\sd="([^"]*)"', path)))) for path in paths]


def weekly_report() -> list[dict]:
    with open(REPO / "reports" / "weekly.csv", newline="") as f:
        return list(csv.DictReader(f))


def reports_project(root):
    """The project's DVC files and committed reports, committed in a repository of their own:
    what `dvc plots` and `dvc metrics` read, without running the chain."""
    for name in ("dvc.yaml", "params.yaml", "reports/weekly.csv", "reports/summary.json", ".dvc/config"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / ".dvc" / "plots", root / ".dvc" / "plots")
    return commit_all(root, "reports")


def test_dvc_plots_draw_the_weekly_figures_against_time(tmp_path):
    root = reports_project(tmp_path / "plots")
    shown = json.loads(run(["dvc", "plots", "show", "--json"], root).stdout)
    weekly = weekly_report()
    judged = [row for row in weekly if row["evaluated"] == "True" and row["too_small"] != "True"]
    assert len(weekly) == 155 and len(judged) > 100
    for plot_id, field in PLOTS.items():
        (plot,) = shown["data"][plot_id]
        spec = plot["content"]
        x, y = spec["encoding"]["x"], spec["encoding"]["y"]
        assert (x["field"], x["type"], x["title"]) == ("week", "temporal", "Week")
        assert (y["field"], y["type"]) == (field, "quantitative") and y["title"] in ("Macro F1", "AUC")
        assert spec["encoding"]["color"]["field"] == "rev" and spec["title"]["text"]
        values = spec["data"]["values"]
        assert [(v["week"], v[field]) for v in values] == [(row["week"], row[field]) for row in weekly]

        svg = render(spec)
        assert drawn_lines(svg) == [len(judged)]  # one line through every judged week
        assert "Week" in svg and y["title"] in svg and "2023" in svg  # axis titles, and dates on the axis

    # DVC's default template on the same data: a line mark with no line (x declared quantitative)
    from dvc_render import VegaRenderer

    default = VegaRenderer(shown["data"]["weekly_macro_f1"][0]["content"]["data"]["values"], "weekly.csv",
                           x="week", y="macro_f1").get_filled_template()
    assert drawn_lines(render(default)) == [0]


def test_dvc_plots_diff_draws_one_line_per_revision(tmp_path):
    root = reports_project(tmp_path / "diff")
    other = pd.read_csv(root / "reports" / "weekly.csv")
    other["macro_f1"] -= 0.05
    other["auc"] -= 0.02
    other.to_csv(root / "reports" / "weekly.csv", index=False)  # another policy's report

    shown = json.loads(run(["dvc", "plots", "diff", "--json", "HEAD"], root).stdout)
    for plot_id in PLOTS:
        (plot,) = shown["data"][plot_id]
        assert sorted(plot["revisions"]) == ["HEAD", "workspace"]
        color = plot["content"]["encoding"]["color"]
        assert color["field"] == "rev" and sorted(color["scale"]["domain"]) == ["HEAD", "workspace"]
        svg = render(plot["content"])
        assert drawn_lines(svg) == [155, 155]
        strokes = re.findall(r'aria-roledescription="line mark"[^>]*?stroke="([^"]+)"', svg)
        assert len(set(strokes)) == 2  # a colour each


def test_dvc_plots_page_opens_offline(tmp_path):
    # .dvc/config names .dvc/plots/offline.html as the page of `dvc plots show`: the Vega
    # libraries inlined (those of the pinned vl-convert-python), nothing from a CDN.
    import vl_convert

    root = reports_project(tmp_path / "page")
    run(["dvc", "plots", "show"], root)
    page = (root / "dvc_plots" / "index.html").read_text()
    assert "cdn." not in page and not re.search(r"<script[^>]*\ssrc=", page)
    assert vl_convert.javascript_bundle(vl_version=VL_VERSION) in page
    assert all(f"vegaEmbed('#{plot_id}', spec)" in page for plot_id in PLOTS)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_dvc_plots_page_draws_in_headless_chromium(tmp_path):
    root = reports_project(tmp_path / "chromium")
    run(["dvc", "plots", "show"], root)
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
         (root / "dvc_plots" / "index.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    judged = [row for row in weekly_report() if row["evaluated"] == "True" and row["too_small"] != "True"]
    assert drawn_lines(dom) == [len(judged)] * len(PLOTS)


@pytest.mark.parametrize("override, line", [
    ("retrain.time.max_days=60", "    max_days: 60"),
    ("week=2024-06-30", "week: '2024-06-30'"),
    ("train.lightgbm.learning_rate=0.05", "    learning_rate: 0.05"),
    ("data.generate=false", "  generate: false"),
])
def test_an_experiments_params_diff_is_the_changed_line(tmp_path, override, line):
    # What `dvc exp run -S` does to params.yaml, by DVC's own writer: one line changes,
    # comments and layout stay.
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    apply_overrides(str(path), [override])
    before, after = (REPO / "params.yaml").read_text().splitlines(), path.read_text().splitlines()
    changed = [d for d in difflib.unified_diff(before, after, lineterm="", n=0) if d[:1] in "+-" and d[1:3] not in ("++", "--")]
    assert len(changed) == 2 and changed[1].startswith("+" + line), changed

    shutil.copy(REPO / "params.yaml", path)
    apply_overrides(str(path), ["seed=42"])  # the value it has: the file is left as it is
    assert path.read_text() == (REPO / "params.yaml").read_text()


def test_dvc_lock_matches_the_committed_reports_and_params(repo_root):
    # The lock records what the committed reports came from: a fresh clone has a baseline
    # to compare with, and `dvc status` on the reports is clean.
    lock = yaml.safe_load((repo_root / "dvc.lock").read_text())["stages"]
    outs = {out["path"]: out["md5"] for out in lock["all_weeks"]["outs"]}
    for name in ("reports/summary.json", "reports/weekly.csv"):
        assert outs[name] == _dvc_md5(repo_root / name), f"{name} changed since dvc.lock: run `dvc repro`"
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    for stage in lock.values():
        for key, value in stage["params"]["params.yaml"].items():
            node = params
            for part in key.split("."):
                node = node[part]
            assert node == value, key


def _dvc_md5(path) -> str:
    """The md5 DVC records of a file (of its text with the line ends normalised)."""
    from dvc_data.hashfile.hash import file_md5

    return file_md5(str(path))


def test_a_fresh_clone_compares_with_its_commit(tmp_path):
    # The README's DVC commands that need no run, in a fresh clone of what would be committed.
    source = tmp_path / "source"
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    commit_all(source, "as committed")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(source), str(clone)], tmp_path)

    for command in (["dvc", "metrics", "show"], ["dvc", "params", "diff"], ["dvc", "metrics", "diff"],
                    ["dvc", "plots", "show", "--json"], ["dvc", "status"]):
        result = run(command, clone)
        assert "failed to load" not in result.stderr.lower() and "ERROR" not in result.stderr, (command, result.stderr)
    metrics = json.loads(run(["dvc", "metrics", "diff", "--json", "--all"], clone).stdout)
    assert metrics["reports/summary.json"]["weeks"] == {"old": 155, "new": 155, "diff": 0}
    status = json.loads(run(["dvc", "status", "--json"], clone).stdout)
    # only what git does not hold is missing: the raw data and the week's files, rebuilt by `dvc repro`
    changed_outs = {path for entry in status.get("all_weeks", []) if isinstance(entry, dict)
                    for path in entry.get("changed outs", {})}
    assert not changed_outs & {"reports/summary.json", "reports/weekly.csv"}, status
