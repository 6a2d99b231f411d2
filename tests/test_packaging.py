"""Packaging: the pins agree, and a wheel (not an editable install) works on its own."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

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
