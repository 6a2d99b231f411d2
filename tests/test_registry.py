"""The MLflow registry as the chain's state: concurrency on one SQLite store, another store,
a server that is down, a read-only store, trackers checked against the registry, an alias
owned by one project, a project copied or moved with its store."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, registry_client, replay, run, snakemake


def register(root, repo_root, week, out="out.json", previous=None, env=None, wait=True):
    """The register job of `week` of a finished tiny project run again by hand, outside
    Snakemake (its arguments from the backfill's job log, the registry's as params.yaml
    says now), into other outputs."""
    from weekly.config import load_params

    overrides = {"tracker": out, "winner_model": f"winner-{out}",
                 "previous_tracker": f"weeks/{previous}/tracker.json" if previous else None,
                 "registry": load_params(root / "params.yaml")["registry"]}
    return replay(root, "register", week, overrides, env=env, wait=wait)


def one_line(result, said):
    """The step failed with one line saying `said`, and no traceback."""
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if said in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_parallel_registrations_on_one_sqlite_store_leave_one_version_per_training(backfill, tmp_path, repo_root):
    # Processes opening a fresh SQLite store at once race on its schema migrations unless
    # access is serialised; the same training registered twice at once gives one version.
    root = clone(backfill[0], tmp_path / "parallel")
    (root / "mlflow.db").unlink()
    shutil.rmtree(root / "mlartifacts")
    first, second = TINY_RETRAIN_WEEKS[:2]
    procs = [register(root, repo_root, week, out=f"out-{i}.json", wait=False)
             for i, week in enumerate([first, first, second])]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    versions = registry_client(root).search_model_versions("name = 'credit-scoring'")
    assert sorted(v.tags["week"] for v in versions) == [first, second]
    trackers = [json.loads((root / f"out-{i}.json").read_text()) for i in range(2)]
    assert trackers[0]["model_version"] == trackers[1]["model_version"]


def test_mlflow_tracking_uri_points_the_registry_elsewhere(backfill, tmp_path, repo_root):
    root = clone(backfill[0], tmp_path / "elsewhere")
    other = tmp_path / "server-store.db"
    week = TINY_RETRAIN_WEEKS[0]
    result = register(root, repo_root, week, env={"MLFLOW_TRACKING_URI": f"sqlite:///{other}"})
    assert result.returncode == 0, result.stderr

    def versions(db):
        return registry_client(db.parent, db.name).search_model_versions("name = 'credit-scoring'")

    assert [v.tags["week"] for v in versions(other)] == [week]
    assert len(versions(root / "mlflow.db")) == 3  # the embedded store is untouched


def test_an_unreachable_tracking_server_fails_the_registration_at_once_in_one_line(backfill, tmp_path, repo_root):
    # MLflow alone retries for ~250 s, saying nothing; port 9 (discard) is closed here
    root = clone(backfill[0], tmp_path / "down")
    week = TINY_RETRAIN_WEEKS[0]
    result = register(root, repo_root, week, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"})
    line = one_line(result, "unreachable")
    assert "MLflow tracking server http://127.0.0.1:9 is unreachable" in line and not (root / "out.json").exists()


def test_a_run_left_running_by_a_crash_is_closed_as_failed_when_the_week_is_registered_again(backfill, tmp_path,
                                                                                               repo_root):
    root = clone(backfill[0], tmp_path / "crashed")
    week = TINY_RETRAIN_WEEKS[1]
    client = registry_client(root)
    exp = client.get_experiment_by_name("credit-scoring-weekly")
    # a crash inside MLflow logging: the run never ended, no version was made
    cut = client.create_run(exp.experiment_id, run_name=f"{week}-lightgbm", tags={"week": week}).info.run_id
    other = client.create_run(exp.experiment_id, run_name="another week", tags={"week": TINY_RETRAIN_WEEKS[2]}).info.run_id
    for version in client.search_model_versions(f"name = 'credit-scoring' and tags.week = '{week}'"):
        client.delete_model_version("credit-scoring", version.version)
    result = register(root, repo_root, week, previous=TINY_RETRAIN_WEEKS[0])
    assert result.returncode == 0, result.stderr
    assert client.get_run(cut).info.status == "FAILED"
    assert client.get_run(other).info.status == "RUNNING"  # another week's run is not this week's business


def test_a_read_only_store_is_one_clear_line(backfill, tmp_path, repo_root):
    root = clone(backfill[0], tmp_path / "read-only")
    week = TINY_RETRAIN_WEEKS[1]
    registry_client(root).delete_model_version("credit-scoring", "2")  # the week must write to register
    read_only = f"sqlite:///file:{root / 'mlflow.db'}?mode=ro&uri=true"  # as a read-only mount or file does
    result = register(root, repo_root, week, previous=TINY_RETRAIN_WEEKS[0], env={"MLFLOW_TRACKING_URI": read_only})
    line = one_line(result, "is read-only")
    assert f"the MLflow store {read_only} is read-only" in line and not (root / "out.json").exists()


@pytest.mark.parametrize("fault", ["missing", "another key"])
def test_a_tracker_naming_a_version_the_registry_does_not_hold_stops_the_run(backfill, tmp_path, repo_root, fault):
    root = clone(backfill[0], tmp_path / fault.replace(" ", "-"))
    client = registry_client(root)
    week = TINY_RETRAIN_WEEKS[1]
    if fault == "missing":
        client.delete_model_version("credit-scoring", "2")
    else:  # another chain's registration under the same name and number
        client.set_model_version_tag("credit-scoring", "2", "registration_key", "0" * 16)
    result = snakemake(root, "--forcerun", "report", "all_weeks", check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"week {week}'s tracker names version 2 of credit-scoring, which " in said
    assert ("is not there" if fault == "missing" else "has another registration_key (0000000000000000") in said
    assert "--forcerun register all_weeks" in said
    # the week that retrains next, served by version 2 until then, checks it too
    result = register(root, repo_root, TINY_RETRAIN_WEEKS[2], previous=TINY_WEEKS[-3])
    assert "tracker names version 2 of credit-scoring" in one_line(result, "tracker names version")


def test_an_alias_belongs_to_the_project_that_moved_it_first(backfill, tmp_path, repo_root):
    import yaml

    root = clone(backfill[0], tmp_path / "other-project")
    client = registry_client(root)
    assert client.get_registered_model("credit-scoring").tags["project.champion"] == "credit-scoring-weekly"
    champion = client.get_model_version_by_alias("credit-scoring", "champion").version
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["registry"]["project"] = "another-team"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    client.delete_model_version("credit-scoring", champion)  # the other project trains the same week anew
    result = register(root, repo_root, TINY_RETRAIN_WEEKS[-1], previous=TINY_WEEKS[-3])
    line = one_line(result, "belongs to project")
    assert "alias champion of credit-scoring" in line and "'credit-scoring-weekly'" in line and "'another-team'" in line
    assert not client.search_model_versions(f"name = 'credit-scoring' and tags.week = '{TINY_RETRAIN_WEEKS[-1]}'")

    params["registry"]["alias"] = "champion-another-team"  # its own alias: it registers
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = register(root, repo_root, TINY_RETRAIN_WEEKS[-1], previous=TINY_WEEKS[-3])
    assert result.returncode == 0, result.stderr
    model = client.get_registered_model("credit-scoring")
    assert model.tags["project.champion-another-team"] == "another-team"
    assert "champion-another-team" in model.aliases


def test_a_moved_project_reads_its_own_artifacts(backfill, tmp_path):
    import sqlite3

    first = clone(backfill[0], tmp_path / "first")
    snakemake(first, "--forcerun", "alerts", "all_weeks")  # a run in the copy points its store at the copy's artifacts
    moved = tmp_path / "moved"
    shutil.move(first, moved)  # the folder it came from is gone
    snakemake(moved, "--forcerun", "alerts", "all_weeks")
    client = registry_client(moved)
    here = (moved / "mlartifacts").as_uri()
    assert client.get_experiment_by_name("credit-scoring-weekly").artifact_location == here
    for version in client.search_model_versions("name = 'credit-scoring'"):
        assert version.tags and client.get_model_version_download_uri("credit-scoring", version.version).startswith(here)
    old_paths = [str(backfill[0]), str(first)]
    with sqlite3.connect(moved / "mlflow.db") as db:
        for table, column in [("runs", "artifact_uri"), ("model_versions", "storage_location"),
                              ("logged_models", "artifact_location")]:
            for (value,) in db.execute(f"SELECT {column} FROM {table}"):
                assert not any(value.startswith(Path(p).as_uri() + "/") for p in old_paths), value
    # a user of the moved project loads its champion (the first folder's files are gone)
    loaded = run(["python", "-c", "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
                  "print(mlflow.pyfunc.load_model('models:/credit-scoring@champion').metadata.run_id)"], moved)
    assert loaded.stdout.strip() == client.get_model_version_by_alias("credit-scoring", "champion").run_id

