"""Packaging: the pins agree, a wheel (not an editable install) works on its own, and the
package keeps MLflow from calling out."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

import pytest
import yaml

from helpers import REPO, run


def test_environment_yml_lists_the_same_pins_as_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    pinned = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if not p.startswith("-e")} == pinned
    assert "python=3.11" in env["dependencies"]


def test_a_wheel_installed_without_e_loads_params(tmp_path):
    # Built from a clean copy: an egg-info left by the editable install would add the files it lists.
    source = tmp_path / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    run(["python", "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)], tmp_path, timeout=300)
    wheel = next((tmp_path / "dist").glob("weekly_credit-*.whl"))
    assert "weekly/schemas/params.schema.yaml" in zipfile.ZipFile(wheel).namelist()

    # A fresh venv with only the wheel; the pinned dependencies come from this test
    # environment's site-packages (added by a .pth file, so this project's editable
    # install is not on the path).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (tmp_path / "deps.pth").replace(f"{site}/deps.pth")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)], check=True)

    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "params.yaml").write_text((REPO / "params.yaml").read_text())
    check = subprocess.run(
        [python, "-c", "import weekly.config as c; p = c.load_params('params.yaml'); print(c.__file__); print(p['train']['models'])"],
        cwd=tmp_path / "project", capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stderr
    location, models = check.stdout.splitlines()
    assert location.startswith(site) and models == "['lightgbm', 'catboost']"


TELEMETRY = """
import weekly
import mlflow
from mlflow.telemetry import get_telemetry_client
print(get_telemetry_client() is not None)
"""


@pytest.mark.parametrize("setting, on", [(None, False), ("false", True)])
def test_mlflow_does_not_call_out_unless_told_to(tmp_path, setting, on):
    """MLflow's usage telemetry is off when the package is imported, unless the environment turns it on."""
    # MLflow also stays quiet under CI or pytest (it looks for their variables): not here.
    ci = {"PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS", "TF_BUILD",
          "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION",
          "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME", "RUNBOT_WORKER_ID"}
    env = {k: v for k, v in os.environ.items() if k not in {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", *ci}}
    if setting is not None:
        env["MLFLOW_DISABLE_TELEMETRY"] = setting
    result = subprocess.run([sys.executable, "-c", TELEMETRY], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split()[-1] == str(on)
