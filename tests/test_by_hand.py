"""One wiring: a step runs by hand with its rule's name and wildcards only, and the scripts,
the plain loop and the commands take their arguments from the rules (the real Snakemake)."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TINY_WEEKS, clone, run, tool_env
from weekly.workflow import by_hand
from weekly.workflow.jobs import recorded_arguments

WEEK = TINY_WEEKS[3]  # a retraining week


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def jobs_run(output: str) -> dict[str, int]:
    """The job counts of Snakemake's job table in `output`."""
    table = output[output.index("job "):output.index("total")]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_every_rule_that_runs_a_step_can_be_run_by_hand(backfill, repo_root):
    rules = run(["snakemake", "--list-rules"], backfill[0]).stdout.split()
    steps = set(rules) - {"all_weeks", "raw_data"}  # targets: they run no step
    # the tiny project generates no raw weeks itself (they are there): generate_week is a rule still
    assert set(by_hand.RULES) == steps | {"generate_week"}
    for rule in by_hand.RULES:
        assert (repo_root / "src/weekly/workflow/steps" / f"{rule}.py").exists()  # one name per step
        assert (repo_root / "scripts" / f"{rule}.py").exists() or rule in ("lifecycle_report", "alerts")


def test_a_step_by_hand_runs_that_one_job_with_the_rules_arguments(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "by-hand")
    candidate = root / f"weeks/{WEEK}/candidates/catboost.json"
    model = root / f"models/{WEEK}/catboost/model.cbm"
    before = digest(candidate), digest(model)
    log = root / f"logs/train/catboost/{WEEK}.log"
    arguments = recorded_arguments(log.read_text())

    result = run(["weekly", "step", "train", "--week", WEEK, "--algo", "catboost"], root)
    assert jobs_run(result.stdout + result.stderr) == {"train": 1}  # that job and no other
    assert (digest(candidate), digest(model)) == before  # the same model, byte for byte
    assert recorded_arguments(log.read_text()) == arguments  # from the rule, as in the backfill
    assert "Nothing to be done" in run(["snakemake", "--cores", "1", "-n"], root).stdout  # the chain knows it is done

    # outside the workflow: the same step with the arguments its job was last given
    candidate.unlink()
    shutil.rmtree(root / f"models/{WEEK}/catboost")
    result = run([sys.executable, "scripts/train.py", "--week", WEEK, "--algo", "catboost", "--outside"], root)
    assert "Building DAG" not in result.stdout + result.stderr
    assert (digest(candidate), digest(model)) == before


def test_a_step_by_hand_needs_exactly_its_rules_wildcards(backfill):
    result = run(["weekly", "step", "train", "--week", WEEK], backfill[0], check=False)
    assert result.returncode == 1 and "step train takes --algo and --week: --algo missing" in result.stderr
    result = run(["weekly", "step", "report", "--week", WEEK], backfill[0], check=False)
    assert result.returncode == 1 and "--week is not one of its" in result.stderr
    result = run([sys.executable, "scripts/decide.py", "--help"], backfill[0])
    options = set(re.findall(r"--[a-z]+", result.stdout))
    assert options == {"--help", "--week", "--outside", "--cores", "--params"}  # no paths: the rule gives them


def test_a_job_that_never_ran_cannot_be_replayed_outside(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "never")
    shutil.rmtree(root / "logs" / "predict")
    result = run(["weekly", "step", "predict", "--week", WEEK, "--outside"], root, check=False)
    assert result.returncode == 1
    assert f"logs/predict/{WEEK}.log records no run of this job" in result.stderr


@pytest.mark.slow
def test_the_plain_loop_replays_the_backfill_with_the_same_results(backfill, tmp_path, repo_root):
    """The benchmark's loop takes every job's arguments from the backfill's job logs (the
    rules' wiring) and, run in a clean folder, writes the same reports."""
    sys.path.insert(0, str(repo_root / "benchmarks"))
    try:
        import backfill as bench
    finally:
        sys.path.pop(0)
    snake = backfill[0]
    jobs = bench.recorded_jobs(snake)
    made = jobs_run(backfill[1].stdout + backfill[1].stderr)
    counted: dict[str, int] = {}
    for rule, _ in jobs:
        counted[rule] = counted.get(rule, 0) + 1
    assert counted == {rule: n for rule, n in made.items() if rule != "all_weeks"}
    loop_dir = tmp_path / "loop"
    loop_dir.mkdir()
    shutil.copy(snake / "params.yaml", loop_dir / "params.yaml")
    raw = snake / "data"
    if not counted.get("generate_week"):  # the raw weeks were there before the backfill
        shutil.copytree(raw, loop_dir / "data")
    subprocess.run([sys.executable, str(repo_root / "benchmarks" / "backfill.py"), "--loop", str(loop_dir), str(snake)],
                   check=True, capture_output=True, text=True, timeout=900, env=tool_env())
    for report in ("reports/summary.json", "reports/weekly.csv", f"weeks/{TINY_WEEKS[-1]}/preds.parquet"):
        assert digest(loop_dir / report) == digest(snake / report), report
