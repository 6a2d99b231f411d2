"""The side process that imports MLflow ahead of a weekly run's monitoring run: a call goes
there and back with its result or its error, a process never called does not outlive its
starter, and a weekly run's report logs its monitoring run through it."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TINY_WEEKS, clone, next_week, registry_client, snakemake
from weekly import paths, sidecar, weeks


@pytest.fixture(autouse=True)
def no_side_process_left():
    yield
    sidecar.stop()


@pytest.fixture
def said():
    """What weekly.sidecar logs in this process (the package's loggers do not propagate)."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("weekly.sidecar")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def ran_there(said) -> bool:
    return any("ran in the side process" in line for line in said)


def test_a_call_runs_in_the_side_process_with_the_callers_environment_and_folder(tmp_path, monkeypatch, said):
    sidecar.start()
    assert sidecar.call(os.getpid) != os.getpid()
    # set after the start: the call carries them over
    monkeypatch.setenv("WEEKLY_SIDECAR_TEST", "sent with the call")
    monkeypatch.chdir(tmp_path)
    sidecar.start()
    assert sidecar.call(os.getenv, key="WEEKLY_SIDECAR_TEST") == "sent with the call"
    sidecar.start()
    assert sidecar.call(os.getcwd) == str(tmp_path)
    assert sum("ran in the side process" in line for line in said) == 3


def test_what_the_call_prints_does_not_spoil_its_answer(said):
    # MLflow prints "View run ... at: <url>" on stdout when the store is a server
    sidecar.start()
    assert sidecar.call(print, end="\N{RUNNER} View run monitoring at: http://mlflow.internal:5000\n") is None
    assert ran_there(said)
    assert any("View run monitoring" in line for line in said)  # in the job's log


def test_an_error_in_the_side_process_is_raised_in_the_caller_with_its_traceback_in_the_log(said):
    with pytest.raises(ValueError) as here:
        weeks.chain("2022-01-16", "the 5th of March")
    sidecar.start()
    with pytest.raises(ValueError) as there:
        sidecar.call(weeks.chain, start="2022-01-16", end="the 5th of March")
    assert str(there.value) == str(here.value)
    assert ran_there(said)
    assert any("side process: Traceback" in line for line in said)


def test_without_a_side_process_or_with_a_dead_one_the_call_runs_here(said):
    assert sidecar.call(os.getpid) == os.getpid()
    sidecar.start()
    sidecar._process.kill()
    assert sidecar.call(os.getpid) == os.getpid()
    assert not ran_there(said) and any("ended without an answer" in line for line in said)


def side_processes(folder: Path) -> list[int]:
    """The side processes running in `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if b"weekly.sidecar" in (proc / "cmdline").read_bytes() and os.readlink(proc / "cwd") == str(folder):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def test_a_side_process_never_called_ends_with_its_starter(tmp_path):
    started = subprocess.run(
        [sys.executable, "-c", "from weekly import sidecar; sidecar.start(); print(sidecar._process.pid)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    pid = int(started.stdout)
    assert not Path(f"/proc/{pid}").exists()


def test_a_run_that_adds_weeks_to_a_chain_with_a_report_starts_the_side_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {"start": "2022-01-16", "end": "2022-01-23"}
    tracker = Path(paths.TRACKER.format(week="2022-01-23"))
    sidecar.start_for_new_weeks(config)  # no report yet: a backfill from clean
    assert sidecar._process is None
    Path(paths.WEEKLY_REPORT).parent.mkdir(parents=True)
    Path(paths.WEEKLY_REPORT).write_text("week\n")
    tracker.parent.mkdir(parents=True)
    tracker.write_text("{}")
    sidecar.start_for_new_weeks(config)  # every week done: a no-op, or a week run again
    assert sidecar._process is None
    sidecar.start_for_new_weeks({**config, "end": "2022-01-30"})  # a new week
    assert sidecar._process is not None
    sidecar.stop()
    sidecar.start_for_new_weeks({"start": "2022-01-16"})  # a config the Snakefile's check refuses
    assert sidecar._process is None


def test_a_weekly_run_logs_its_monitoring_run_from_the_side_process(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "weekly-run")
    week = next_week(root)
    snakemake(root, "-n", "all_weeks")
    assert side_processes(root) == []  # the dry run's is stopped
    snakemake(root, "all_weeks")
    log = (root / "logs" / "report" / "report.log").read_text()
    assert "log_monitoring ran in the side process" in log
    client = registry_client(root)
    experiment = client.get_experiment_by_name("credit-scoring-weekly-monitoring")
    (run,) = client.search_runs([experiment.experiment_id], "tags.chain = 'credit-scoring@champion'")
    assert run.data.params["last_week"] == week
    assert len(client.get_metric_history(run.info.run_id, "model_version")) == len(TINY_WEEKS) + 1
