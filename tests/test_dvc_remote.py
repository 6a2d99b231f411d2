"""Raw data shared through a DVC remote: the raw files (generated, or the user's own) are the
output of the raw_data stage, cached by DVC, pushed to a remote and pulled into a fresh
clone, whose backfill then makes the same reports. A local directory remote stands in for
S3 or NFS (`dvc remote add -d shared s3://bucket/weekly` is the same command)."""
from __future__ import annotations

import hashlib

import pytest

from helpers import TINY_WEEKS, make_project, own_table, run

OWN_COLUMNS = {"id": "loan_id", "date": "applied_on", "target": "defaulted", "classes": ["No", "Yes"],
               "numeric": ["income", "debt", "late_payments"], "categorical": ["region"], "segments": {"region": None},
               "protected": None}
# What the backfill makes that a fresh clone must make again, byte for byte
REPRODUCED = ["reports/weekly.csv", "reports/summary.json", "weeks/*/tracker.json", "weeks/*/decision.json",
              "weeks/*/eval.json", "weeks/*/preds.parquet"]


def digests(root, patterns) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for pattern in patterns for p in sorted(root.glob(pattern)) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("data", ["generated", "own"])
def test_a_fresh_clone_pulls_the_raw_data_from_the_remote_and_reproduces_the_reports(tmp_path, data):
    own = data == "own"
    root = make_project(tmp_path / "origin", {"data": {"generate": False, "columns": OWN_COLUMNS}} if own else {})
    if own:  # the user's table, split into the weekly raw files
        own_table("2022-01-16", "2022-03-06", 6).to_csv(tmp_path / "loans.csv", index=False)
        run(["weekly", "import", str(tmp_path / "loans.csv")], root)
    run(["git", "init", "-q"], root)
    run(["dvc", "repro"], root)  # raw_data caches data/raw; all_weeks backfills on it
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "shared", str(remote)], root)
    pushed = run(["dvc", "push"], root).stdout
    assert "pushed" in pushed and any(remote.rglob("*")), pushed
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", f"tiny project, {data} raw data in the remote"], root)
    raw = digests(root, ["data/raw/**/*.parquet"])
    assert len(raw) >= 2 * len(TINY_WEEKS)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    assert not (clone / "data" / "raw").exists()  # git holds no raw file
    run(["dvc", "pull"], clone)
    assert digests(clone, ["data/raw/**/*.parquet"]) == raw
    assert "up to date" in run(["dvc", "status", "raw_data"], clone).stdout

    before = {str(p): p.stat().st_mtime_ns for p in (clone / "data" / "raw").rglob("*.parquet")}
    run(["snakemake", "--cores", "2", "all_weeks"], clone)
    assert {str(p): p.stat().st_mtime_ns for p in (clone / "data" / "raw").rglob("*.parquet")} == before  # none made again
    assert digests(clone, REPRODUCED) == digests(root, REPRODUCED)
    assert run(["git", "status", "--porcelain", "--", "reports", "dvc.lock"], clone).stdout == ""
