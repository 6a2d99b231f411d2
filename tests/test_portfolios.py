"""Several portfolios from one project: the portfolios file, each portfolio's params, and the
real grid (Snakemake, MLflow) on two tiny portfolios, one generated and one of our own files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import TINY_WEEKS, make_project, own_table, run, write_grid
from weekly.commands import portfolios
from weekly.config import ConfigError, load_params
from weekly.io import read_json

OWN_COLUMNS = {"id": "loan_id", "date": "applied_on", "target": "defaulted", "classes": ["No", "Yes"],
               "numeric": ["income", "debt", "late_payments"], "categorical": ["region"]}


def test_the_shipped_portfolios_file_is_valid(repo_root):
    project = load_params(repo_root / "params.yaml")
    table = portfolios.read_portfolios(repo_root / "portfolios.yaml")
    chains = portfolios.all_params(project, table)
    assert len(chains) >= 2
    for name, params in chains.items():
        assert params["data"]["raw_dir"] == f"../../data/portfolios/{name}"
        assert params["registry"]["model_name"] == f"credit-scoring-{name}" and params["registry"]["alias"] == "champion"


def test_a_portfolio_is_the_project_params_on_its_own_data_and_model(repo_root):
    project = load_params(repo_root / "params.yaml")
    params = portfolios.portfolio_params(project, "smb", {"data.generate": False, "data.raw_dir": "data/smb",
                                                          "data.columns": OWN_COLUMNS, "seed": 3},
                                         Path("portfolios/smb"))
    assert params["data"]["raw_dir"] == "../../data/smb" and params["data"]["generate"] is False
    assert params["data"]["columns"]["target"] == "defaulted" and params["seed"] == 3
    assert params["registry"]["tracking_uri"] == "sqlite:///../../mlflow.db"
    assert params["registry"]["artifact_dir"] == "../../mlartifacts"
    assert params["registry"]["model_name"] == "credit-scoring-smb"
    # a portfolio that names its alias keeps the project's model
    aliased = portfolios.portfolio_params(project, "fr", {"registry.alias": "champion-fr"}, Path("portfolios/fr"))
    assert (aliased["registry"]["model_name"], aliased["registry"]["alias"]) == ("credit-scoring", "champion-fr")
    assert project["registry"]["model_name"] == "credit-scoring"  # the project's own params are left alone


@pytest.mark.parametrize("table, message", [
    ({"Bad Name": {}}, "portfolio name 'Bad Name'"),
    ({"x": ["seed", 3]}, "portfolio 'x': expected a mapping"),
    ({}, "expected a mapping 'portfolios:'"),
    ({"x": {"data.rows_per_wek": 10}}, "portfolio 'x'.*rows_per_wek"),
    ({"x": {"data.raw_dir": "data/same"}, "y": {"data.raw_dir": "data/same"}}, "'x' and 'y' both generate data/same"),
    ({"x": {"registry.alias": "a"}, "y": {"registry.alias": "a"}}, "'x' and 'y' both move credit-scoring@a"),
])
def test_a_bad_portfolios_file_is_refused_with_its_name_and_key(repo_root, tmp_path, table, message):
    project = load_params(repo_root / "params.yaml")
    with pytest.raises(ConfigError, match=message):
        portfolios.all_params(project, portfolios.read_portfolios(write_grid(tmp_path / "portfolios.yaml", "portfolios", table)))


@pytest.mark.slow
def test_two_portfolios_each_on_its_own_data_and_model_with_one_summary(tmp_path, backfill):
    from mlflow import MlflowClient

    from weekly.workflow.steps.import_table import import_table

    root = make_project(tmp_path / "project")
    # `retail` generates what the project's own tiny chain does (same seed, its own folder);
    # `smb` is a table of our own: other columns, a binary Yes/No target
    write_grid(root / "portfolios.yaml", "portfolios", {
        "retail": {},
        "smb": {"data.generate": False, "data.raw_dir": "data/smb", "data.columns": OWN_COLUMNS},
    })
    own_table("2022-01-16", "2022-03-06", 6).to_csv(root / "smb.csv", index=False)
    import_table(table=str(root / "smb.csv"), raw_dir=str(root / "data/smb"), columns=OWN_COLUMNS,
                 start="2022-01-16", generate=False, date_format=None, sep=None, drop=[])
    result = run(["weekly", "portfolios", "--parallel", "2", "--cores", "1"], root)
    assert "2 portfolios in" in result.stdout

    table = pd.read_csv(root / "reports/portfolios.csv", dtype={"serving_version": str})
    assert list(table["portfolio"]) == ["retail", "smb"]
    assert list(table["raw_dir"]) == ["data/portfolios/retail", "data/smb"]
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    for row in table.itertuples():
        folder = root / "portfolios" / row.portfolio
        summary = read_json(folder / "reports/summary.json")
        assert (row.weeks, row.retrainings, row.mean_macro_f1) == \
               (len(TINY_WEEKS), summary["retrains"], pytest.approx(summary["mean_macro_f1"]))
        name, alias = row.model.split("@")
        assert name == f"credit-scoring-{row.portfolio}" and alias == "champion"
        assert str(client.get_model_version_by_alias(name, alias).version) == row.serving_version
        assert len(client.search_model_versions(f"name = '{name}'")) == summary["retrains"]
    smb = pd.read_parquet(root / "portfolios/smb/weeks" / TINY_WEEKS[-1] / "preds.parquet")
    assert {"proba_No", "proba_Yes"} <= set(smb.columns)
    assert not client.search_registered_models("name = 'credit-scoring'")  # the project's own model is not touched

    # the generated portfolio is the project's own tiny chain, made in its own folder
    own = backfill[0]
    assert (root / "portfolios/retail/reports/weekly.csv").read_bytes() == (own / "reports/weekly.csv").read_bytes()
    assert sorted(p.name for p in (root / "data/portfolios/retail/applications").iterdir()) == \
           sorted(p.name for p in (own / "data/raw/applications").iterdir())


def test_the_grid_is_one_job_per_chain_here_or_through_a_profile(tmp_path):
    from weekly.workflow import grid

    here = grid.command(tmp_path, "portfolios", ["a", "b"], cores=3, parallel=2, profile=None, cache=tmp_path / "c")
    assert here[here.index("--cores") + 1] == "6" and "backfill_chain=3" in here and "--profile" not in here
    assert 'chains=["a", "b"]' in here and f"fit_cache={tmp_path / 'c'}" in here
    slurm = grid.command(tmp_path, "policies", ["a"], cores=2, parallel=2, profile="profiles/slurm", cache=tmp_path)
    assert slurm[slurm.index("--profile") + 1] == "profiles/slurm" and "--cores" not in slurm
    assert "backfill_chain=2" in slurm and "--forceall" in slurm  # every chain's own Snakemake decides what is due


def test_the_grid_workflow_and_the_slurm_profile_pass_lint(tmp_path):
    root = make_project(tmp_path / "lint")
    result = run(["snakemake", "-s", "grid.smk", "--lint", "--config", "grid=portfolios", 'chains=["a"]', "fit_cache=c"],
                 root, check=False)
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr
    profile = yaml.safe_load((root / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["slurm-status-command"] == "squeue"
    assert profile["set-resources"]["backfill_chain"]["mem_mb"] > 0


def test_a_portfolio_file_is_prepared_for_an_import(tmp_path):
    root = make_project(tmp_path / "prepare")
    write_grid(root / "portfolios.yaml", "portfolios", {"smb": {"data.generate": False, "data.columns": OWN_COLUMNS}})
    run(["weekly", "portfolios", "--prepare"], root)
    params = yaml.safe_load((root / "portfolios/smb/params.yaml").read_text())
    assert params["data"]["raw_dir"] == "../../data/portfolios/smb"
    assert params["data"]["columns"] == {**OWN_COLUMNS, "segments": {}, "protected": None}  # none given: none
    assert not (root / "portfolios/smb/weeks").exists()
