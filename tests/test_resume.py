"""Resume after a crash: kill the real Snakemake mid-backfill, run again, get the same results."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from helpers import BIN, TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, make_project, snakemake, tool_env


def test_backfill_resumes_after_a_hard_kill(backfill, tmp_path):
    root = make_project(tmp_path / "crash")
    proc = subprocess.Popen(
        [str(BIN / "snakemake"), "--cores", "2", "all_weeks"], cwd=root, env=tool_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    marker = root / "weeks" / TINY_WEEKS[3] / "eval.json"  # week 4 done: the crash hits the middle
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # no clean-up: a crash, not a Ctrl-C
    proc.wait()
    assert marker.exists() and not (root / "reports" / "summary.json").exists()

    snakemake(root, "--unlock")
    snakemake(root, "all_weeks")

    reference = backfill[0]
    for week in TINY_WEEKS:
        for name in ("eval.json", "decision.json"):
            assert json.loads((root / "weeks" / week / name).read_text()) == json.loads(
                (reference / "weeks" / week / name).read_text()
            ), f"{week}/{name}"
        got = json.loads((root / "weeks" / week / "tracker.json").read_text())
        want = json.loads((reference / "weeks" / week / "tracker.json").read_text())
        assert got["model_version"] == want["model_version"] and got["model_type"] == want["model_type"]

    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    assert len(MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions("name = 'credit-scoring'")) == 3


def test_a_lost_mlflow_store_stops_the_run_and_the_chain_registers_again_as_told(backfill, tmp_path):
    import json
    from mlflow import MlflowClient

    root = clone(backfill[0], tmp_path / "lost")
    (root / "mlflow.db").unlink()
    result = snakemake(root, "--forcerun", "alerts", "all_weeks", check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the MLflow store sqlite:///mlflow.db" in said and "is missing" in said and "--forcerun register" in said

    snakemake(root, "--forcerun", "register", "all_weeks", env={"WEEKLY_REGISTER_AGAIN": "1"})
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    versions = sorted(client.search_model_versions("name = 'credit-scoring'"), key=lambda v: int(v.version))
    assert [v.tags["week"] for v in versions] == TINY_RETRAIN_WEEKS  # the same versions, in week order
    for week in TINY_WEEKS:
        tracker = json.loads((root / "weeks" / week / "tracker.json").read_text())
        assert client.get_model_version("credit-scoring", tracker["model_version"]).tags["week"] == \
            tracker["last_retraining_date"]


def test_a_tracker_pointing_at_another_model_file_stops_the_week_before_it_scores(backfill, tmp_path):
    import json

    root = clone(backfill[0], tmp_path / "swapped")
    week = TINY_WEEKS[-1]
    tracker = json.loads((root / "weeks" / week / "tracker.json").read_text())
    native = Path(tracker["model_path"]).name
    # another week's model of the same algorithm: it would load and score without a complaint
    swapped = next(str(p.relative_to(root)) for p in sorted(root.glob(f"models/*/*/{native}"))
                   if str(p.relative_to(root)) != tracker["model_path"])
    (root / "weeks" / week / "tracker.json").write_text(json.dumps({**tracker, "model_path": swapped}))
    result = snakemake(root, "--force", f"weeks/{week}/preds.parquet", check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{swapped}, the model serving week {week}" in said
    assert f"is not the file registered as version {tracker['model_version']}" in said
