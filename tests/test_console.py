"""The console and the failure alerts of a Snakemake run, from the logger plugin
snakemake_logger_plugin_weekly: records fed to its handler, and the real `snakemake` on the
tiny chain. Reading the Snakefile (a dry run) starts nothing and writes nothing."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import textwrap
import types
from pathlib import Path

import pytest
from snakemake.settings.enums import Quietness
from snakemake_interface_logger_plugins.common import LogEvent

from helpers import TINY_OVERRIDES, TINY_WEEKS, clone, make_project, merge, snakemake, write_params
from snakemake_logger_plugin_weekly import LogHandler, LogHandlerSettings
from weekly.logs import PROGRESS

PLANTED = "PLANTED-SECRET-7431"


# --- the handler, fed records as Snakemake's logger hands them over -------------------------

def output_settings(**changes):
    # quiet: the header of a started workflow (host, user, command) is left out of these tests
    return types.SimpleNamespace(**{"printshellcmds": False, "nocolor": True, "quiet": {Quietness.HOST}, "debug_dag": False,
                                    "verbose": False, "show_failed_logs": False, "stdout": False, "dryrun": False,
                                    **changes})


def record(msg, level=logging.INFO, **fields):
    """A record of Snakemake's logger, as its queue hands it to a plugin."""
    return logging.makeLogRecord({"name": "snakemake.logging", "levelno": level,
                                  "levelname": logging.getLevelName(level), "msg": msg, **fields})


def job_info(jobid, rule, **wildcards):
    return record(None, event=LogEvent.JOB_INFO, jobid=jobid, rule_name=rule, rule_msg=None, local=False,
                  is_checkpoint=False, input=[], output=[f"weeks/{wildcards.get('week')}/x"], log=[], benchmark=None,
                  reason="Missing output files", wildcards=wildcards, priority=0, threads=1, resources={})


def job_error(jobid, rule, log):
    return record(f"Error in rule {rule}, jobid: {jobid}", logging.ERROR, event=LogEvent.JOB_ERROR, rule_name=rule,
                  rule_msg=None, jobid=jobid, input=[], output=[], log=[log], conda_env=None, container_img=None,
                  aux={}, indent=False, shellcmd=None)


def error(text, exception):
    return record(text, logging.ERROR, event=LogEvent.ERROR, exception=exception)


STARTED = {"event": LogEvent.WORKFLOW_STARTED, "quietness": Quietness.HOST}


@pytest.fixture
def console(capsys, tmp_path, monkeypatch):
    """Make a handler on (output settings), in a project folder with the tiny params; its
    stderr, once closed."""
    monkeypatch.chdir(tmp_path)
    write_params(tmp_path, TINY_OVERRIDES)
    made = []

    def make(**changes):
        handler = LogHandler(output_settings(**changes), LogHandlerSettings(params="params.yaml"))
        made.append(handler)
        return handler

    yield make
    for handler in made:
        handler.close()


def shown(capsys) -> str:
    return capsys.readouterr().err


def alerts_recorded(root: Path) -> list[dict]:
    path = root / "reports" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_run_shows_a_line_per_week_instead_of_snakemakes_job_lines(console, capsys):
    handler = console()
    handler.handle(record("Building DAG of jobs..."))
    handler.handle(record("Select jobs to execute..."))
    handler.handle(job_info(3, "decide", week="2022-01-16"))
    handler.handle(record(None, event=LogEvent.JOB_STARTED, jobs_ids=[3]))
    handler.handle(record("Finished jobid: 3 (Rule: decide)", event=LogEvent.JOB_FINISHED, job_id=3))
    handler.handle(record(None, event=LogEvent.PROGRESS, done=1, total=9))
    handler.handle(record("Provided cores: 2", event=LogEvent.RESOURCES_INFO, cores=2))
    logging.getLogger(PROGRESS).info("%s  keep   macro F1 %.3f", "2022-01-16", 0.81234)
    handler.handle(record("Complete log(s): .snakemake/log/x.snakemake.log"))
    handler.close()
    assert shown(capsys).splitlines() == ["Building DAG of jobs...", "2022-01-16  keep   macro F1 0.812",
                                          "Complete log(s): .snakemake/log/x.snakemake.log"]


@pytest.mark.parametrize("changes", [{"dryrun": True}, {"verbose": True}])
def test_a_dry_run_or_verbose_shows_snakemakes_job_lines(console, capsys, changes):
    handler = console(**changes)
    handler.handle(record("Select jobs to execute..."))
    handler.handle(job_info(3, "decide", week="2022-01-16"))
    handler.handle(record(None, event=LogEvent.PROGRESS, done=1, total=9))
    handler.close()
    said = shown(capsys)
    assert "Select jobs to execute..." in said and "rule decide:" in said and "wildcards: week=2022-01-16" in said
    assert "1 of 9 steps (11%) done" in said


def test_the_console_and_snakemakes_log_file_mask_secrets(console, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "token-of-the-run-55")
    handler = console()
    snakemake_logger = logging.getLogger("snakemake.logging")
    # Snakemake's log file under .snakemake/log/: a plain handler of its logger, added after the plugin
    from snakemake.logging import DefaultFormatter

    file = logging.FileHandler(tmp_path / "snakemake.log")
    file.setFormatter(DefaultFormatter())
    snakemake_logger.addHandler(file)
    level = snakemake_logger.level
    snakemake_logger.setLevel(logging.INFO)
    try:
        said = f"RegistryError: http://alice:{PLANTED}@host is unreachable (token-of-the-run-55)"
        snakemake_logger.error("%s", said, extra={"event": LogEvent.ERROR, "exception": "RegistryError"})
        failed = job_error(7, "register", "logs/register/2022-01-16.log")
        failed.rule_msg = f"http://bob:{PLANTED}@host"
        snakemake_logger.handle(failed)
        handler.handle(failed)  # the queue's copy, after the logger's filter
        logging.getLogger(PROGRESS).info("week line with http://carol:%s@host", PLANTED)
    finally:
        snakemake_logger.removeHandler(file)
        snakemake_logger.setLevel(level)
        file.close()
    handler.close()
    console_text, file_text = shown(capsys), (tmp_path / "snakemake.log").read_text()
    assert "RegistryError: http://alice:***@host is unreachable (***)" in file_text
    assert "message: http://bob:***@host" in file_text and "message: http://bob:***@host" in console_text
    assert "week line with http://carol:***@host" in console_text
    assert PLANTED not in console_text + file_text and "token-of-the-run-55" not in console_text + file_text
    # the filter leaves Snakemake's logger when the plugin closes
    assert not logging.getLogger("snakemake.logging").filters


def test_an_error_the_package_said_in_one_line_is_not_shown_again(console, capsys):
    handler = console()
    handler.handle(record("Workflow has started!", **STARTED))
    message = "data/raw: holds 2022-01-16.parquet and other files of the one-file-per-week layout"
    logging.getLogger(PROGRESS).error("%s", message, extra={"short": message, "exception": "DataError"})
    handler.handle(error(f'DataError in file "Snakefile", line 80:\n{message}\n  File "Snakefile", line 80',
                         "DataError"))
    handler.close()
    assert shown(capsys).splitlines() == [f"error: {message}"]
    assert alerts_recorded(Path.cwd()) == []  # the check alerted itself (senders.alert_on_failure)


def test_a_failed_job_alerts_with_its_rule_week_and_the_error_its_log_ends_with(console, capsys, tmp_path):
    (tmp_path / "logs" / "predict").mkdir(parents=True)
    (tmp_path / "logs" / "report").mkdir(parents=True)
    (tmp_path / "logs" / "predict" / "2022-02-20.log").write_text(
        "2026 INFO weekly.job: predict started\n"
        "2026 ERROR weekly.job: predict failed: data/raw/x.parquet (week 2022-02-20): unreadable parquet file\n")
    (tmp_path / "logs" / "report" / "report.log").write_text(
        "2026 ERROR weekly.job: report failed with an unexpected error\nTraceback ...\n  File x\nKeyError: 'macro_f1'\n")
    handler = console()
    handler.handle(record("Workflow has started!", **STARTED))
    handler.handle(job_info(47, "predict", week="2022-02-20"))
    handler.handle(job_info(50, "report"))
    handler.handle(error("RuleException:\nDataError in file ...", "RuleException"))  # the job's exception, first
    handler.handle(job_error(47, "predict", "logs/predict/2022-02-20.log"))
    handler.handle(job_error(50, "report", "logs/report/report.log"))
    handler.handle(error("WorkflowError:\nAt least one job did not complete successfully.", "WorkflowError"))
    assert alerts_recorded(tmp_path) == []  # alerted once the run is over
    handler.close()
    records = alerts_recorded(tmp_path)
    assert [(r["figures"]["rule"], r["week"], r["figures"]["error"], r["files"]) for r in records] == [
        ("predict", "2022-02-20", "data/raw/x.parquet (week 2022-02-20): unreadable parquet file",
         ["logs/predict/2022-02-20.log"]),
        ("report", None, "KeyError: 'macro_f1'", ["logs/report/report.log"]),
    ]
    assert records[0]["message"] == ("week 2022-02-20: failure alert: predict failed: data/raw/x.parquet "
                                     "(week 2022-02-20): unreadable parquet file")
    assert "alerts: 2 failure alert(s) -> reports/alerts.jsonl" in shown(capsys)


@pytest.mark.parametrize("changes, started", [({"dryrun": True}, True), ({}, False)])
def test_a_dry_run_or_a_command_that_runs_no_workflow_alerts_nobody(console, tmp_path, changes, started):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.log").write_text("2026 ERROR weekly.job: predict failed: broken\n")
    handler = console(**changes)
    if started:  # a --lint, --report or --summary never starts the workflow
        handler.handle(record("Workflow has started!", **STARTED))
    handler.handle(job_info(1, "predict", week="2022-01-16"))
    handler.handle(job_error(1, "predict", "logs/x.log"))
    handler.handle(error("MissingInputException in rule decide:\nMissing input files", "MissingInputException"))
    handler.close()
    assert alerts_recorded(tmp_path) == []


def test_an_error_outside_any_job_alerts_and_a_stop_by_the_user_does_not(console, tmp_path):
    handler = console()
    handler.handle(record("Workflow has started!", **STARTED))
    handler.handle(error("Cancelling snakemake on user request.", "KeyboardInterrupt"))
    handler.close()
    assert alerts_recorded(tmp_path) == []
    handler = console()
    handler.handle(record("Workflow has started!", **STARTED))
    handler.handle(error("LockException:\nError: Directory cannot be locked.", "LockException"))
    handler.close()
    [alert] = alerts_recorded(tmp_path)
    assert alert["figures"]["rule"] == "snakemake" and alert["week"] is None
    assert alert["message"] == "failure alert: snakemake failed: LockException:\nError: Directory cannot be locked."


# --- the real snakemake -----------------------------------------------------------------------

SPY = textwrap.dedent('''
    """Records, into $WEEKLY_TEST_SPAWNS, every process this Python starts (audit events)."""
    import json, os, sys
    _out = os.environ.get("WEEKLY_TEST_SPAWNS")
    if _out:
        def _note(event, argv=None):
            with open(_out, "a") as f:
                f.write(json.dumps({"event": event, "argv": [os.fsdecode(a) for a in argv or []]}) + "\\n")

        def _hook(event, args):
            if event == "subprocess.Popen":
                _note(event, args[1] if isinstance(args[1], (list, tuple)) else [args[0]])
            elif event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn"):
                _note(event, [str(args[0])] + [str(a) for a in (args[1] if len(args) > 1 else [])])
            elif event in ("os.fork", "os.forkpty", "pty.spawn"):
                _note(event)
        sys.addaudithook(_hook)

        import _posixsubprocess  # what subprocess and multiprocessing's spawn call: no audit event of its own
        _fork_exec = _posixsubprocess.fork_exec

        def fork_exec(args, *rest):
            _note("fork_exec", args)
            return _fork_exec(args, *rest)
        _posixsubprocess.fork_exec = fork_exec
''')


def spied(tmp_path: Path) -> tuple[dict, Path]:
    folder = tmp_path / "spy"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SPY)
    log = tmp_path / "spawns.jsonl"
    return {"PYTHONPATH": str(folder), "WEEKLY_TEST_SPAWNS": str(log)}, log


def python_or_weekly(spawns: Path) -> list[dict]:
    """The processes started that run Python (a side process, a worker) or the package;
    Snakemake's own probes (`uname -p`, its SLURM plugin's `which sacct`) are no concern here."""
    started = [json.loads(line) for line in spawns.read_text().splitlines()] if spawns.exists() else []
    python = {os.path.realpath(sys.executable), sys.executable}

    def runs_python(argv):
        name = Path(argv[0]).name if argv else ""
        return (not argv or name.startswith("python") or name in ("weekly", "snakemake") or argv[0] in python
                or os.path.realpath(argv[0]) in python or any("weekly" in a for a in argv))

    return [s for s in started if runs_python(s["argv"])]


def tree(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root` but .snakemake/: kind, size and modification time
    (a file made and removed again changes its folder's)."""
    out = {".": ("dir", root.stat().st_mtime_ns)}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == ".snakemake":
            continue
        stat = path.lstat()
        out[str(relative)] = ("dir", stat.st_mtime_ns) if path.is_dir() else ("file", stat.st_size, stat.st_mtime_ns)
    return out


def test_the_spy_sees_every_way_to_start_a_python_process(tmp_path):
    from helpers import run

    env, spawns = spied(tmp_path)
    (tmp_path / "starts.py").write_text(textwrap.dedent("""
        import multiprocessing, subprocess, sys
        if __name__ == "__main__":
            subprocess.run([sys.executable, "-c", "pass"])
            for way in ("spawn", "fork"):
                process = multiprocessing.get_context(way).Process(target=print)
                process.start()
                process.join()
    """))
    run(["python", "starts.py"], tmp_path, env=env)
    caught = [s["event"] for s in python_or_weekly(spawns)]
    assert caught.count("subprocess.Popen") == 1 and caught.count("os.fork") == 1
    assert caught.count("fork_exec") >= 2  # subprocess's, and multiprocessing's spawn (and its resource tracker)


def test_a_dry_run_starts_no_process_and_writes_nothing_but_snakemakes_folder(tmp_path):
    root = make_project(tmp_path / "dry")
    (root / ".snakemake").mkdir()  # Snakemake's own (its metadata): the folder itself would change the root's time
    env, spawns = spied(tmp_path)
    before = tree(root)
    result = snakemake(root, "-n", "all_weeks", env=env)
    assert spawns.exists(), "the spy did not run"  # Snakemake probes its platform (uname -p)
    assert python_or_weekly(spawns) == []
    assert tree(root) == before
    # a dry run lists its jobs as Snakemake does, on stdout
    assert "rule decide:" in result.stdout and f"wildcards: week={TINY_WEEKS[0]}" in result.stdout
    assert "This was a dry-run" in result.stdout


def test_a_run_shows_one_line_per_week_and_no_job_lines(backfill):
    _, result = backfill
    said = result.stderr
    weeks = [line[:10] for line in said.splitlines() if re.match(r"\d{4}-\d{2}-\d{2}  ", line)]
    assert weeks == TINY_WEEKS
    assert "Select jobs to execute" not in said and "rule decide:" not in said and "Finished jobid" not in said
    assert not re.search(r"\d+ of \d+ steps", said) and "Provided cores" not in said
    assert "Job stats:" in said and f"{len(TINY_WEEKS)} weeks, 3 retrainings" in said  # the rest as before


@pytest.mark.slow
def test_a_failing_step_alerts_once_with_the_error_its_log_ends_with(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "corrupt")
    before = len(alerts_recorded(root))
    week = TINY_WEEKS[5]
    (root / f"data/raw/applications/{week}.parquet").write_bytes(b"not a parquet file")
    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0 and "Error in rule predict:" in result.stderr
    new = alerts_recorded(root)[before:]
    assert len(new) == 1, new
    [said] = [line.split("ERROR weekly.job: predict failed: ", 1)[1]
              for line in (root / f"logs/predict/{week}.log").read_text().splitlines() if "predict failed: " in line]
    assert "unreadable parquet file" in said
    alert = new[0]
    assert (alert["figures"]["rule"], alert["week"], alert["figures"]["error"]) == ("predict", week, said)
    assert alert["message"] == f"week {week}: failure alert: predict failed: {said}"
    assert "alerts: 1 failure alert(s) -> reports/alerts.jsonl" in result.stderr


def test_a_raw_file_of_your_own_data_not_arrived_alerts_on_a_run_not_on_a_dry_run(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "missing")
    write_params(root, merge(TINY_OVERRIDES, {"data": {"generate": False}, "end": "2022-03-13", "week": "2022-03-13"}))
    before = len(alerts_recorded(root))
    dry = snakemake(root, "-n", "all_weeks", check=False)
    assert dry.returncode != 0 and "Missing input files" in dry.stdout + dry.stderr
    assert len(alerts_recorded(root)) == before
    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0 and "Missing input files" in result.stderr
    new = alerts_recorded(root)[before:]
    assert [(a["figures"]["rule"], a["week"]) for a in new] == [("raw_data", "2022-03-13")]
    assert new[0]["figures"]["error"] == "data/raw/applications/2022-03-13.parquet (week 2022-03-13): missing"
