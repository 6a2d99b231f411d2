"""Step decide: retrain or not at the start of a week, from the files known then (the previous week's tracker and drift, the newest evaluation, the training window's outcomes)."""
from __future__ import annotations

import logging
from pathlib import Path

from weekly.errors import StateError
from weekly.inputs.data import (
    labels,
    read_outcomes,
)
from weekly.io import read_json, write_json
from weekly.lifecycle import decision as decision_logic

log = logging.getLogger(__name__)




def _labelled_weeks(outcome_files: list[str], columns: dict, count: int) -> list[dict]:
    """The rows and rows per class of the newest `count` of `outcome_files` (oldest first),
    newest first: what the training window is chosen from."""
    classes, target = labels(columns), columns["target"]
    weeks = []
    for path in reversed(outcome_files[-count:] if count else []):
        week = Path(path).stem
        values = read_outcomes(path, week, columns)[target].astype(str).value_counts()
        weeks.append({"week": week, "rows": int(values.sum()), "class_rows": {c: int(values.get(c, 0)) for c in classes}})
    return weeks


# The keys of the files the week before left that decide reads (weekly.lifecycle.decision's triggers).
# A `pooled` section is read only when the file has one, and a drift test's features and
# score only when its pool was judged.
_DECIDE_READS = {"tracker": ("model_version", "last_retraining_date"), "evaluation": ("week", "model_version"),
                 "drift": ("week", "model_version"), "estimate": ("week", "model_version", "pooled")}
_POOLED_EVIDENCE = ("weeks", "rows", "judged", "single_class", "predicted_classes")
_DRIFT_TESTS = {"features": ("psi", "critical", "significant", "moved"), "score": ("psi", "significant")}
_JSON_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def _lacking(kind: str, record: dict, metric: str) -> list[str]:
    """The keys (dotted paths) of `record`, a `kind` file, that decide would read and that
    are not there, or are not JSON objects where decide reads keys inside them."""
    lacking = [key for key in _DECIDE_READS[kind] if key not in record]
    pooled = record.get("pooled")
    if kind in ("tracker", "estimate") or not pooled:
        return lacking
    if not isinstance(pooled, dict):
        return [*lacking, "pooled (not an object)"]
    if kind == "evaluation":
        lacking += [f"pooled.{key}" for key in (*_POOLED_EVIDENCE, metric) if key not in pooled]
        if not isinstance(pooled.get(metric, {}), dict):
            lacking.append(f"pooled.{metric} (not an object)")
        return lacking
    if "judged" not in pooled:
        return [*lacking, "pooled.judged"]
    if not pooled["judged"]:
        return lacking
    for part, keys in _DRIFT_TESTS.items():  # the score's test, and one test per feature
        tests = pooled.get(part)
        if not isinstance(tests, dict):
            lacking.append(f"pooled.{part}")
            continue
        named = {part: tests} if part == "score" else {f"{part}.{n}": t for n, t in tests.items()}
        for name, test in named.items():
            if isinstance(test, dict):
                lacking += [f"pooled.{name}.{key}" for key in keys if key not in test]
            else:
                lacking.append(f"pooled.{name} (not an object)")
    return lacking


def _previous_state(path: str, kind: str, week: str, metric: str) -> dict:
    """A file of the week before (`kind`: tracker, evaluation or drift) as decide reads it:
    a StateError naming it, what it lacks and how to make it again when it does not hold
    what decide reads (a write cut short, a hand edit), instead of a KeyError in a trigger."""
    record = read_json(path)  # not JSON at all: read_json says so
    if isinstance(record, dict):
        lacking = _lacking(kind, record, metric)
        problem = f"lacks {', '.join(lacking)}" if lacking else None
    else:
        problem = f"holds {_JSON_KINDS.get(type(record), type(record).__name__)}, not a JSON object"
    if problem:
        raise StateError(
            f"{path}: the {kind} that the decision of week {week} reads {problem}: the file was cut short or edited; "
            f"delete {Path(path).parent}/ and run `snakemake all_weeks` to make it again"
        )
    return record


def decide(
    *,
    week: str,
    decision: str,
    window_outcomes: list[str],
    retrain: dict,
    window_weeks: int,
    valid_weeks: int,
    label_delay_weeks: int,
    guard: dict,
    minimums: dict,
    columns: dict,
    tracker: str | None = None,
    evaluations: list[str] = (),
    drift: str | None = None,
    estimate: str | None = None,
    new_raw_files: list[str] = (),
) -> dict:
    """Take the retraining decision of `week` (written to `decision`) from what is known at
    its start: the previous week's tracker, the newest evaluation (with its pooled
    evidence window) and the previous week's drift, each checked to hold what the triggers
    read (a StateError naming the file otherwise). With retrain.performance.use_estimate,
    the previous week's `estimate` is read too, for a window whose outcomes are pending. (`new_raw_files` are not read here:
    the rule lists the window's files that the week before's did not hold, so that a
    corrected one re-runs the decision and what follows it.)

    When a trigger fires, the training window is chosen from the outcomes
    (`window_outcomes`: as far back as train.max_window_weeks, oldest first): extended
    back while it is too small (decision.fitted_window, `minimums`: params.yaml
    evaluate), then checked against the guard's minimums (train.min_rows, min_class_rows).
    """
    window = decision_logic.training_window(week, window_weeks, valid_weeks, label_delay_weeks)
    metric = retrain["performance"]["metric"]
    known = {"tracker": _previous_state(tracker, "tracker", week, metric) if tracker else None,
             "evaluations": [_previous_state(p, "evaluation", week, metric) for p in evaluations],
             "drift": _previous_state(drift, "drift", week, metric) if drift else None,
             "estimate": _previous_state(estimate, "estimate", week, metric) if estimate else None}
    result = decision_logic.decide(week, retrain, known, window)
    if result["reasons"]:
        classes = labels(columns)
        available = _labelled_weeks(window_outcomes, columns, window_weeks)
        window = decision_logic.fitted_window(available, window_weeks, valid_weeks, classes, guard, minimums)
        short = len(window["weeks"]) == len(available) or not window["valid_enough"]
        if short and len(available) < len(window_outcomes):  # too small: look further back
            available = _labelled_weeks(window_outcomes, columns, len(window_outcomes))
            window = decision_logic.fitted_window(available, window_weeks, valid_weeks, classes, guard, minimums)
        counted = {w["week"]: w for w in available}
        train_rows = {c: sum(counted[w]["class_rows"][c] for w in window["train_weeks"]) for c in classes}
        valid_rows = sum(counted[w]["rows"] for w in window["valid_weeks"])
        checked = decision_logic.window_guard(train_rows, valid_rows, guard)
        result = decision_logic.decide(week, retrain, known, window, checked)
    write_json(decision, result)
    log.info("week %s: retrain=%s reasons=%s%s", week, result["retrain"], result["reasons"],
             f" blocked: {result['blocked']}" if result["blocked"] else "")
    return result
