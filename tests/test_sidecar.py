"""The side process that holds MLflow for a run: calls go there and back with their result
or their error and their log records, one process answers every call of a run, the store
is opened ahead of the first, a process never called does not outlive its starter, and
a backfill's registrations and a weekly run's monitoring run go through it."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import helpers
from helpers import TINY_WEEKS, clone, make_project, next_week, registry_client, snakemake
from weekly import paths, registry, sidecar, weeks

TESTS = Path(__file__).resolve().parent


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


def test_every_call_runs_in_one_side_process_with_the_callers_environment_and_folder(tmp_path, monkeypatch, said):
    sidecar.start()
    there = sidecar.call(os.getpid)
    assert there != os.getpid()
    # set after the start: each call carries them over
    monkeypatch.setenv("WEEKLY_SIDECAR_TEST", "sent with the call")
    monkeypatch.chdir(tmp_path)
    assert sidecar.call(os.getenv, key="WEEKLY_SIDECAR_TEST") == "sent with the call"
    assert sidecar.call(os.getcwd) == str(tmp_path)
    assert sidecar.call(os.getpid) == there
    assert sum(f"ran in the side process {there}" in line for line in said) == 4


def test_the_log_records_of_a_call_reach_this_threads_loggers(monkeypatch, said):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))  # the side process imports `helpers` too
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("weekly.test")
    logger.addHandler(handler)
    try:
        sidecar.start()
        assert sidecar.call(helpers.say, message="week %s: 100% done") is None
    finally:
        logger.removeHandler(handler)
    (record,) = records
    assert record.getMessage() == "week %s: 100% done"  # as logged there, not formatted again
    assert record.levelno == logging.WARNING
    assert record.thread == threading.get_ident()  # a job's log takes its own thread's records
    assert ran_there(said)


def test_what_the_call_prints_does_not_spoil_its_answer(monkeypatch, said):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    # MLflow prints "View run ... at: <url>" on stdout when the store is a server
    sidecar.start()
    assert sidecar.call(print, end="\N{RUNNER} View run monitoring at: http://mlflow.internal:5000\n") is None
    assert any("View run monitoring" in line for line in said)  # in the job's log
    assert sidecar.call(helpers.write_past_stdout, text="a library's own line\n") > 0
    assert sidecar.call(os.getpid) != os.getpid()
    assert sum("ran in the side process" in line for line in said) == 3


def test_an_error_in_the_side_process_is_raised_in_the_caller_with_its_traceback_in_the_log(said):
    with pytest.raises(ValueError) as here:
        weeks.chain("2022-01-16", "the 5th of March")
    sidecar.start()
    with pytest.raises(ValueError) as there:
        sidecar.call(weeks.chain, start="2022-01-16", end="the 5th of March")
    assert str(there.value) == str(here.value)
    assert ran_there(said)
    assert any("side process: Traceback" in line for line in said)


def test_without_a_side_process_or_with_a_dead_one_the_calls_run_here(said):
    assert sidecar.call(os.getpid) == os.getpid()
    sidecar.start()
    sidecar._process.kill()
    assert sidecar.call(os.getpid) == os.getpid()
    assert any("ended without an answer" in line for line in said)
    assert sidecar.call(os.getpid) == os.getpid()  # the later calls too, without waiting for it again
    assert not ran_there(said)


def test_the_store_is_opened_ahead_of_the_first_call(tmp_path, monkeypatch, said):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # set by the MLflow calls of other tests
    settings = {"tracking_uri": "sqlite:///mlflow.db", "artifact_dir": "mlartifacts"}
    assert sidecar.ahead(registry.open_store, registry=settings) is None  # no side process: nothing
    assert not Path("mlflow.db").exists()
    sidecar.start()
    sidecar.ahead(registry.open_store, registry=settings, algorithms=["catboost"]).join()
    assert Path("mlflow.db").stat().st_size > 0  # a store with its tables
    assert sidecar.call(helpers.imported, module="catboost")
    assert not sidecar.call(helpers.imported, module="lightgbm")
    assert ran_there(said)


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


def test_a_run_that_adds_weeks_to_the_chain_starts_the_side_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {"start": "2022-01-16", "end": "2022-01-23"}
    sidecar.start_for_new_weeks(config)  # a backfill from clean
    assert sidecar._process is not None
    sidecar.stop()
    tracker = Path(paths.TRACKER.format(week="2022-01-23"))
    tracker.parent.mkdir(parents=True)
    tracker.write_text("{}")
    sidecar.start_for_new_weeks(config)  # every week done: a no-op, or a week run again
    assert sidecar._process is None
    sidecar.start_for_new_weeks({**config, "end": "2022-01-30"})  # a new week
    assert sidecar._process is not None
    sidecar.stop()
    sidecar.start_for_new_weeks({"start": "2022-01-16"})  # a config the Snakefile's check refuses
    assert sidecar._process is None


def test_a_run_without_mlflow_calls_stops_the_side_process_at_once(tmp_path):
    root = make_project(tmp_path / "raw-only")
    snakemake(root, "raw_data")  # the DVC stage: a run that adds weeks' raw files, nothing else
    assert side_processes(root) == []
    assert not (root / "mlflow.db").exists()  # the store is not opened ahead for it


def test_a_backfill_registers_from_the_side_process_and_starts_on_its_first_window(backfill):
    root = backfill[0]
    register = (root / "logs" / "register" / f"{TINY_WEEKS[0]}.log").read_text()
    assert "register_week ran in the side process" in register
    assert "INFO weekly.registry: mlflow: Created version '1'" in register  # its records, in the job's log
    # The first week's window (and week) was generated before the later weeks: Snakemake's
    # log lists the jobs as it starts them, those it starts together (one per free core:
    # the last of the window's beside a later week) in no particular order.
    (run_log,) = (root / ".snakemake" / "log").glob("*.snakemake.log")
    order = [block.split("wildcards: week=")[1].split()[0]
             for block in run_log.read_text().split("localrule ")[1:] if block.startswith("generate_week:")]
    first = [i for i, week in enumerate(order) if week <= TINY_WEEKS[0]]
    later = [i for i, week in enumerate(order) if week > TINY_WEEKS[0]]
    assert later and sum(i < max(first) for i in later) <= 1


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
