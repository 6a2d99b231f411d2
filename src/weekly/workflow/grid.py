"""A grid of chains: many backfills of the weekly lifecycle side by side.

The weekly chain is sequential; what spreads is many chains: retraining policies compared on
the same data (weekly.commands.policies), portfolios each on its own data (weekly.commands.portfolios). A chain
is a folder `<grid>/<name>/` (policies/every-60d/, portfolios/retail/) with its own
params.yaml, written from the project's by a few dotted-key overrides, and backfilled whole
by the project's Snakefile in that folder.

The grid workflow (grid.smk) runs each chain as ONE job: locally `parallel` at a time, or
with a profile (profiles/slurm) as one SLURM allocation each, so that a chain is not ~1,100
submissions. Every chain registers into the project's store (paths rewritten from its folder)
and fits go through one fit cache (weekly.modelling.fit_cache) shared by the grid.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from weekly.modelling import fit_cache
from weekly.config import ConfigError, read_yaml

NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # a chain's folder name (grid.smk's wildcard constraint)
WORKFLOW = "grid.smk"
CACHE = ".fit-cache"  # <grid>/.fit-cache: the fits the grid's chains share


def read_table(path: str | Path, key: str, kind: str, changeable: tuple[str, ...] | None = None) -> dict[str, dict]:
    """The chains of the `key:` mapping in `path` (each a `kind`: policy, portfolio): name ->
    overrides (dotted key -> value), in the file's order. With `changeable`, an override
    outside those params.yaml sections is refused."""
    path = Path(path)
    raw = read_yaml(path)
    table = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{path}: expected a mapping '{key}:' of name -> overrides")
    for name, overrides in table.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ConfigError(f"{path}: {kind} name {name!r}: use lower-case letters, digits, '-' and '_'")
        if overrides is not None and not isinstance(overrides, dict):
            raise ConfigError(f"{path}: {kind} '{name}': expected a mapping of dotted keys to values")
        for dotted in overrides or {}:
            if changeable is not None and str(dotted).split(".")[0] not in changeable:
                raise ConfigError(
                    f"{path}: {kind} '{name}': key '{dotted}': a {kind} changes only "
                    f"{' and '.join(changeable)}.*; the data, the weeks and the evaluation are the project's"
                )
    return {name: dict(overrides or {}) for name, overrides in table.items()}


def set_key(params: dict, dotted: str, value, source: str) -> None:
    """Set the dotted key `dotted` of `params` (in place: `params` is the caller's own copy)."""
    *parents, last = dotted.split(".")
    node = params
    for i, key in enumerate(parents):
        if not isinstance(node.get(key), dict):
            raise ConfigError(f"{source}: key '{dotted}': '{'.'.join(parents[:i + 1])}' is not a section of params.yaml")
        node = node[key]
    node[last] = value


def from_folder(value: str, folder: Path) -> str:
    """A path relative to the project, seen from the chain's folder."""
    return value if os.path.isabs(value) else os.path.relpath(value, folder)


def with_overrides(project: dict, overrides: dict, source: str) -> dict:
    """The project's parameters with `overrides` (dotted keys) applied, in a copy."""
    params = copy.deepcopy(project)
    for dotted, value in overrides.items():
        set_key(params, dotted, value, source)
    return params


def shared_registry(registry: dict, folder: Path, **changes) -> dict:
    """`registry` seen from the chain's `folder`: the project's embedded store and artifact
    folder (a server URI stays as it is), with `changes` (alias, model_name)."""
    uri = registry["tracking_uri"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + from_folder(uri.removeprefix("sqlite:///"), folder)
    return {**registry, "tracking_uri": uri, "artifact_dir": from_folder(registry["artifact_dir"], folder), **changes}


def write_chains(root: Path, chains: dict[str, dict]) -> None:
    """Write each chain's params.yaml in `root/<name>/`, leaving a file with the same text
    alone (its chain stays up to date)."""
    for name, params in chains.items():
        text = yaml.safe_dump(params, sort_keys=False)
        path = root / name / "params.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def command(project: Path, grid: str, names: list[str], cores: int, parallel: int, profile: str | None,
            cache: Path) -> list[str]:
    """The grid workflow's command line: locally `parallel` chains at once with `cores` each;
    with `profile` (a Snakemake profile folder: profiles/slurm) as the profile says, each chain
    one job with `cores` threads."""
    line = [sys.executable, "-m", "snakemake", "--snakefile", str(project / WORKFLOW), "--directory", str(project),
            "--workflow-profile", "none", "--forceall", "--set-threads", f"backfill_chain={cores}",
            "--config", f"grid={grid}", f"chains={json.dumps(names)}", f"fit_cache={cache}"]
    if profile:
        return [*line, "--profile", str(profile)]
    return [*line, "--cores", str(cores * parallel)]


def chain_seconds(folder: Path) -> float:
    """The wall time of a chain's last backfill (its job's benchmark)."""
    with open(folder / "backfill.tsv", newline="") as f:
        return float(next(csv.DictReader(f, delimiter="\t"))["s"])


def backfill(project: Path, grid: str, names: list[str], cores: int = 2, parallel: int = 2,
             profile: str | None = None, cache: Path | None = None) -> dict[str, float]:
    """Backfill the chains `names` of `project/<grid>/` (their params.yaml already written)
    through the grid workflow; the workflow's console goes to `<grid>/grid.log`. Fits go
    through the fit cache `cache` (default: `<grid>/.fit-cache`). Returns each chain's
    seconds."""
    project = project.resolve()
    if not (project / WORKFLOW).is_file():
        raise RuntimeError(f"{project / WORKFLOW} is missing: the grid workflow ships beside the Snakefile")
    root = project / grid
    env = {**os.environ}
    env.pop("DVC_EXP_NAME", None)  # a chain's alias is its own, inside an experiment too
    env.pop(fit_cache.ENVIRONMENT, None)  # the grid names its cache itself
    line = command(project, grid, names, cores, parallel, profile, (cache or root / CACHE).resolve())
    log = root / "grid.log"
    with open(log, "w") as out:
        done = subprocess.run(line, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=project)
    if done.returncode:
        failed = [n for n in names if not (root / n / "backfill.done").exists()]
        where = ", ".join(str(root / n / "backfill.log") for n in failed)
        raise RuntimeError(f"the {grid} grid failed (exit {done.returncode}): see {log}" + (f" and {where}" if where else ""))
    return {name: chain_seconds(root / name) for name in names}
