"""The MLflow registration step on its own: concurrency on a fresh SQLite store."""
from __future__ import annotations

import json
import shutil
import subprocess

from helpers import TINY_RETRAIN_WEEKS, clone, tool_env


def window_arguments(root, week):
    window = json.loads((root / "weeks" / week / "decision.json").read_text())["training_window"]["weeks"]
    return ["--window-applications", *[f"data/raw/applications/{w}.parquet" for w in window],
            "--window-outcomes", *[f"data/raw/outcomes/{w}.parquet" for w in window]]


def test_parallel_registrations_on_a_fresh_store_both_succeed(backfill, tmp_path, repo_root):
    # Two processes opening a fresh SQLite store at once race on its schema migrations
    # unless access is serialised; both must succeed and register one version each.
    root = clone(backfill[0], tmp_path / "parallel")
    (root / "mlflow.db").unlink()
    shutil.rmtree(root / "mlartifacts")
    procs = []
    for week in TINY_RETRAIN_WEEKS[:2]:
        args = ["python", str(repo_root / "scripts" / "register.py"), "--week", week,
                "--decision", f"weeks/{week}/decision.json",
                "--candidates", f"weeks/{week}/candidates/lightgbm.json", f"weeks/{week}/candidates/catboost.json",
                "--out", f"out-{week}.json", "--winner-model", f"winner-{week}", *window_arguments(root, week)]
        if week != TINY_RETRAIN_WEEKS[0]:
            args += ["--previous-tracker", "weeks/2022-01-30/tracker.json"]
        procs.append(subprocess.Popen(args, cwd=root, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    versions = MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions("name = 'credit-scoring'")
    assert sorted(v.tags["week"] for v in versions) == TINY_RETRAIN_WEEKS[:2]


def test_mlflow_tracking_uri_points_the_registry_elsewhere(backfill, tmp_path, repo_root):
    root = clone(backfill[0], tmp_path / "elsewhere")
    other = tmp_path / "server-store.db"
    week = TINY_RETRAIN_WEEKS[0]
    env = {**tool_env(), "MLFLOW_TRACKING_URI": f"sqlite:///{other}"}
    result = subprocess.run(
        ["python", str(repo_root / "scripts" / "register.py"), "--week", week,
         "--decision", f"weeks/{week}/decision.json",
         "--candidates", f"weeks/{week}/candidates/lightgbm.json", f"weeks/{week}/candidates/catboost.json",
         "--out", "out.json", "--winner-model", "winner", *window_arguments(root, week)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr

    from mlflow import MlflowClient

    def versions(db):
        uri = f"sqlite:///{db}"
        return MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions("name = 'credit-scoring'")

    assert [v.tags["week"] for v in versions(other)] == [week]
    assert len(versions(root / "mlflow.db")) == 3  # the embedded store is untouched


def test_an_unreachable_tracking_server_fails_the_registration_at_once_in_one_line(backfill, tmp_path, repo_root):
    # MLflow alone retries for ~250 s, saying nothing; port 9 (discard) is closed here
    root = clone(backfill[0], tmp_path / "down")
    week = TINY_RETRAIN_WEEKS[0]
    env = {**tool_env(), "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    result = subprocess.run(
        ["python", str(repo_root / "scripts" / "register.py"), "--week", week, "--decision", f"weeks/{week}/decision.json",
         "--candidates", f"weeks/{week}/candidates/lightgbm.json", f"weeks/{week}/candidates/catboost.json",
         "--out", "out.json", "--winner-model", "winner", *window_arguments(root, week)],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1 and not (root / "out.json").exists()
    errors = [line for line in result.stderr.splitlines() if "unreachable" in line]
    assert len(errors) == 1 and "MLflow tracking server http://127.0.0.1:9 is unreachable" in errors[0]
    assert "Traceback" not in result.stderr


def test_a_run_left_running_by_a_crash_is_closed_as_failed_when_the_week_is_registered_again(backfill, tmp_path,
                                                                                               repo_root):
    from mlflow import MlflowClient

    root = clone(backfill[0], tmp_path / "crashed")
    week = TINY_RETRAIN_WEEKS[1]
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("credit-scoring-weekly")
    # a crash inside MLflow logging: the run never ended, no version was made
    cut = client.create_run(exp.experiment_id, run_name=f"{week}-lightgbm", tags={"week": week}).info.run_id
    other = client.create_run(exp.experiment_id, run_name="another week", tags={"week": TINY_RETRAIN_WEEKS[2]}).info.run_id
    for version in client.search_model_versions(f"name = 'credit-scoring' and tags.week = '{week}'"):
        client.delete_model_version("credit-scoring", version.version)
    result = subprocess.run(
        ["python", str(repo_root / "scripts" / "register.py"), "--week", week, "--decision", f"weeks/{week}/decision.json",
         "--candidates", f"weeks/{week}/candidates/lightgbm.json", f"weeks/{week}/candidates/catboost.json",
         "--previous-tracker", f"weeks/{TINY_RETRAIN_WEEKS[0]}/tracker.json",
         "--out", "out.json", "--winner-model", "winner", *window_arguments(root, week)],
        cwd=root, env=tool_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert client.get_run(cut).info.status == "FAILED"
    assert client.get_run(other).info.status == "RUNNING"  # another week's run is not this week's business
