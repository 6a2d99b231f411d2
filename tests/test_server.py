"""The registry a team shares: `mlflow server` on PostgreSQL (Debian's package), started here
on loopback, with the tiny chain registering into it."""
from __future__ import annotations

import contextlib
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

from helpers import BIN, REPO, TINY_RETRAIN_WEEKS, TINY_WEEKS, make_project, next_week, run, snakemake, tool_env


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


USERS = {"admin": "admin-pw-for-tests", "alice": "alice-pw-for-tests", "mallory": "mallory-pw-for-tests"}


def as_user(name: str | None) -> dict:
    """The environment with which MLflow's client (and the chain) signs in as `name` (None: nobody)."""
    if name is None:
        return {"MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": ""}
    return {"MLFLOW_TRACKING_USERNAME": name, "MLFLOW_TRACKING_PASSWORD": USERS[name]}


@contextlib.contextmanager
def signed_in(name: str | None):
    """MLflow's client in this process signed in as `name` for the block."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update(as_user(name))
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture(scope="module")
def server():
    """The documented team registry: a PostgreSQL cluster and an `mlflow server` on it with
    MLflow's basic-auth app (profiles/server/basic_auth.ini, the admin's password from the
    environment), artifacts served by the server, both on loopback ports of their own;
    users alice (the chain) and mallory (signed in, nothing granted). Stopped and removed
    afterwards."""
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
        env = {**os.environ, "MLFLOW_AUTH_CONFIG_PATH": str(REPO / "profiles" / "server" / "basic_auth.ini"),
               "MLFLOW_AUTH_ADMIN_PASSWORD": USERS["admin"], "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-secret-for-tests"}
        mlflow = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--app-name", "basic-auth", "--backend-store-uri",
             f"postgresql://postgres@127.0.0.1:{pg_port}/mlflow", "--artifacts-destination", str(artifacts),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env,
        )
        for _ in range(240):  # the schema's migrations run first
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if mlflow.poll() is not None:
                    pytest.fail(f"mlflow server stopped: {(root / 'mlflow.log').read_text()[-3000:]}")
                time.sleep(1)
        else:
            pytest.fail(f"mlflow server did not answer: {(root / 'mlflow.log').read_text()[-3000:]}")
        from mlflow.server import get_app_client

        with signed_in("admin"):
            admin = get_app_client("basic-auth", tracking_uri=uri)
            for name in ("alice", "mallory"):
                admin.create_user(name, USERS[name])
        yield uri
    finally:
        if mlflow is not None:
            mlflow.terminate()
            mlflow.wait(timeout=30)
        subprocess.run(_as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def chain(server, tmp_path_factory):
    """The tiny chain, backfilled by alice into the server (the documented setup)."""
    root = make_project(tmp_path_factory.mktemp("server") / "project")
    snakemake(root, "all_weeks", env={"MLFLOW_TRACKING_URI": server, **as_user("alice")})
    return root


def client_of(server: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server, registry_uri=server)


def refused(call, *args) -> int:
    """The HTTP status with which the server refused `call(*args)` (0: it was not refused)."""
    from mlflow.exceptions import MlflowException

    try:
        call(*args)
    except MlflowException as exc:
        return exc.get_http_status_code()
    return 0


@pytest.mark.slow
def test_the_tiny_chain_registers_into_mlflow_server_on_postgresql(server, chain):
    root = chain
    assert not (root / "mlflow.db").exists()  # nothing went to the embedded store
    with signed_in("alice"):
        client = client_of(server)
        versions = client.search_model_versions("name = 'credit-scoring'")
        assert len(versions) == len(TINY_RETRAIN_WEEKS)
        keys = [v.tags["registration_key"] for v in versions]
        assert len(set(keys)) == len(keys)
        last = json.loads((root / "weeks" / TINY_WEEKS[-1] / "tracker.json").read_text())
        assert client.get_model_version_by_alias("credit-scoring", "champion").version == str(last["model_version"])

    # a second run of the chain (every job forced) registers nothing new: the keys are reused
    env = {"MLFLOW_TRACKING_URI": server, **as_user("alice")}
    snakemake(root, "all_weeks", "--forceall", env=env)
    with signed_in("alice"):
        assert len(client_of(server).search_model_versions("name = 'credit-scoring'")) == len(TINY_RETRAIN_WEEKS)

    # the served model loads from the server, artifacts included
    probe = ("import mlflow, pandas as pd; m = mlflow.pyfunc.load_model('models:/credit-scoring@champion'); "
             f"rows = pd.read_parquet('data/raw/applications/{TINY_WEEKS[-1]}.parquet').head(5); "
             "print(m.predict(rows.drop(columns=['application_id', 'application_date'])).shape[0])")
    assert run(["python", "-c", probe], root, env=env).stdout.strip().splitlines()[-1] == "5"


@pytest.mark.slow
def test_nobody_else_can_register_a_model_or_move_the_champion(server, chain):
    with signed_in("alice"):
        serving = client_of(server).get_model_version_by_alias("credit-scoring", "champion")
    # the attack of issue 23: a client that does not sign in, then one signed in without a grant
    for who, status in ((None, 401), ("mallory", 403)):
        with signed_in(who):
            client = client_of(server)
            assert refused(client.set_registered_model_tag, "credit-scoring", "project.champion", "mallory") == status
            assert refused(client.create_model_version, "credit-scoring", serving.source, serving.run_id) == status
            assert refused(client.set_registered_model_alias, "credit-scoring", "champion", "1") == status
            assert refused(client.delete_registered_model_alias, "credit-scoring", "champion") == status
    with signed_in(None):
        assert refused(client_of(server).create_registered_model, "mallory-model") == 401
    with signed_in("alice"):
        client = client_of(server)
        assert client.get_model_version_by_alias("credit-scoring", "champion").version == serving.version
        assert len(client.search_model_versions("name = 'credit-scoring'")) == len(TINY_RETRAIN_WEEKS)


@pytest.mark.slow
def test_without_credentials_or_permission_the_chain_stops_in_one_line(server, chain, tmp_path):
    root = make_project(tmp_path / "nobody")
    result = snakemake(root, "all_weeks", check=False, env={"MLFLOW_TRACKING_URI": server, **as_user(None)})
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in said
    assert f"MLflow tracking server {server} refused a request without credentials (401)" in said
    assert not (root / "weeks").exists()  # stopped at start, before any fit
    wrong = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "not-her-password"}
    result = snakemake(root, "all_weeks", check=False, env={"MLFLOW_TRACKING_URI": server, **wrong})
    assert "refused the credentials (401)" in result.stdout + result.stderr and not (root / "weeks").exists()
    assert "not-her-password" not in result.stdout + result.stderr
    # signed in, claiming to be alice's project (a training of its own), but the model and its
    # experiment are alice's: the first registration is refused, nothing moves
    root = make_project(tmp_path / "mallory", {"train": {"lightgbm": {"num_iterations": 29}}})
    result = snakemake(root, "all_weeks", check=False, env={"MLFLOW_TRACKING_URI": server, **as_user("mallory")})
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "refused this user (403)" in said and "Traceback" not in said
    with signed_in("alice"):
        assert len(client_of(server).search_model_versions("name = 'credit-scoring'")) == len(TINY_RETRAIN_WEEKS)


@pytest.mark.slow
def test_a_champion_moved_by_anyone_else_stops_the_next_week_before_it_scores(server, chain, tmp_path):
    from helpers import clone

    root = clone(chain, tmp_path / "moved")
    with signed_in("admin"):  # the admin may do anything: a version of its own, and the alias on it
        client = client_of(server)
        ours = client.get_model_version_by_alias("credit-scoring", "champion")
        theirs = client.copy_model_version(f"models:/credit-scoring/{ours.version}", "credit-scoring")
        client.set_registered_model_alias("credit-scoring", "champion", theirs.version)
    try:
        week = next_week(root)
        result = snakemake(root, "all_weeks", check=False, env={"MLFLOW_TRACKING_URI": server, **as_user("alice")})
        said = result.stdout + result.stderr
        assert result.returncode != 0 and "Traceback" not in said
        assert f"week {week} not scored: alias champion of credit-scoring" in said
        assert f"points at version {theirs.version}" in said and f"serves version {ours.version}" in said
        assert not (root / "weeks" / week / "preds.parquet").exists()
        alerts = (root / "reports" / "alerts.jsonl").read_text()
        assert f"points at version {theirs.version}" in alerts
    finally:
        with signed_in("admin"):
            client_of(server).set_registered_model_alias("credit-scoring", "champion", ours.version)
            client_of(server).delete_model_version("credit-scoring", theirs.version)


@pytest.mark.slow
def test_four_projects_on_one_model_name_at_once_all_succeed_without_duplicates(server, tmp_path):
    # two projects, each run from two copies at once: four chains, one model name, one server
    roots = []
    for project in ("team-a", "team-b"):
        for copy in (1, 2):
            roots.append(make_project(tmp_path / f"{project}-{copy}", {"registry": {
                "model_name": "shared-model", "project": project, "alias": f"champion-{project}"}}))
    env = {**tool_env(), "MLFLOW_TRACKING_URI": server, **as_user("alice")}
    # the first copy signs in with the password inside the URI: it is written nowhere
    inside = {**tool_env(), "MLFLOW_TRACKING_URI": server.replace("://", f"://alice:{USERS['alice']}@")}
    runs = [subprocess.Popen([str(BIN / "snakemake"), "--cores", "1", "all_weeks"], cwd=root, env=inside if i == 0 else env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i, root in enumerate(roots)]
    consoles = []
    for root, process in zip(roots, runs):
        out, _ = process.communicate(timeout=900)
        assert process.returncode == 0, f"{root.name}: {out[-3000:]}"
        consoles.append(out)
    from test_secrets import find_secret

    leaked = [line for line in consoles[0].splitlines() if USERS["alice"] in line]
    assert find_secret(USERS["alice"], roots[0], console=consoles[0]) == [], leaked[:5]
    with signed_in("alice"):
        client = client_of(server)
        versions = client.search_model_versions("name = 'shared-model'")
        keys = [v.tags["registration_key"] for v in versions]
        assert len(keys) == len(set(keys)) == 2 * len(TINY_RETRAIN_WEEKS)  # one version per project and training
        for project in ("team-a", "team-b"):
            held = client.get_model_version_by_alias("shared-model", f"champion-{project}")
            assert held.tags["project"] == project and held.tags["week"] == TINY_RETRAIN_WEEKS[-1]
            monitoring = client.search_runs(
                [client.get_experiment_by_name("credit-scoring-weekly-monitoring").experiment_id],
                f"tags.project = '{project}'")
            assert monitoring and all(r.info.status == "FINISHED" for r in monitoring)


@pytest.mark.slow
def test_two_chains_registering_the_same_training_at_once_on_a_server_leave_one_version(server, backfill, tmp_path,
                                                                                          repo_root, monkeypatch):
    import yaml
    from mlflow import MlflowClient

    from helpers import clone

    root = clone(backfill[0], tmp_path / "race")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["registry"]["model_name"] = "race-test"  # a model of its own on the shared server
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    week = TINY_RETRAIN_WEEKS[0]
    env = {**tool_env(), "MLFLOW_TRACKING_URI": server, **as_user("alice")}
    for key, value in as_user("alice").items():
        monkeypatch.setenv(key, value)
    rounds = []
    for attempt in range(4):  # the same training registered by two processes at once, four times
        client = MlflowClient(tracking_uri=server, registry_uri=server)
        for version in client.search_model_versions("name = 'race-test'"):
            client.delete_model_version("race-test", version.version)
        both = [_register(root, repo_root, week, f"{attempt}-{side}", env) for side in "ab"]
        for process in both:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        trackers = [json.loads((root / f"out-{attempt}-{side}.json").read_text()) for side in "ab"]
        versions = client.search_model_versions("name = 'race-test'")
        keys = [v.tags["registration_key"] for v in versions]
        assert len(versions) == 1 and len(set(keys)) == 1, [(v.version, v.tags["registration_key"]) for v in versions]
        assert trackers[0]["model_version"] == trackers[1]["model_version"] == str(versions[0].version)
        rounds.append(versions[0].version)
    assert len(rounds) == 4


def _register(root: Path, repo_root: Path, week: str, tag: str, env: dict) -> subprocess.Popen:
    """The register job of `week` in the project `root` run again by hand (its arguments from
    the backfill's job log) into outputs of its own, started (not waited for)."""
    from helpers import replay
    from weekly.config import load_params

    return replay(root, "register", week, {"tracker": f"out-{tag}.json", "winner_model": f"winner-{tag}",
                                           "previous_tracker": None,
                                           "registry": load_params(root / "params.yaml")["registry"]},
                  env=env, wait=False)


@pytest.mark.slow
def test_two_projects_claiming_one_alias_at_once_leave_it_to_exactly_one(server, backfill, tmp_path, repo_root):
    import yaml

    from helpers import clone

    roots = []
    for project in ("claim-x", "claim-y"):
        root = clone(backfill[0], tmp_path / project)
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["registry"].update(model_name="claim-race", project=project)  # the same alias: champion
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        roots.append(root)
    week = TINY_RETRAIN_WEEKS[0]
    env = {**tool_env(), "MLFLOW_TRACKING_URI": server, **as_user("alice")}
    with signed_in("alice"):
        client = client_of(server)
        for attempt in range(3):  # the registered model is gone before each round: the first claim is open
            if attempt:
                client.delete_registered_model("claim-race")
            both = [_register(root, repo_root, week, f"{attempt}", env) for root in roots]
            results = [(process.wait(timeout=300), process.stderr.read()) for process in both]
            won = [root.name for root, (code, _) in zip(roots, results) if code == 0]
            assert len(won) == 1, results
            lost = next(err for code, err in results if code != 0)
            assert "Traceback" not in lost and f"belongs to project '{won[0]}'" in lost
            versions = client.search_model_versions("name = 'claim-race'")
            assert [v.tags["project"] for v in versions] == won  # the loser's version is gone
            assert client.get_model_version_by_alias("claim-race", "champion").tags["project"] == won[0]
