"""Weekly ML lifecycle of a credit-scoring classifier, backfilled week after week.

Each week D: decide (retrain or not, from week D-7's files), train every candidate when
due, register the winner, predict D's applications, evaluate on D's labels.
"""
import os
import sys

from weekly import paths, sidecar, steps
from weekly.algorithms import ALGORITHMS
from weekly.config import read_yaml, validate_params
from weekly.data import check_raw_folder
from weekly.registry import check_store, open_store
from weekly.logs import redact_snakemake, weeks_on_console
from weekly.runtime import first_week_first, rules_to_run, spare_the_collector, unthrottle
from weekly.senders import alert_failed_run, alert_on_failure, clear_failures

# What Snakemake shows and logs never holds a secret of the environment (weekly.secrets).
redact_snakemake()
# The chain is 155 weeks of ~7 dependent jobs: deeper than the default recursion limit
# of Snakemake's DAG build.
sys.setrecursionlimit(100_000)
# Snakemake's imports and ours stay alive to the end: the garbage collector need not walk them.
spare_the_collector()


# Read before Snakemake's loader does: it keeps the last of two equal keys (refused here), and
# a file with `__use_yte__` would have it run the file's expressions as Python (refused here).
read_yaml("params.yaml")
configfile: "params.yaml"
# A run that adds weeks to the chain (a backfill, a weekly run) starts the process that makes
# its MLflow calls now, so that it imports MLflow while Snakemake builds the DAG (not in the
# processes of single jobs, which read this file too).
if workflow.is_main_process:
    sidecar.start_for_new_weeks(config)
# `snakemake --report report.html`: this text opens it; the lifecycle's outputs are in it.
report: "report/workflow.rst"


# `--config end=...` alone stops the chain at `end`: `week` (the week `dvc repro` builds;
# no rule reads it) follows `end` when it would be after it. Given both, both must agree.
config.update(
    validate_params(
        config,
        "params.yaml (with --config overrides)",
        week_follows_end="week" not in workflow.config_settings.overwrite_config,
    )
)
# Malformed input and a lost store alert too (params.yaml alerts), then stop the run.
with alert_on_failure(config, "check"):
    check_raw_folder(config["data"]["raw_dir"], config["data"]["columns"], config["data"]["generate"])
    # A lost MLflow store stops the run (the message says how to register the chain again).
    check_store(config["registry"], paths.LATEST_TRACKER)
clear_failures(config, only=("check",))  # they pass now
# One line per finished week on the console instead of Snakemake's lines per job
# (`--verbose` shows those; a dry run lists its jobs as usual).
weeks_on_console(workflow)


wildcard_constraints:
    week=r"\d{4}-\d{2}-\d{2}",
    algo="|".join(ALGORITHMS),


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/decide.smk"
include: "rules/train.smk"
include: "rules/register.smk"
include: "rules/score.smk"
include: "rules/report.smk"
include: "rules/alerts.smk"


rule all_weeks:
    default_target: True
    input:
        weeks=[path for pattern in (DECISION, TRACKER, PREDS) for path in every_week(pattern)],
        # a week is evaluated once its outcomes are known (label_delay_weeks)
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
        # A deleted model folder is rebuilt (with what depends on it), not found missing later.
        models=every_model_dir(),
        weekly=paths.WEEKLY_REPORT,
        summary=paths.SUMMARY,
        lifecycle=paths.LIFECYCLE_REPORT,
        latest=paths.LATEST_TRACKER,
        alerts=paths.ALERT_EVENTS,


# Jobs start as soon as they are ready: Snakemake's rate limit (100 jobs a second) is for
# clusters, and on this chain of in-process jobs it cost more than the steps themselves.
# The DAG, built now, stays alive to the end too.
onstart:
    unthrottle(workflow)
    spare_the_collector()
    # The chain's first week, and the raw weeks of its window, before the other raw weeks.
    first_week_first(workflow, paths.PREDS.format(week=WEEKS[0]))
    # The side process (weekly.sidecar), when this run started one, opens the store now; for
    # the chain's first week, which always registers, also what logging its models needs. A
    # run without MLflow calls (other targets) stops it.
    if {"register", "report"} & rules_to_run(workflow):
        starts_chain = not os.path.exists(paths.TRACKER.format(week=WEEKS[0]))
        sidecar.ahead(open_store, registry=config["registry"], algorithms=config["train"]["models"] if starts_chain else [])
    else:
        sidecar.stop()


# A failed job alerts with the one-line error of its log (params.yaml alerts); a run that
# goes through clears the failures still open.
onerror:
    alert_failed_run(log, config)


onsuccess:
    clear_failures(config)
