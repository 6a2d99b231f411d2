"""Shared fixtures: the repository root and one tiny backfill made by the real Snakemake."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, make_project, snakemake

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # for the tests' own MLflow calls


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def backfill(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The tiny workflow, backfilled once from clean by the real Snakemake."""
    root = make_project(tmp_path_factory.mktemp("backfill"))
    result = snakemake(root, "all_weeks")
    return root, result
