"""Provenance on the real workflow: a third adapter, deleted model folders, changed training code."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers import TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, make_project, run, snakemake
from weekly.workflow import provenance


def read(root, path):
    return json.loads((root / path).read_text())


def registry(root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def registered_native_file(root, version) -> bytes:
    """The native model file inside the registered artifact of a version."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    local = mlflow.artifacts.download_artifacts(f"models:/credit-scoring/{version}", dst_path=str(root / "dl" / version))
    files = [p for p in (root / "dl" / version).rglob("*") if p.is_file() and p.parent.name == "artifacts"]
    assert len(files) == 1, (local, files)
    return files[0].read_bytes()


def test_three_candidates_train_and_the_best_is_registered(tmp_path):
    algos = ["lightgbm", "catboost", "hist_gradient_boosting"]
    root = make_project(tmp_path / "three", {"end": "2022-01-23", "week": "2022-01-23",
                                             "train": {"models": algos, "hist_gradient_boosting": {"max_iter": 30}}})
    snakemake(root, "all_weeks")
    week = TINY_WEEKS[0]
    tracker = read(root, f"weeks/{week}/tracker.json")
    scores = tracker["selection"]["scores"]
    assert set(scores) == set(algos)
    assert tracker["macro_f1_score"] == max(scores.values()) and scores[tracker["model_type"]] == max(scores.values())
    assert (root / "models" / week / "hist_gradient_boosting" / "model.skops").is_file()
    runs = registry(root).search_runs([registry(root).get_experiment_by_name("credit-scoring-weekly").experiment_id])
    assert sorted(r.data.tags["model_type"] for r in runs) == sorted(algos)
    # the served model is the registered one, whichever algorithm won
    assert registered_native_file(root, tracker["model_version"]) == (root / tracker["model_path"]).read_bytes()


def test_a_deleted_model_folder_is_rebuilt(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "deleted")
    week = TINY_RETRAIN_WEEKS[1]
    serving = read(root, f"weeks/{week}/tracker.json")["model_path"]
    before = (root / serving).read_bytes()
    shutil.rmtree(root / "models" / week)
    dry = snakemake(root, "-n", "all_weeks")
    assert "Nothing to be done" not in dry.stdout + dry.stderr
    snakemake(root, "all_weeks")
    assert (root / serving).read_bytes() == before  # the same fit, byte for byte
    assert len(registry(root).search_model_versions("name = 'credit-scoring'")) == 3  # so no new version


def test_changed_training_code_makes_a_new_version_whose_artifact_is_the_served_file(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "code")
    env = {"PYTHONPATH": str(root / "src")}  # the project's own copy of the package, edited below
    assert snakemake(root, "-n", "all_weeks", env=env).stdout.count("Nothing to be done") == 1

    adapters = root / "src" / "weekly" / "modelling" / "algorithms.py"
    text = adapters.read_text()
    assert '"deterministic": True,' in text
    adapters.write_text(text.replace('"deterministic": True,', '"deterministic": True,\n            "lambda_l2": 5.0,'))
    snakemake(root, "all_weeks", env=env)  # the code changed: every week's jobs are out of date

    client = registry(root)
    versions = client.search_model_versions("name = 'credit-scoring'")
    # every retraining week of both runs registered its own version (the code changed)
    retrained = [read(r, f"weeks/{w}/tracker.json")["retrained"] for r in (backfill[0], root) for w in TINY_WEEKS]
    assert len(versions) == sum(retrained) >= 6
    for week in TINY_RETRAIN_WEEKS:
        tracker = read(root, f"weeks/{week}/tracker.json")
        assert int(tracker["model_version"]) > 3
        assert registered_native_file(root, tracker["model_version"]) == (root / tracker["model_path"]).read_bytes()
        record = read(root, f"weeks/{week}/candidates/lightgbm.json")
        assert record["training_code"] != read(backfill[0], f"weeks/{week}/candidates/lightgbm.json")["training_code"]
    champion = client.get_model_version_by_alias("credit-scoring", "champion")
    assert str(champion.version) == read(root, f"weeks/{TINY_WEEKS[-1]}/tracker.json")["model_version"]


def test_a_steps_code_digest_follows_the_code_it_imports_and_nothing_else(tmp_path):
    import weekly

    copy = tmp_path / "weekly"
    shutil.copytree(os.path.dirname(weekly.__file__), copy, ignore=shutil.ignore_patterns("__pycache__"))
    steps = ("generate_week", "decide", "train", "register", "predict", "evaluate", "report", "publish_tracker",
             "lifecycle_report", "alerts")

    def digests():
        provenance._digest.cache_clear()
        return {step: provenance.code_of(f"weekly.workflow.steps.{step}", copy) for step in steps}

    before = digests()
    assert before == {step: provenance.code_of(f"weekly.workflow.steps.{step}") for step in steps}

    def edit(module: str) -> set[str]:
        """The steps whose digest a comment added to `module` changes."""
        path = copy.joinpath(*module.split(".")).with_suffix(".py")
        path.write_text(path.read_text() + "\n# an edit\n")
        changed = {step for step, digest in digests().items() if digest != before[step]}
        before.update(digests())
        return changed

    # code that computes nothing: no step re-runs
    for module in ("workflow/jobs", "workflow/by_hand", "workflow/runtime", "commands/command", "commands/queries"):
        assert edit(module.replace("/", ".")) == set(), module
    # logging and the alerts: the alerts only, no step of the chain
    for module in ("logs", "alerting/alerts", "alerting/senders"):
        assert edit(module.replace("/", ".")) == {"alerts"}, module
    # the page: only its own step; the look it shares with the model cards: the register step's cards too
    assert edit("reporting.page") == {"lifecycle_report"}
    assert edit("reporting.style") == {"lifecycle_report", "register"}
    # one step's own code: that step only
    assert edit("workflow.steps.predict") == {"predict"}
    assert edit("inputs.generate") == {"generate_week"}
    # the fit: the steps that fit, and every step reading a model's files
    assert edit("modelling.algorithms") == {"train", "register", "predict", "report", "alerts"}
    # the trigger logic: the decision only
    assert edit("lifecycle.decision") == {"decide", "alerts"}


def test_a_challenger_that_does_not_beat_the_serving_model_is_kept_out(tmp_path):
    # A margin no challenger can clear: after the initial model, every retraining is kept out.
    root = make_project(tmp_path / "gate", {"train": {"challenger": {"enabled": True, "margin": 0.5}}})
    snakemake(root, "all_weeks")
    client = registry(root)
    assert [v.tags["week"] for v in client.search_model_versions("name = 'credit-scoring'")] == [TINY_WEEKS[0]]
    for week in TINY_RETRAIN_WEEKS[1:]:
        tracker = read(root, f"weeks/{week}/tracker.json")
        gate = tracker["selection"]["gate"]
        assert tracker["model_version"] == "1" and tracker["last_retraining_date"] == week
        assert gate["passed"] is False and gate["serving_version"] == "1" and gate["margin"] == 0.5
        assert tracker["kept_because"].startswith(f"challenger kept out: {gate['challenger']} ")
        runs = client.search_runs([client.get_experiment_by_name("credit-scoring-weekly").experiment_id],
                                  f"tags.week = '{week}'")
        assert sorted(r.data.tags["model_type"] for r in runs) == ["catboost", "lightgbm"]  # logged all the same
        assert all(r.data.metrics["serving_valid_macro_f1"] == pytest.approx(gate["serving_score"]) for r in runs)
        assert all(r.data.tags["promoted"] == "false" for r in runs)
    assert "kept (time" in (root / "logs" / "evaluate" / f"{TINY_RETRAIN_WEEKS[1]}.log").read_text()
    # A registration cut short after its first candidate's run (the side process died) is
    # completed when the week runs again, not repeated.
    week = TINY_RETRAIN_WEEKS[1]
    experiment = client.get_experiment_by_name("credit-scoring-weekly").experiment_id
    kept = {r.data.tags["model_type"]: r.info.run_id for r in client.search_runs([experiment], f"tags.week = '{week}'")}
    client.delete_run(kept["catboost"])
    snakemake(root, "--forcerun", f"weeks/{week}/tracker.json", "all_weeks")
    runs = client.search_runs([experiment], f"tags.week = '{week}'")
    assert sorted(r.data.tags["model_type"] for r in runs) == ["catboost", "lightgbm"]
    assert kept["lightgbm"] in {r.info.run_id for r in runs}
