"""Several portfolios (segments, countries) run by one project, each its own chain.

A portfolio is `params.yaml` with a few overrides (dotted keys, any key of params.yaml),
named in `portfolios.yaml`. Each is backfilled by the same Snakefile in its own folder,
`portfolios/<name>/`, as a chain of a grid (weekly.workflow.grid): locally, or one SLURM job each.
Unless its overrides say otherwise, a portfolio
- reads (and, with data.generate true, makes) its raw files in `data/portfolios/<name>/`,
- registers its models as `<model_name>-<name>` under the project's alias, in the project's
  store: a registered model of its own, with its own versions and `champion`.
The combined summary (`reports/portfolios.csv`) has one line per portfolio.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from weekly.workflow import grid
from weekly import paths
from weekly.config import ConfigError, validate_params
from weekly.io import read_json
from weekly.commands.policies import chain_line

FOLDER = "portfolios"  # portfolios/<name>/: one portfolio's params.yaml, weeks/, models/, reports/, logs/
RAW_DIR = "data/portfolios/{name}"  # a portfolio's raw files, unless it names its own data.raw_dir
OWN_REGISTRY = ("registry.model_name", "registry.alias")  # either one given: the portfolio chose its own
COLUMNS = ["portfolio", "raw_dir", "model", "weeks", "judged_weeks", "retrainings", "mean_macro_f1", "worst_macro_f1",
           "worst_week", "mean_auc", "worst_auc", "last_week", "serving_version", "serving_model_type"]


def read_portfolios(path: str | Path) -> dict[str, dict]:
    """The portfolios of `path`: name -> overrides (dotted key -> value), in the file's order."""
    return grid.read_table(path, "portfolios", "portfolio")


def raw_dir(name: str, overrides: dict) -> str:
    """Portfolio `name`'s raw folder, relative to the project."""
    return overrides.get("data.raw_dir", RAW_DIR.format(name=name))


def portfolio_params(project: dict, name: str, overrides: dict, folder: Path, source: str = "portfolios.yaml") -> dict:
    """The params.yaml of portfolio `name`, backfilled in `folder` (relative to the project):
    the project's parameters with the portfolio's overrides, on its own raw folder, in the
    project's store under its own registered model (or the model and alias it names)."""
    where = f"{source}: portfolio '{name}'"
    params = grid.with_overrides(project, overrides, where)
    params["data"] = {**params["data"], "raw_dir": grid.from_folder(raw_dir(name, overrides), folder)}
    registry = params["registry"]
    own = {} if any(key in overrides for key in OWN_REGISTRY) else {"model_name": f"{registry['model_name']}-{name}"}
    params["registry"] = grid.shared_registry(registry, folder, **own)
    return validate_params(params, where)


def all_params(project: dict, portfolios: dict[str, dict], source: str = "portfolios.yaml") -> dict[str, dict]:
    """Every portfolio's params.yaml, refusing two portfolios that would make the same raw
    files or move the same alias of the same model."""
    chains = {name: portfolio_params(project, name, overrides, Path(FOLDER) / name, source)
              for name, overrides in portfolios.items()}
    seen_raw, seen_alias = {}, {}
    for name, params in chains.items():
        raw = raw_dir(name, portfolios[name])
        if params["data"]["generate"] and raw in seen_raw:
            raise ConfigError(f"{source}: portfolios '{seen_raw[raw]}' and '{name}' both generate {raw}: "
                              "give each its own data.raw_dir")
        seen_raw.setdefault(raw, name)
        alias = (params["registry"]["model_name"], params["registry"]["alias"])
        if alias in seen_alias:
            raise ConfigError(f"{source}: portfolios '{seen_alias[alias]}' and '{name}' both move {alias[0]}@{alias[1]}: "
                              "give each its own registry.model_name or registry.alias")
        seen_alias[alias] = name
    return chains


def portfolio_row(name: str, overrides: dict, params: dict, folder: Path) -> dict:
    """One portfolio's line of the combined summary, from its backfill in `folder`."""
    summary = read_json(folder / paths.SUMMARY)
    last = read_json(folder / paths.TRACKER.format(week=summary["last_week"]))
    return {
        "portfolio": name,
        "raw_dir": raw_dir(name, overrides),
        "model": f"{params['registry']['model_name']}@{params['registry']['alias']}",
        "weeks": summary["weeks"],
        "judged_weeks": summary["judged_weeks"],
        "retrainings": summary["retrains"],
        "mean_macro_f1": summary["mean_macro_f1"],
        "worst_macro_f1": summary["worst_macro_f1"],
        "worst_week": summary["worst_week"],
        "mean_auc": summary["mean_auc"],
        "worst_auc": summary["worst_auc"],
        "last_week": summary["last_week"],
        "serving_version": last["model_version"],
        "serving_model_type": last["model_type"],
    }


def summarise(project: dict, portfolios: dict[str, dict], folder: Path) -> pd.DataFrame:
    """The combined summary of the portfolios backfilled under `folder` (portfolios/<name>/);
    one not backfilled yet (`--only` another) is left out."""
    chains = all_params(project, portfolios)
    return pd.DataFrame([portfolio_row(name, overrides, chains[name], folder / name)
                         for name, overrides in portfolios.items() if (folder / name / paths.SUMMARY).exists()],
                        columns=COLUMNS)


def prepare(project: Path, portfolios: dict[str, dict]) -> Path:
    """Write every portfolio's params.yaml in `project/portfolios/<name>/` (all checked
    first); returns the folder."""
    from weekly.config import load_params

    root = project / FOLDER
    grid.write_chains(root, all_params(load_params(project / "params.yaml"), portfolios))
    return root


def backfill(project: Path, portfolios: dict[str, dict], cores: int = 2, parallel: int = 2,
             profile: str | None = None, say=print) -> dict[str, float]:
    """Backfill every portfolio in `project/portfolios/<name>/` through the grid workflow:
    locally `parallel` at a time with `cores` each, or with `profile` (profiles/slurm) one
    SLURM job of `cores` threads each. Each chain makes its own raw files when it generates
    them. Returns each portfolio's seconds."""
    project = project.resolve()
    root = prepare(project, portfolios)  # every file checked before anything runs
    seconds = grid.backfill(project, FOLDER, list(portfolios), cores=cores, parallel=parallel, profile=profile)
    for name, chain in seconds.items():
        say(chain_line(name, chain, read_json(root / name / paths.SUMMARY)))
    return seconds
