"""Any step run by hand, by its rule's name and wildcards only.

`weekly step train --week 2023-03-12 --algo catboost` asks Snakemake to run that one job
(`--allowed-rules train --forcerun train` on the job's output): the arguments are those
the rule gives, its inputs must be there, its log and Snakemake's records of the job are
written as in a backfill, and the next run of the chain knows the job is done.

`--outside` runs the step outside the workflow, in this process, with the arguments the
job's last run was given (the first record of its log, weekly.workflow.jobs): the same
step, the same keywords, no Snakemake. The scripts in scripts/ are this command, one per
rule (weekly.commands.command.step_script); the benchmark's plain loop replays a backfill's jobs the same way.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from weekly import paths
from weekly.errors import WeeklyError

# Each rule that runs a step: an output it makes (the job's target) and its wildcards, in
# the order of its log's path (paths.log).
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "generate_week": (paths.applications("{raw_dir}"), ("week",)),  # raw_dir filled in by `target`
    "decide": (paths.DECISION, ("week",)),
    "train": (paths.CANDIDATE, ("algo", "week")),
    "register": (paths.TRACKER, ("week",)),
    "predict": (paths.PREDS, ("week",)),
    "evaluate": (paths.EVALUATION, ("week",)),
    "report": (paths.SUMMARY, ()),
    "publish_tracker": (paths.LATEST_TRACKER, ()),
    "lifecycle_report": (paths.LIFECYCLE_REPORT, ()),
    "alerts": (paths.ALERT_EVENTS, ()),
}


def _wildcards(rule: str, given: dict[str, str | None]) -> dict[str, str]:
    if rule not in RULES:
        raise WeeklyError(f"no step is named {rule!r}: one of {', '.join(RULES)}")
    needed = RULES[rule][1]
    missing = [f"--{name}" for name in needed if not given.get(name)]
    extra = [f"--{name}" for name, value in given.items() if value and name not in needed]
    if missing or extra:
        raise WeeklyError(f"step {rule} takes {' and '.join(f'--{n}' for n in needed) or 'no week'}"
                          + (f": {', '.join(missing)} missing" if missing else f": {', '.join(extra)} is not one of its"))
    return {name: given[name] for name in needed}


def target(rule: str, raw_dir: str, **given: str | None) -> str:
    """The output of `rule`'s job for these wildcards: what Snakemake is asked to make."""
    return RULES[rule][0].format(raw_dir=raw_dir, **_wildcards(rule, given))


def job_log(rule: str, **given: str | None) -> str:
    """The log of `rule`'s job for these wildcards (paths.log)."""
    wildcards = _wildcards(rule, given)
    return paths.log(rule, *RULES[rule][1]).format(**wildcards)


def snakemake_command(rule: str, raw_dir: str, cores: int = 1, **given: str | None) -> list[str]:
    """The Snakemake command line that runs `rule`'s one job for these wildcards."""
    return [sys.executable, "-m", "snakemake", "--cores", str(cores), "--allowed-rules", rule, "--forcerun", rule,
            "--", target(rule, raw_dir, **given)]


def recorded(rule: str, **given: str | None) -> dict[str, Any]:
    """The arguments `rule`'s job was given the last time it ran (its log's first record)."""
    from weekly.workflow.jobs import recorded_arguments

    log = Path(job_log(rule, **given))
    arguments = recorded_arguments(log.read_text()) if log.exists() else None
    if arguments is None:
        raise WeeklyError(f"{log} records no run of this job: run `weekly step {rule}` without --outside first "
                          "(Snakemake derives its arguments from the rule)")
    arguments.pop("threads", None)
    return arguments


def outside(rule: str, threads: int = 1, **given: str | None) -> Any:
    """Run `rule`'s step in this process with the arguments its job was last given."""
    from weekly.workflow import jobs

    return jobs.run(rule, log=job_log(rule, **given), threads=threads, **recorded(rule, **given))


def by_snakemake(rule: str, raw_dir: str, cores: int = 1, **given: str | None) -> int:
    """Run `rule`'s one job with Snakemake; its exit status (Snakemake says why on the console)."""
    return subprocess.run(snakemake_command(rule, raw_dir, cores, **given)).returncode


def add_options(parser) -> None:
    """The options of a step run by hand, besides its wildcards."""
    parser.add_argument("--outside", action="store_true",
                        help="run the step in this process, without Snakemake, with the arguments its job was last "
                             "given (its log's first record)")
    parser.add_argument("--cores", type=int, default=1, help="Snakemake's --cores, or the step's threads with --outside "
                                                             "(default: %(default)s)")
