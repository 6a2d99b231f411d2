"""A grid of policies on a real SLURM: a single-node cluster from Debian's packages (munge,
slurmctld, slurmd), started here on loopback by .ci/slurm/start.sh and stopped by its pid
files; the grid goes through profiles/slurm (snakemake-executor-plugin-slurm), one job per
chain, and must give the reports of the local comparison, against the project's registry.

Where SLURM cannot be installed or started, the test is skipped with the reason; in CI
(CI=true) that is a failure instead: .ci/run installs the packages."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import REPO, make_project, run, write_grid
from weekly.workflow import grid

SCRIPTS = REPO / ".ci" / "slurm"
PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client"]
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue"]
POLICIES = {"every-21d": {}, "every-14d": {"retrain.time.max_days": 14}}
# What a chain makes that must not depend on where it ran (fit seconds do: they stay out)
COMPARED = ["reports/weekly.csv", "reports/summary.json", "weeks/*/decision.json", "weeks/*/tracker.json",
            "weeks/*/eval.json", "weeks/*/drift.json", "weeks/*/preds.parquet", "models/*/*/model.*"]


def _cannot(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"SLURM: {reason} (CI must run this test: .ci/run installs SLURM)")
    pytest.skip(f"SLURM: {reason}")


def _missing() -> list[str]:
    return [p for p in PROGRAMS if shutil.which(p) is None and not os.path.exists(f"/usr/sbin/{p}")]


def _install() -> None:
    """Debian's SLURM packages, installed with apt-get when missing and run as root."""
    if not _missing():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _cannot(f"{', '.join(_missing())} missing, and installing {' '.join(PACKAGES)} needs root and apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
    done = subprocess.run(["apt-get", "install", "-y", *PACKAGES], env=env, capture_output=True, text=True, check=False)
    if _missing():
        _cannot(f"`apt-get install -y {' '.join(PACKAGES)}` did not install {', '.join(_missing())}: "
                f"{done.stderr.strip()[-500:]}")


@pytest.fixture(scope="module")
def slurm():
    """A single-node SLURM on loopback, started for these tests and stopped afterwards (what
    start.sh started, by its pid files)."""
    if os.geteuid() != 0:
        _cannot("starting slurmd and munged needs root")
    _install()
    root = Path(tempfile.mkdtemp(prefix="weekly-slurm-", dir="/tmp"))
    env = {**os.environ, "ROOT": str(root)}
    try:
        started = subprocess.run(["bash", str(SCRIPTS / "start.sh")], env=env, capture_output=True, text=True,
                                 timeout=120)
        if started.returncode:
            _cannot(f"did not start: {(started.stdout + started.stderr).strip()[-1500:]}")
        yield root
    finally:
        subprocess.run(["bash", str(SCRIPTS / "stop.sh")], env=env, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def outputs(root: Path) -> dict[str, bytes]:
    """Every compared file of every policy, by its path in the project."""
    files = {}
    for name in POLICIES:
        folder = root / "policies" / name
        for pattern in COMPARED:
            for path in sorted(folder.glob(pattern)):
                files[str(path.relative_to(root))] = path.read_bytes()
    return files


def comparison(root: Path) -> list[dict]:
    """reports/policies.csv without the fitting seconds (a fit's time is not a result)."""
    import pandas as pd

    return pd.read_csv(root / "reports/policies.csv").drop(columns=["training_seconds"]).to_dict("records")


def forget_results(root: Path) -> None:
    """The policies' outputs and shared fits removed (their params.yaml and the project's
    store stay): the next grid does every week and every fit again."""
    for name in POLICIES:
        for sub in ("weeks", "models", "reports", "logs", ".snakemake", "backfill.done", "backfill.tsv"):
            path = root / "policies" / name / sub
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    shutil.rmtree(root / "policies" / ".fit-cache", ignore_errors=True)
    for name in ("policies.csv", "policies.svg"):
        (root / "reports" / name).unlink(missing_ok=True)


def timed(command: list[str], root: Path) -> float:
    started = time.perf_counter()
    run(command, root, timeout=900)
    return time.perf_counter() - started


@pytest.mark.slow
def test_a_policy_grid_on_slurm_gives_the_reports_of_the_local_comparison(slurm, tmp_path):
    from mlflow import MlflowClient

    root = make_project(tmp_path / "project")
    write_grid(root / "policies.yaml", "policies", POLICIES)
    # Locally first: the raw files, the project's store and each policy's registered models.
    # Each chain gets one core, on SLURM too (two jobs at once on the 2-core node).
    local = ["weekly", "policies", "--cores", "1", "--parallel", "2"]
    first = timed(local, root)
    expected, table = outputs(root), comparison(root)
    assert len(expected) > 100
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    versions = sorted(int(v.version) for v in client.search_model_versions("name = 'credit-scoring'"))

    forget_results(root)
    on_slurm = timed([*local[:4], "--profile", "profiles/slurm"], root)
    chains = {name: round(grid.chain_seconds(root / "policies" / name), 1) for name in POLICIES}
    log = (root / "policies" / "grid.log").read_text()
    assert log.count("has been submitted with SLURM jobid") == len(POLICIES), log  # one job per chain
    assert comparison(root) == table
    got = outputs(root)
    assert sorted(got) == sorted(expected)
    assert [path for path in expected if got[path] != expected[path]] == []
    # registered into the project's store: the same versions, found again, none added
    assert sorted(int(v.version) for v in client.search_model_versions("name = 'credit-scoring'")) == versions
    for name in POLICIES:
        last = json.loads((root / "policies" / name / "weeks/2022-03-06/tracker.json").read_text())
        assert str(client.get_model_version_by_alias("credit-scoring", f"champion-policy-{name}").version) == \
               str(last["model_version"])

    forget_results(root)
    again = timed(local, root)  # the same work as on SLURM, here
    assert outputs(root) == expected

    figures = {"policies": len(POLICIES), "cores_per_chain": 1, "local_first_seconds": round(first, 1),
               "slurm_seconds": round(on_slurm, 1), "local_seconds": round(again, 1),
               "chain_seconds_on_slurm": chains}
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "slurm-grid.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"two-policy grid of the tiny chain: SLURM {on_slurm:.1f} s, local {again:.1f} s")
