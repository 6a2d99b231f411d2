"""How a step runs as a job: the runner owns the process, the steps know nothing of it.

A rule's `run:` block hands its job over (`run_step`); the benchmark's plain loop, the
commands and a step run by hand call `run` with the same keywords. The runner

- finds the step by the rule's name (`weekly.workflow.steps.<rule>.<rule>`: one name
  per step, in the rule, the module and the function);
- gives it the names the rule gives its wildcards, input, output and params (but `code`,
  the rule's code digest), and `threads` when the step takes them;
- runs it inside the job's log (weekly.logs.job_log), whose first record is the
  arguments the step was given: the wiring, as Snakemake derived it from the rule;
- imports MLflow first for the steps that call it, with its console lines kept in the
  job's log, and hands the memory a fit freed back to the system after the steps that fit.

Jobs are threads of one Snakemake process (`force-use-threads`, profiles/default): the
imports are paid once a run, and a log record goes to the file of the job whose thread
logged it.
"""
from __future__ import annotations

import importlib
import inspect
import json
import logging
from typing import Any

from weekly.logs import job_log, off_console
from weekly.workflow.runtime import hand_back_memory

log = logging.getLogger(__name__)

ARGUMENTS = "arguments: "  # the job log's first record: what the step was given
# Steps that call MLflow (the registration, the champion check before scoring, the
# monitoring run): MLflow is imported before they start, and what it logs stays in the job's log.
MLFLOW_STEPS = frozenset({"register", "predict", "report"})
# Steps that fit models: the memory a fit frees goes back to the system after them.
FITTING_STEPS = frozenset({"train", "register"})


def step_of(rule: str):
    """The step function of `rule`."""
    return getattr(importlib.import_module(f"weekly.workflow.steps.{rule}"), rule)


def step_arguments(wildcards, input, output, params) -> dict[str, Any]:
    """A step's keyword arguments: the names the rule gives its wildcards, input, output
    and params (but `code`). The wiring of a step is these names, written once, in the rule."""
    arguments: dict[str, Any] = {}
    for group in (wildcards, input, output, params):
        for name, value in group.items():
            if name == "code":
                continue
            if name in arguments:
                raise ValueError(f"'{name}' names two things of one rule")
            arguments[name] = list(value) if isinstance(value, list) else value
    return arguments


def run_step(rule: str, wildcards, input, output, params, log, threads: int = 1) -> Any:
    """A rule's `run:` block: its step, with the job's wildcards, input, output and params,
    inside its log."""
    return run(rule, log=log[0] if log else None, threads=threads, **step_arguments(wildcards, input, output, params))


def run(rule: str, *, log: str | None = None, threads: int = 1, **arguments) -> Any:
    """Run the step of `rule` with `arguments` inside the job log `log` (None: no file)."""
    step = step_of(rule)
    if "threads" in inspect.signature(step).parameters:
        arguments["threads"] = threads
    if rule in MLFLOW_STEPS:
        _quiet_mlflow()
    with job_log(log, rule):
        logging.getLogger("weekly.job").info("%s%s", ARGUMENTS, json.dumps(arguments, default=str))
        try:
            return step(**arguments)
        finally:
            if rule in FITTING_STEPS:
                hand_back_memory()  # the trainers are threads of one long process


def _quiet_mlflow() -> None:
    import mlflow  # noqa: F401  (its loggers and handlers exist once it is imported)

    off_console("mlflow", "mlflow.store.db.utils")


def recorded_arguments(text: str) -> dict[str, Any] | None:
    """The arguments a job log records (its first `arguments:` record), or None."""
    for line in text.splitlines():
        at = line.find(ARGUMENTS)
        if at >= 0 and " weekly.job: " in line[:at]:
            return json.loads(line[at + len(ARGUMENTS):])
    return None
