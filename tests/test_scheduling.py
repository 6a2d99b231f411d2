"""Snakemake's job rate limit is lifted for the chain's in-process jobs (the real Snakemake)."""
from __future__ import annotations

import pytest

from helpers import run

RECORDER = """
from weekly.scheduling import unthrottle
{hook}
rule limiter:
    output: "limiter.txt"
    run:
        open(output[0], "w").write(repr(workflow.scheduler.job_rate_limiter))
"""
HOOK = """
onstart:
    unthrottle(workflow)
"""


@pytest.mark.parametrize("hook, lifted", [(HOOK, True), ("", False)])
def test_a_local_run_starts_jobs_unpaced(tmp_path, hook, lifted):
    (tmp_path / "Snakefile").write_text(RECORDER.format(hook=hook))
    run(["snakemake", "--cores", "1", "--force-use-threads"], tmp_path)
    limiter = (tmp_path / "limiter.txt").read_text()
    assert (limiter == "None") is lifted, limiter
