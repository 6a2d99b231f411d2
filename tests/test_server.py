"""The registry a team shares: `mlflow server` on PostgreSQL (Debian's package), started here
on loopback, with the tiny chain registering into it."""
from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import BIN, TINY_RETRAIN_WEEKS, TINY_WEEKS, make_project, run, snakemake


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path:
    """Debian's PostgreSQL programs; installed with apt-get when missing and run as root."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        subprocess.run(["apt-get", "install", "-y", "postgresql"], env=env, capture_output=True, check=False)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("Debian's postgresql is not installed (`apt-get install -y postgresql`; .ci/run does it)")
    return Path(found[-1]).parent


def _as_postgres(*command: str) -> list[str]:
    # initdb and the server refuse to run as root
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def server():
    """A PostgreSQL cluster and an `mlflow server` on it (artifacts served by the server),
    both on loopback ports of their own; stopped and removed afterwards."""
    pg = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="weekly-pg-", dir="/tmp"))
    data, artifacts = root / "data", root / "artifacts"
    data.mkdir()
    artifacts.mkdir()
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    pg_port, port = _free_port(), _free_port()
    subprocess.run(_as_postgres(str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-o",
                                f"-p {pg_port} -k {data} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)
    mlflow = None
    try:
        subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "mlflow"],
                       check=True, capture_output=True)
        uri = f"http://127.0.0.1:{port}"
        log = open(root / "mlflow.log", "w")
        mlflow = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--backend-store-uri",
             f"postgresql://postgres@127.0.0.1:{pg_port}/mlflow", "--artifacts-destination", str(artifacts),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        for _ in range(180):  # the schema's migrations run first
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if mlflow.poll() is not None:
                    pytest.fail(f"mlflow server stopped: {(root / 'mlflow.log').read_text()[-3000:]}")
                time.sleep(1)
        else:
            pytest.fail(f"mlflow server did not answer: {(root / 'mlflow.log').read_text()[-3000:]}")
        yield uri
    finally:
        if mlflow is not None:
            mlflow.terminate()
            mlflow.wait(timeout=30)
        subprocess.run(_as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_the_tiny_chain_registers_into_mlflow_server_on_postgresql(server, tmp_path):
    from mlflow import MlflowClient

    root = make_project(tmp_path / "project")
    env = {"MLFLOW_TRACKING_URI": server}
    snakemake(root, "all_weeks", env=env)
    assert not (root / "mlflow.db").exists()  # nothing went to the embedded store

    client = MlflowClient(tracking_uri=server, registry_uri=server)
    versions = client.search_model_versions("name = 'credit-scoring'")
    assert len(versions) == len(TINY_RETRAIN_WEEKS)
    keys = [v.tags["registration_key"] for v in versions]
    assert len(set(keys)) == len(keys)
    last = json.loads((root / "weeks" / TINY_WEEKS[-1] / "tracker.json").read_text())
    assert client.get_model_version_by_alias("credit-scoring", "champion").version == str(last["model_version"])

    # a second run of the chain (every job forced) registers nothing new: the keys are reused
    snakemake(root, "all_weeks", "--forceall", env=env)
    assert len(client.search_model_versions("name = 'credit-scoring'")) == len(TINY_RETRAIN_WEEKS)

    # the served model loads from the server, artifacts included
    probe = ("import mlflow, pandas as pd; m = mlflow.pyfunc.load_model('models:/credit-scoring@champion'); "
             f"rows = pd.read_parquet('data/raw/applications/{TINY_WEEKS[-1]}.parquet').head(5); "
             "print(m.predict(rows.drop(columns=['application_id', 'application_date'])).shape[0])")
    assert run(["python", "-c", probe], root, env=env).stdout.strip().splitlines()[-1] == "5"


@pytest.mark.slow
def test_two_chains_registering_the_same_training_at_once_on_a_server_leave_one_version(server, backfill, tmp_path,
                                                                                          repo_root):
    import yaml
    from mlflow import MlflowClient

    from helpers import clone, tool_env

    root = clone(backfill[0], tmp_path / "race")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["registry"]["model_name"] = "race-test"  # a model of its own on the shared server
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    week = TINY_RETRAIN_WEEKS[0]
    window = json.loads((root / "weeks" / week / "decision.json").read_text())["training_window"]["weeks"]
    env = {**tool_env(), "MLFLOW_TRACKING_URI": server}
    rounds = []
    for attempt in range(10):  # the same training registered by two processes at once, ten times
        client = MlflowClient(tracking_uri=server, registry_uri=server)
        for version in client.search_model_versions("name = 'race-test'"):
            client.delete_model_version("race-test", version.version)
        both = [subprocess.Popen(
            ["python", str(repo_root / "scripts" / "register.py"), "--week", week,
             "--decision", f"weeks/{week}/decision.json",
             "--candidates", f"weeks/{week}/candidates/lightgbm.json", f"weeks/{week}/candidates/catboost.json",
             "--out", f"out-{attempt}-{side}.json", "--winner-model", f"winner-{attempt}-{side}",
             "--window-applications", *[f"data/raw/applications/{w}.parquet" for w in window],
             "--window-outcomes", *[f"data/raw/outcomes/{w}.parquet" for w in window]],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for side in "ab"]
        for process in both:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        trackers = [json.loads((root / f"out-{attempt}-{side}.json").read_text()) for side in "ab"]
        versions = client.search_model_versions("name = 'race-test'")
        keys = [v.tags["registration_key"] for v in versions]
        assert len(versions) == 1 and len(set(keys)) == 1, [(v.version, v.tags["registration_key"]) for v in versions]
        assert trackers[0]["model_version"] == trackers[1]["model_version"] == str(versions[0].version)
        rounds.append(versions[0].version)
    assert len(rounds) == 10
