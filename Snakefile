"""Weekly ML lifecycle of a credit-scoring classifier, backfilled week after week.

Each week D: decide (retrain or not, from week D-7's files), train every candidate when
due, register the winner, predict D's applications, evaluate on D's labels.
"""
import sys

from weekly import paths
from weekly.modelling.algorithms import ALGORITHMS
from weekly.config import read_yaml, validate_params
from weekly.inputs.data import check_raw_folder
from weekly.tracking.registry import check_store
from weekly.workflow.runtime import spare_the_collector
from weekly.alerting.senders import alert_on_failure, clear_failures

# Reading this file starts nothing, sends nothing and opens no store: the checks at start
# are `onstart`'s; the console (a line per week) and a failed run's alerts are the logger
# plugin's (snakemake_logger_plugin_weekly, `logger:` in profiles/default).

# The chain is 155 weeks of ~7 dependent jobs: deeper than the default recursion limit
# of Snakemake's DAG build.
sys.setrecursionlimit(100_000)
# Snakemake's imports and ours stay alive to the end: the garbage collector need not walk them.
spare_the_collector()


# Read before Snakemake's loader does: it keeps the last of two equal keys (refused here), and
# a file with `__use_yte__` would have it run the file's expressions as Python (refused here).
read_yaml("params.yaml")
configfile: "params.yaml"
# `snakemake --report report.html`: this text opens it; the lifecycle's outputs are in it.
report: "rules/captions/workflow.rst"


# `--config end=...` alone stops the chain at `end`: `week` (the week `dvc repro` builds;
# no rule reads it) follows `end` when it would be after it. Given both, both must agree.
config.update(
    validate_params(
        config,
        "params.yaml (with --config overrides)",
        week_follows_end="week" not in workflow.config_settings.overwrite_config,
    )
)


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


# Once the DAG is built and jobs will run (Snakemake calls no `onstart` on a dry run or
# when there is nothing to do): the DAG stays alive to the end too; malformed input and a
# lost MLflow store alert (params.yaml alerts) and stop the run in one line, before any job.
onstart:
    spare_the_collector()
    with alert_on_failure(config, "check"):
        check_raw_folder(config["data"]["raw_dir"], config["data"]["columns"], config["data"]["generate"])
        # A lost MLflow store stops the run (the message says how to register the chain again).
        check_store(config["registry"], paths.LATEST_TRACKER)
    # They pass now, and the DAG found every raw file it needs: those failures are cleared.
    clear_failures(config, only=("check", "raw_data"))


# A failed run alerts from the logger plugin (the failed job's one-line error, or a raw
# file not arrived); a run that goes through clears the failures still open.
onsuccess:
    clear_failures(config)
