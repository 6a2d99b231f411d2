"""What makes an output what it is: the package's code, the libraries' versions, the data.

`fingerprint` identifies a trained model (and so its registration key); `code_digest`
is a rule parameter in the workflow, so that a change of the package's code makes the
jobs that run it out of date for Snakemake, as a changed parameter does.
"""
from __future__ import annotations

import hashlib
import json
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Iterable

from weekly.algorithms import algorithm

# The modules whose code decides what a fit produces: its adapter, the feature
# preparation, the split and the validation metrics.
TRAINING_CODE = ("algorithms", "models", "data", "metrics", "drift")


# Modules that only talk (command lines, logging), only run the process (its pacing, garbage
# collector, memory and MLflow's telemetry: runtime, __init__), only write raw files (the import),
# only run chains and read their outputs (the policy comparison) or only draw them (the
# lifecycle page, whose rule has its own code digest) or only tell people (the alerts, whose
# rule has its own digest too): their changes leave every output of the chain as it was.
TALK_ONLY = ("cli", "command", "queries", "logs", "importing", "policies", "lifecycle", "alerts", "senders",
             "runtime", "__init__")


def code_digest(modules: Iterable[str] | None = None, package=None) -> str:
    """sha256 of the package's source: the named modules, or every module that can change
    an output. `package` is the package's folder (default: the installed one)."""
    package = package if package is not None else resources.files("weekly")
    names = [f"{m}.py" for m in modules] if modules is not None else [
        p.name for p in package.iterdir() if p.name.endswith(".py") and p.name[:-3] not in TALK_ONLY
    ]
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + package.joinpath(name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def library_versions(algo: str) -> dict[str, str]:
    """The installed versions of the distributions that fit and load `algo`'s models."""
    return {dist: version(dist) for dist in algorithm(algo).distributions}


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fingerprint(algo: str, week: str, settings: list, data_paths: list[str]) -> str:
    """What identifies a trained model: algorithm, week, settings, training code, library
    versions and the bytes of its data."""
    identity = [algo, week, settings, code_digest(TRAINING_CODE), library_versions(algo)]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    for path in data_paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]
