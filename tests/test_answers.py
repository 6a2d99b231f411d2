"""What `weekly` answers on the files a real chain leaves (issue 23, "Wrong answers on real
tables"): a week whose retraining was due but not done, scoring before the chain or with a
tracker from elsewhere, one error line, a policy table without judged weeks, and a project
whose files on disk come from other data. The chain's files are written by hand, as the
steps write them, so that no Snakemake run is needed."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import TINY_OVERRIDES, merge, run, write_grid, write_params
from weekly.commands import command, policies, queries
from weekly import paths
from weekly.config import load_params

WEEKS = ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06"]
GATE_WHY = ("lightgbm 0.8421 vs serving version 1 0.8313 on 1500 rows of 2022-01-23: difference +0.0108 "
            "[-0.0031, +0.0235], p = 0.080 >= alpha 0.05 (margin 0.0)")
BLOCKED = "3 training rows of class Poor, fewer than train.min_class_rows 5"


def project(root: Path, overrides: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_params(root, merge(TINY_OVERRIDES, overrides or {}))
    return root


def write(root: Path, relative: str, content) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def decision(week: str, reasons: list[str], blocked: str | None = None) -> dict:
    return {"week": week, "retrain": bool(reasons) and blocked is None, "reasons": reasons, "blocked": blocked,
            "evaluation_seen": None,
            "triggers": {"initial": {"enabled": True, "inputs": {"serving_model": "1"}, "threshold": None,
                                     "fired": False},
                         "time": {"enabled": True, "inputs": {"days_since_last_retraining": 21},
                                  "threshold": {"max_days": 21}, "fired": "time" in reasons}}}


FIRST_SELECTION = {"winner": "catboost", "metric": "macro_f1", "scores": {"lightgbm": 0.7111, "catboost": 0.7222},
                   "metric_scores": {"lightgbm": 0.7111, "catboost": 0.7222}, "excluded": {}, "tie": False,
                   "tie_break": ["lightgbm", "catboost"]}


def first_tracker() -> dict:
    """Week 1 retrained: version 1 serves from 2022-01-16."""
    return {"week": WEEKS[0], "retrained": True, "last_retraining_date": WEEKS[0], "registration_date": WEEKS[0],
            "epoch": WEEKS[0], "model_name": "credit-scoring", "model_version": "1", "model_type": "catboost",
            "model_uri": "models:/credit-scoring/1", "model_alias": "champion", "macro_f1_score": 0.7222,
            "auc_score": 0.9, "trained_until": "2022-01-09", "model_path": f"models/{WEEKS[0]}/winner/model.cbm",
            "model_sha256": "0" * 64, "selection": FIRST_SELECTION}


def carried(previous: dict, week: str, why: str | None = None, **changes) -> dict:
    # as weekly.lifecycle.tracker.carry_over writes it
    state = {k: v for k, v in previous.items() if k != "kept_because"}
    return {**state, "week": week, "retrained": False, **({"kept_because": why} if why else {}), **changes}


def candidate(week: str, algo: str, trained: bool, f1: float = 0.5, classes: int = 3) -> dict:
    if not trained:
        return {"algo": algo, "week": week, "trained": False}
    return {"algo": algo, "week": week, "trained": True, "valid_rows": 50,
            "valid_metrics": {"macro_f1": f1, "predicted_classes": classes}}


def chain_files(root: Path, weeks: dict[str, tuple[dict, dict, list[dict]]]) -> None:
    for week, (made, state, candidates) in weeks.items():
        write(root, paths.DECISION.format(week=week), made)
        write(root, paths.TRACKER.format(week=week), state)
        for record in candidates:
            write(root, paths.CANDIDATE.format(week=week, algo=record["algo"]), record)


def explained(root: Path, week: str, monkeypatch) -> tuple[dict, str]:
    monkeypatch.chdir(root)
    answer = queries.explain(load_params("params.yaml"), week)
    return answer, command.explain_text(answer)


def test_explain_of_a_week_whose_challenger_was_kept_out_says_the_serving_version_was_kept(tmp_path, monkeypatch):
    root = project(tmp_path / "p")
    first = first_tracker()
    gate = {"serving_version": "1", "challenger": "lightgbm", "passed": False, "why": GATE_WHY}
    own = {**FIRST_SELECTION, "winner": "lightgbm", "scores": {"lightgbm": 0.8421, "catboost": 0.8404}, "gate": gate}
    trained = [candidate(WEEKS[2], "lightgbm", True, 0.8421), candidate(WEEKS[2], "catboost", True, 0.8404)]
    chain_files(root, {
        WEEKS[0]: (decision(WEEKS[0], ["initial"]), first, []),
        WEEKS[1]: (decision(WEEKS[1], []), carried(first, WEEKS[1]), []),
        # as weekly.workflow.steps.register writes a week whose challenger was kept out
        WEEKS[2]: (decision(WEEKS[2], ["time"]),
                   carried(first, WEEKS[2], f"challenger kept out: {GATE_WHY}", last_retraining_date=WEEKS[2],
                           selection=own), trained),
    })
    answer, text = explained(root, WEEKS[2], monkeypatch)
    first_line = text.splitlines()[0]
    assert answer["outcome"] == "challenger kept out" and answer["serving"]["since"] == WEEKS[0]
    assert first_line == (f"week {WEEKS[2]}: retraining due (time), no new model promoted: the challenger was kept "
                          f"out; version 1 (catboost) kept, serving since {WEEKS[0]}")
    assert "retrained" not in text.replace("no new model", "")
    assert "selection: lightgbm 0.8421, catboost 0.8404 -> lightgbm" in text
    assert f"challenger gate: kept out: {GATE_WHY}" in text
    # status after that week: the serving version is still the one of week 1
    monkeypatch.chdir(root)
    params = load_params("params.yaml")
    params["end"] = WEEKS[2]
    status = command.status_text(queries.status(params))
    assert f"serving since {WEEKS[0]}" in status and f"retrained {WEEKS[2]}" not in status


def test_explain_of_a_blocked_retraining_shows_that_week_not_the_previous_selection(tmp_path, monkeypatch):
    root = project(tmp_path / "p")
    first = first_tracker()
    chain_files(root, {
        WEEKS[0]: (decision(WEEKS[0], ["initial"]), first, []),
        WEEKS[1]: (decision(WEEKS[1], ["time"], blocked=BLOCKED),
                   carried(first, WEEKS[1], f"training blocked: {BLOCKED}"),
                   [candidate(WEEKS[1], "lightgbm", False), candidate(WEEKS[1], "catboost", False)]),
    })
    answer, text = explained(root, WEEKS[1], monkeypatch)
    assert answer["outcome"] == "retraining due, not done" and answer["selection"] is None
    assert text.splitlines()[0] == (f"week {WEEKS[1]}: retraining due (time), no new model promoted: training blocked: "
                                    f"{BLOCKED}; version 1 (catboost) kept, serving since {WEEKS[0]}")
    assert f"decision: retraining due (time) but blocked: {BLOCKED}" in text
    assert "selection: no candidate was trained this week" in text
    assert "0.7111" not in text and "-> catboost" not in text  # week 1's selection is not this week's


def test_explain_of_a_due_retraining_whose_candidates_could_not_serve_shows_them(tmp_path, monkeypatch):
    root = project(tmp_path / "p")
    first = first_tracker()
    why = "no candidate may serve: {'lightgbm': 'predicts one class for all 50 validation rows'}"
    chain_files(root, {
        WEEKS[0]: (decision(WEEKS[0], ["initial"]), first, []),
        WEEKS[1]: (decision(WEEKS[1], ["time"]), carried(first, WEEKS[1], why),
                   [candidate(WEEKS[1], "lightgbm", True, 0.3333, classes=1),
                    candidate(WEEKS[1], "catboost", True, 0.3222, classes=1)]),
    })
    answer, text = explained(root, WEEKS[1], monkeypatch)
    assert answer["selection"]["winner"] is None
    assert f"no new model promoted: {why}; version 1 (catboost) kept" in text.splitlines()[0]
    assert ("selection: lightgbm 0.3333, catboost 0.3222 -> none may serve (excluded: lightgbm: predicts one class for "
            "all 50 validation rows; catboost: predicts one class for all 50 validation rows)") in text
    assert "0.7111" not in text


# --- weekly score: before the chain, and only a tracker of the chain with a checked model ---

def weekly(root: Path, *args: str) -> "subprocess.CompletedProcess":  # noqa: F821
    return run(["weekly", *args], root, check=False)


def one_error(result, command_name: str) -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"weekly {command_name}: error: ")
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


def scored_week(root: Path, week: str = WEEKS[0], **changes) -> dict:
    """A tracker of `week` naming a model file under models/ with its true sha256 (the file
    is no model: every check here comes before a model is read)."""
    model = write(root, f"models/{week}/winner/model.txt", "not a model")
    state = {**first_tracker(), "week": week, "model_type": "lightgbm", "model_path": f"models/{week}/winner/model.txt",
             "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(), **changes}
    state = {k: v for k, v in state.items() if v is not None}
    write(root, paths.TRACKER.format(week=week), state)
    return state


def test_score_before_the_chain_is_one_line_saying_how_to_run_it(tmp_path):
    root = project(tmp_path / "p")
    line = one_error(weekly(root, "score", "new.csv", "--week", WEEKS[0]), "score")
    assert f"week {WEEKS[0]} has no serving model yet" in line
    assert f"snakemake --cores all weeks/{WEEKS[0]}/tracker.json" in line
    line = one_error(weekly(root, "score", "new.csv"), "score")
    assert "the chain has no serving model yet" in line and "snakemake --cores all all_weeks" in line


@pytest.mark.parametrize("week", ["../../tmp/x", "/tmp/x", "2022-01-17", "2022-03-13", "2022-1-16", "weeks"])
def test_score_takes_only_a_week_of_the_chain(tmp_path, week):
    root = project(tmp_path / "p")
    write(tmp_path, "tmp/x/tracker.json", scored_week(root))  # where p/weeks/../../tmp/x/tracker.json leads
    line = one_error(weekly(root, "score", "new.csv", "--week", week), "score")
    assert f"--week {week!r} is not a week of the chain" in line


@pytest.mark.parametrize("changes, message", [
    ({"model_path": "../elsewhere/model.txt"}, "is outside the project's models/ folder"),
    ({"model_path": "/etc/hostname"}, "is outside the project's models/ folder"),
    ({"model_path": "models/../params.yaml"}, "is outside the project's models/ folder"),
    ({"model_sha256": None}, "records no model_sha256"),
    ({"model_sha256": ""}, "records no model_sha256"),
])
def test_score_refuses_a_tracker_whose_model_is_outside_models_or_unchecked(tmp_path, changes, message):
    root = project(tmp_path / "p")
    scored_week(root, **changes)
    line = one_error(weekly(root, "score", "new.csv", "--week", WEEKS[0]), "score")
    assert message in line and "the tracker was edited or comes from an older version; re-run the week" in line


def test_score_with_a_model_file_that_is_not_the_recorded_one_is_one_line(tmp_path):
    from weekly.inputs.generate import generate_week

    root = project(tmp_path / "p")
    scored_week(root, model_sha256="f" * 64)
    generate_week(pd.Timestamp(WEEKS[0]).date(), 5, 1).to_csv(root / "new.csv", index=False)
    line = one_error(weekly(root, "score", "new.csv", "--week", WEEKS[0]), "score")
    assert "sha256" in line and f"models/{WEEKS[0]}/winner/model.txt" in line


# --- every failure is one line on stderr ---

def test_every_failing_command_prints_its_error_once(tmp_path):
    root = project(tmp_path / "p")
    write_grid(root / "policies.yaml", "policies", {"every-21d": {}})
    write_grid(root / "portfolios.yaml", "portfolios", {"north": {}})
    (root / "table.csv").write_text("application_id,application_date\n1,2022-01-16\n")
    failures = {
        "status": ["status", "--params", "missing.yaml"],
        "explain": ["explain", WEEKS[1]],
        "score": ["score", "new.csv", "--week", WEEKS[0]],
        "import": ["import", "table.csv"],  # data.generate is true: refused by the import step
        "policies": ["policies", "--only", "nope"],
        "portfolios": ["portfolios", "--only", "nope"],
        "lifecycle": ["lifecycle"],
    }
    for name, args in failures.items():
        one_error(weekly(root, *args), name)


# --- weekly policies when no week was judged ---

def unjudged_policy(folder: Path, weeks: list[str]) -> None:
    """A policy's backfill in which every week was too small to judge."""
    write(folder, paths.SUMMARY, {
        "weeks": len(weeks), "first_week": weeks[0], "last_week": weeks[-1], "retrains": 1, "judged_weeks": 0,
        "mean_macro_f1": None, "worst_macro_f1": None, "worst_week": None, "mean_auc": None, "worst_auc": None})
    pd.DataFrame({"week": weeks, "macro_f1": [0.5] * len(weeks), "evaluated": True, "too_small": True}).to_csv(
        folder / paths.WEEKLY_REPORT, index=False)
    for week in weeks:
        write(folder, paths.TRACKER.format(week=week), {"week": week})
        for algo in ("lightgbm", "catboost"):
            write(folder, paths.CANDIDATE.format(week=week, algo=algo), candidate(week, algo, False))


def test_the_policy_table_says_n_a_for_figures_that_do_not_exist(tmp_path):
    params = load_params(project(tmp_path / "p") / "params.yaml")
    unjudged_policy(tmp_path / "policies" / "small", WEEKS)
    table = policies.compare(params, {"small": {"retrain.time.max_days": 14}}, tmp_path / "policies")
    assert list(table["policy"]) == ["small"] and table["mean_macro_f1"].isna().all()
    text = policies.table_text(table)
    assert text.splitlines()[1].split()[:6] == ["small", "n/a", "n/a", "n/a", "n/a", "n/a"]
    summary = json.loads((tmp_path / "policies/small" / paths.SUMMARY).read_text())
    assert policies.chain_line("small", 12.0, summary).endswith("1 retrainings  mean macro F1 n/a")
    policies.plot(table, {"small": policies.weekly_table(tmp_path / "policies/small")}, 0.75, tmp_path / "plot.svg")
    assert "small" in (tmp_path / "plot.svg").read_text()


# --- files on disk that do not come from params.yaml ---

def committed_reports(root: Path, generate: bool = True) -> None:
    """reports/summary.json of the embedded data, and dvc.lock recording it (as the repository ships them)."""
    summary = write(root, paths.SUMMARY, {"weeks": 155, "first_week": "2022-01-16", "last_week": "2024-12-29",
                                          "last_week_model_version": "10"})
    recorded = merge(yaml.safe_load((root / "params.yaml").read_text()), {"data": {"generate": generate}})
    write(root, "dvc.lock", yaml.safe_dump({"schema": "2.0", "stages": {"all_weeks": {
        "cmd": "snakemake --cores all all_weeks", "params": {"params.yaml": recorded},
        "outs": [{"path": paths.SUMMARY, "hash": "md5", "md5": hashlib.md5(summary.read_bytes()).hexdigest()}]}}}))


def status_of(root: Path, monkeypatch) -> str:
    monkeypatch.chdir(root)
    return command.status_text(queries.status(load_params("params.yaml")))


def test_status_says_the_committed_reports_come_from_the_embedded_data(tmp_path, monkeypatch):
    root = project(tmp_path / "p", {"data": {"generate": False}})
    committed_reports(root)
    text = status_of(root, monkeypatch)
    assert ("note: reports/ (summary.json, weekly.csv, lifecycle.html) come from the embedded synthetic data "
            "(data.generate true in dvc.lock), not from data/raw") in text
    # once the reports are the project's own (dvc.lock no longer names them), they are compared with weeks/
    write(root, paths.SUMMARY, {"first_week": "2022-01-16", "last_week": WEEKS[0], "last_week_model_version": "1"})
    assert "come from a run whose weeks are not here (no weeks/2022-01-16/tracker.json" in status_of(root, monkeypatch)
    write(root, paths.TRACKER.format(week=WEEKS[0]), first_tracker())
    assert "note:" not in status_of(root, monkeypatch)


def test_status_reads_the_data_the_summary_records(tmp_path, monkeypatch):
    # the report step's record (reports/summary.json `params`: start, seed, data), when it writes one
    root = project(tmp_path / "p", {"data": {"generate": False, "raw_dir": "data/own"}})
    params = yaml.safe_load((root / "params.yaml").read_text())
    write(root, paths.SUMMARY, {"first_week": "2022-01-16", "last_week": WEEKS[0],
                                "params": {"start": params["start"], "seed": params["seed"],
                                           "data": {**params["data"], "raw_dir": "data/other"}}})
    assert "were made from other data (data.raw_dir data/other -> data/own; reports/summary.json)" in \
           status_of(root, monkeypatch)


def test_status_and_explain_say_which_weeks_ran_before_their_raw_files_changed(tmp_path, monkeypatch):
    root = project(tmp_path / "p", {"data": {"generate": False}})
    first = first_tracker()
    chain_files(root, {WEEKS[0]: (decision(WEEKS[0], ["initial"]), first, []),
                       WEEKS[1]: (decision(WEEKS[1], []), carried(first, WEEKS[1]), [])})
    for week in WEEKS[:2]:
        write(root, paths.PREDS.format(week=week), "scored")
        raw = write(root, paths.applications("data/raw").format(week=week), "imported")
        later = time.time() + 60
        os.utime(raw, (later, later))  # imported after the week ran
    text = status_of(root, monkeypatch)
    assert (f"note: 2 week(s) ran before their raw files in data/raw last changed ({WEEKS[0]}..{WEEKS[1]}): their "
            "files under weeks/ and models/ are not from that data") in text
    _, explanation = explained(root, WEEKS[1], monkeypatch)
    assert f"note: 1 week(s) ran before their raw files in data/raw last changed ({WEEKS[1]})" in explanation


def generated_backfill(root: Path, week: str = WEEKS[0]) -> None:
    """A week that ran on the generated data, before data.generate was set to false."""
    raw = write(root, paths.applications("data/raw").format(week=week), "generated")
    os.utime(raw, (time.time() - 60, time.time() - 60))
    write(root, paths.log("generate_week", "week").format(week=week), "generated")
    write(root, paths.TRACKER.format(week=week), first_tracker())
    (root / "models").mkdir(exist_ok=True)


def test_status_says_the_weeks_ran_on_the_generated_data_when_generate_is_now_false(tmp_path, monkeypatch):
    root = project(tmp_path / "p", {"data": {"generate": False}})
    generated_backfill(root)
    assert ("note: weeks/ and models/ of 1 week(s) come from the embedded synthetic data (logs/generate_week/), while "
            "data.generate is false") in status_of(root, monkeypatch)
    write_params(root, TINY_OVERRIDES)  # data.generate true: they are this chain's
    assert "note:" not in status_of(root, monkeypatch)


@pytest.mark.parametrize("made_by", ["dvc.lock", "generate_week logs"])
def test_import_over_a_chain_of_the_embedded_data_says_the_next_run_replaces_it(tmp_path, made_by):
    from weekly.inputs.generate import generate_week

    root = project(tmp_path / "p", {"data": {"generate": False}})
    if made_by == "dvc.lock":
        committed_reports(root)
    else:
        generated_backfill(root)
    generate_week(pd.Timestamp(WEEKS[0]).date(), 20, 1).to_csv(root / "table.csv", index=False)
    result = run(["weekly", "import", "table.csv"], root)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("wrote 1 weeks of applications")
    assert "come from the embedded synthetic data: the next `snakemake --cores all all_weeks` replaces them" in lines[1]
    assert len(lines) == 2 and result.stderr == ""
    # an import into a project whose files are its own says nothing more
    mine = project(tmp_path / "mine", {"data": {"generate": False}})
    (root / "table.csv").rename(mine / "table.csv")
    assert len(run(["weekly", "import", "table.csv"], mine).stdout.splitlines()) == 1
    helped = " ".join(run(["weekly", "import", "--help"], mine).stdout.split())
    assert "come from the embedded synthetic data, says so" in helped
