"""The workflow's steps: read inputs, call the pure logic, write outputs atomically.

Snakemake's rules, the scripts in `scripts/` and the benchmark's loop call these
functions, always by keyword. A step's keywords are the names its rule gives to its
wildcards, input, output and params, so a rule passes them all at once; paths always
come from the caller. Every step takes `log=` (its job log, see weekly.logs). Heavy
libraries are imported only by the steps that need them.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weekly import decision as decision_logic
from weekly import drift as stability
from weekly import evidence as evidence_logic
from weekly import fit_cache, models, paths, provenance, runtime, selection, sidecar
from weekly import report as report_logic
from weekly import tracker as tracker_logic
from weekly.data import (
    application_columns,
    feature_names,
    labels,
    outcome_columns,
    range_findings,
    read_applications,
    read_training_window,
    read_outcomes,
)
from weekly.errors import StateError, StepError
from weekly.io import atomic_dir, copy_files, read_json, write_csv, write_json, write_parquet
from weekly.logs import PROGRESS, logged
from weekly.metrics import class_mix, classification_report, risk_report
from weekly.weeks import parse_week

log = logging.getLogger(__name__)
progress = logging.getLogger(PROGRESS)

EXAMPLE_ROWS = 5
REFERENCE = "reference.json"  # beside a native model: its training rows' distributions (weekly.drift)


@logged
def generate_week(*, week: str, applications: str, outcomes: str, rows: int, seed: int, columns: dict,
                  generator: dict | None = None) -> None:
    """Write the embedded default data of one week: its applications and their outcomes.
    `generator` (params.yaml data.generator): stationary or drifting, three classes or a
    binary rare-event portfolio, labelled with columns.classes."""
    from weekly.generate import generate_week as generate

    shape = generator or {"drift": True, "event_rate": None}
    frame = generate(parse_week(week), rows, seed, drift=shape["drift"], event_rate=shape["event_rate"],
                     classes=labels(columns))
    write_parquet(applications, frame[application_columns(columns)])
    write_parquet(outcomes, frame[outcome_columns(columns)])
    log.info("generated %d applications and outcomes for week %s (seed %d)", len(frame), week, seed)


def _read_optional(path: str | None) -> dict | None:
    return read_json(path) if path else None


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


# The keys of the files the week before left that decide reads (weekly.decision's triggers).
# A `pooled` section is read only when the file has one, and a drift test's features and
# score only when its pool was judged.
_DECIDE_READS = {"tracker": ("model_version", "last_retraining_date"), "evaluation": ("week", "model_version"),
                 "drift": ("week", "model_version")}
_POOLED_EVIDENCE = ("weeks", "rows", "judged", "single_class", "predicted_classes")
_DRIFT_TESTS = {"features": ("psi", "critical", "significant", "moved"), "score": ("psi", "significant")}
_JSON_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def _lacking(kind: str, record: dict, metric: str) -> list[str]:
    """The keys (dotted paths) of `record`, a `kind` file, that decide would read and that
    are not there, or are not JSON objects where decide reads keys inside them."""
    lacking = [key for key in _DECIDE_READS[kind] if key not in record]
    pooled = record.get("pooled")
    if kind == "tracker" or not pooled:
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


@logged
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
    new_raw_files: list[str] = (),
) -> dict:
    """Take the retraining decision of `week` (written to `decision`) from what is known at
    its start: the previous week's tracker, the newest evaluation (with its pooled
    evidence window) and the previous week's drift, each checked to hold what the triggers
    read (a StateError naming the file otherwise). (`new_raw_files` are not read here:
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
             "drift": _previous_state(drift, "drift", week, metric) if drift else None}
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


def window_files(files: list[str], weeks: list[str], what: str) -> list[str]:
    """The files of `weeks` (oldest first) among `files` (named <week>.parquet), in that
    order: a training window takes its weeks out of the longest window the rule lists."""
    by_week = {Path(p).stem: p for p in files}
    missing = [w for w in weeks if w not in by_week]
    if missing:
        raise StepError(f"no {what} file given for week(s) {', '.join(missing)} of the training window")
    return [by_week[w] for w in weeks]


@logged
def train(
    *,
    algo: str,
    week: str,
    decision: str,
    window_applications: list[str],
    window_outcomes: list[str],
    candidate: str,
    model: str,
    columns: dict,
    hyper: dict,
    fitting: dict,
    seed: int,
    threads: int,
) -> dict:
    """Train one candidate when the week's decision says so; record it in `candidate` either way.

    `fitting` is how: train.recency_half_life_weeks (see models.fit_and_validate), and
    train.refit, which `register` applies to the winner alone.

    The candidate is fitted on the window's training weeks and validated on its newest
    weeks (applications and outcomes come oldest first). The native model, its
    metrics and an input example (raw rows, as a caller of the registered model has them)
    go to the folder `model`, put in place in one rename; on a week that does not
    retrain, the folder is left empty.
    """
    verdict = read_json(decision)
    if not verdict["retrain"]:
        Path(model).mkdir(parents=True, exist_ok=True)
        record = {"algo": algo, "week": week, "trained": False}
        write_json(candidate, record)
        log.info("week %s: no retraining, %s not trained", week, algo)
        return record
    weeks = verdict["training_window"]
    window_applications = window_files(window_applications, weeks["weeks"], "applications")
    window_outcomes = window_files(window_outcomes, weeks["weeks"], "outcomes")
    fingerprint = provenance.fingerprint(
        algo, week, [columns, hyper, fitting, seed, threads, weeks], [*window_applications, *window_outcomes]
    )
    with fit_cache.claimed(fit_cache.folder(), fingerprint) as entry:
        record = fit_cache.restore(entry, model)
        if record is not None:
            log.info("week %s: %s fit %s copied from the fit cache %s", week, algo, fingerprint, entry)
        else:
            record = _fit(algo, week, weeks, window_applications, window_outcomes, model, columns, hyper, fitting,
                          seed, threads, fingerprint)
            fit_cache.store(entry, model, record)
    runtime.hand_back_memory()  # what the fit freed; the trainers run as threads of one long process
    write_json(candidate, record)
    return record


def _fit(algo: str, week: str, weeks: dict, window_applications: list[str], window_outcomes: list[str], model: str,
         columns: dict, hyper: dict, fitting: dict, seed: int, threads: int, fingerprint: str) -> dict:
    """Fit one candidate on the window's files; its native model, metrics, reference
    distributions and input example go to the folder `model`. Returns its record."""
    train_part, valid_part, newest = _window_parts(window_applications, window_outcomes, weeks, columns)
    log.info("week %s: %s on %d training and %d validation rows", week, algo, len(train_part), len(valid_part))
    try:
        fitted, fit_metrics = models.fit_and_validate(
            algo, train_part, valid_part, columns, hyper, seed, threads, weeks["weeks"][-1],
            fitting["recency_half_life_weeks"], fitting,
        )
    except Exception as exc:
        raise StepError(f"week {week}: {algo} failed to fit on {len(train_part)} rows: {exc}") from exc
    example = pd.read_parquet(window_applications[-1])[feature_names(columns)].head(EXAMPLE_ROWS)
    model_path = models.native_path(algo, model)
    newest_psi = _save_model(algo, fitted, newest, train_part, weeks, columns, model, fit_metrics, example)
    record = {
        "algo": algo,
        "week": week,
        "trained": True,
        "model_path": str(model_path),
        "metrics_path": str(Path(model) / "metrics.json"),
        "example_path": str(Path(model) / "input_example.parquet"),
        "valid_metrics": fit_metrics["valid"],
        "threshold": fit_metrics["valid"]["threshold"],  # binary: chosen on the validation weeks
        "train_rows": fit_metrics["train_rows"],
        "valid_rows": fit_metrics["valid_rows"],
        "hyperparameters": hyper,
        "fitting": fitting,
        "seed": seed,
        "window": weeks["weeks"],
        "valid_weeks": weeks["valid_weeks"],
        "training_code": provenance.code_digest(provenance.TRAINING_CODE),
        "libraries": provenance.library_versions(algo),
        "fingerprint": fingerprint,
        "model_sha256": provenance.file_digest(model_path),
        # how far the newest week it learned from had moved from its training rows
        "newest_week_psi": newest_psi,
    }
    log.info(
        "week %s: %s trained in %s s, validation macro F1 %.4f -> %s",
        week, algo, fit_metrics["fit_seconds"], fit_metrics["valid"]["macro_f1"], model_path,
    )
    return record


_window_lock = threading.Lock()
_windows: dict[tuple, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = {}  # the newest window read


def _stamp(path: str) -> tuple:
    """What changes when a file is replaced or rewritten."""
    st = os.stat(path)
    return path, st.st_ino, st.st_mtime_ns, st.st_size


def _window_parts(applications: list[str], outcomes: list[str], weeks: dict,
                  columns: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A training window's training part, validation part and newest week, read once per
    process: a week's trainers (threads of one Snakemake, or the loop) and its refit share
    them, read-only, instead of reading and checking the same files three times (three
    times 3 million rows at portfolio scale). The files' inodes, sizes and times are part
    of the key, so a corrected file is read again; only the newest window is kept."""
    try:
        stamps = tuple(_stamp(p) for p in [*applications, *outcomes])
    except OSError:  # a missing file: the read says which, in one line
        stamps = None
    key = (stamps, tuple(weeks["weeks"]), tuple(weeks["valid_weeks"]), json.dumps(columns, sort_keys=True))
    with _window_lock:
        if stamps is None or key not in _windows:
            _windows.clear()  # the week before's window goes before this one is read
            frame = read_training_window(applications, outcomes, weeks["weeks"], columns)
            train_part, valid_part = models.split_window(frame, columns["date"], weeks["weeks"], weeks["valid_weeks"])
            _windows[key] = (train_part, valid_part, valid_part)  # the newest weeks: the validation part
        return _windows[key]


def _save_model(algo: str, fitted: Any, newest: pd.DataFrame, train_part: pd.DataFrame, weeks: dict, columns: dict,
                folder: str, fit_metrics: dict, example: pd.DataFrame) -> dict:
    """Put a fitted model in `folder` (in one rename): its native file, metrics, input example
    and reference distributions (its training rows' bins, what drift.json compares with).
    Returns how far the `newest` week it learned from had moved from its training rows."""
    rows = stability.reference_rows(train_part)
    ref = stability.reference(rows, columns, models.predict_proba(algo, fitted, rows, columns)[:, 0])
    newest_score = models.predict_proba(algo, fitted, newest, columns)[:, 0]
    newest_psi = stability.stability(ref, newest, newest_score)
    # the newest weeks it learned from (the validation weeks) in its reference's bins: what
    # had already moved when it was trained (the drift trigger does not count it again)
    ref["newest"] = {"weeks": weeks["valid_weeks"], **stability.counts(ref, newest, newest_score)}
    with atomic_dir(folder) as tmp:
        models.save(algo, fitted, tmp)
        write_json(tmp / "metrics.json", fit_metrics)
        write_json(tmp / REFERENCE, ref)
        write_parquet(tmp / "input_example.parquet", example)
    return {"week": weeks["weeks"][-1], "features": newest_psi["features"], "score": newest_psi["score"]}


def _winner_model(week: str, winner: dict, window: dict, applications: list[str], outcomes: list[str], columns: dict,
                  folder: str, threads: int) -> dict:
    """The model that serves from `week` on, in `folder`: the winner refitted on the whole
    window (train.refit), or its own fit. Returns the winner's record pointing at it."""
    fitting = winner["fitting"]
    if not fitting["refit"]:
        with atomic_dir(folder) as tmp:
            copy_files(Path(winner["model_path"]).parent, tmp)
        return {**winner, "model_path": str(models.native_path(winner["algo"], folder))}
    algo = winner["algo"]
    settings = [columns, winner["hyperparameters"], fitting, winner["seed"], threads, window, "refit"]
    fingerprint = provenance.fingerprint(algo, week, settings, [*applications, *outcomes])
    with fit_cache.claimed(fit_cache.folder(), fingerprint) as entry:
        record = fit_cache.restore(entry, folder)
        if record is None:
            train_part, valid_part, newest = _window_parts(applications, outcomes, window, columns)
            fitted, fit_metrics = models.refit(algo, train_part, valid_part, columns, winner["hyperparameters"],
                                               winner["seed"], threads, window["weeks"][-1],
                                               fitting["recency_half_life_weeks"])
            newest_psi = _save_model(algo, fitted, newest, train_part, window, columns, folder, fit_metrics,
                                     pd.read_parquet(winner["example_path"]))
            model_path = models.native_path(algo, folder)
            record = {"model_path": str(model_path), "metrics_path": str(Path(folder) / "metrics.json"),
                      "example_path": str(Path(folder) / "input_example.parquet"), "fingerprint": fingerprint,
                      "model_sha256": provenance.file_digest(model_path), "newest_week_psi": newest_psi,
                      "refit_rows": fit_metrics["refit_rows"]}
            fit_cache.store(entry, folder, record)
            log.info("week %s: %s refitted on the whole window (%d rows) in %s s -> %s",
                     week, algo, fit_metrics["refit_rows"], fit_metrics["fit_seconds"], model_path)
        else:
            log.info("week %s: %s refit %s copied from the fit cache %s", week, algo, fingerprint, entry)
    return {**winner, **record}


@logged
def register(
    *,
    week: str,
    decision: str,
    candidates: list[str],
    tracker: str,
    winner_model: str,
    registry: dict,
    columns: dict,
    challenger: dict,
    minimums: dict,
    selection_metric: str,
    seed: int,
    threads: int = 1,
    window_applications: list[str] = (),
    window_outcomes: list[str] = (),
    previous_tracker: str | None = None,
) -> dict:
    """Select, register and promote the week's winner, or carry the previous tracker over;
    the week's serving state goes to `tracker`.

    `candidates` come in the order of params.yaml train.models, which breaks ties. When no
    candidate may be promoted (each predicts a single class), the serving model stays. The
    winner is the best by `selection_metric` (train.selection.metric). The challenger gate
    (`challenger`: train.challenger, see _challenger_gate; `minimums`: params.yaml
    evaluate) lets it replace the serving model only when it beats it beyond sampling
    error; otherwise it is logged, not registered.
    A promoted winner is refitted on the whole window (train.refit) into the folder
    `winner_model`, which is what registers and serves; the folder stays empty otherwise.
    """
    verdict, serving = read_json(decision), _read_optional(previous_tracker)
    records = [read_json(p) for p in candidates]
    trained = [c for c in records if c["trained"]]
    chosen = selection.select(trained, [c["algo"] for c in records], selection_metric) if trained else None
    if verdict["retrain"]:  # the window's files, out of the longest window the rule lists
        window_applications = window_files(window_applications, verdict["training_window"]["weeks"], "applications")
        window_outcomes = window_files(window_outcomes, verdict["training_window"]["weeks"], "outcomes")
    if chosen is None or chosen["winner"] is None:
        why = (
            f"no candidate may serve: {chosen['excluded']}" if chosen
            else f"training blocked: {verdict['blocked']}" if verdict.get("blocked") else None
        )
        if serving is None:
            raise StepError(f"week {week}: nothing can serve the first week of the chain: {why or 'no model'}")
        Path(winner_model).mkdir(parents=True, exist_ok=True)
        state = tracker_logic.carry_over(serving, week, why, verdict["reasons"])
        write_json(tracker, state)
        log.info("week %s: version %s keeps serving%s", week, state["model_version"], f" ({why})" if why else "")
        return state
    from weekly import registry as mlflow_registry

    winner = next(c for c in trained if c["algo"] == chosen["winner"])
    example = pd.read_parquet(winner["example_path"])
    gate = None
    if serving is not None and challenger["enabled"]:
        gate = _challenger_gate(serving, winner, verdict["training_window"], window_applications, window_outcomes,
                                columns, challenger, minimums, verdict["reasons"], seed)
        chosen = {**chosen, "gate": gate}
    if gate is None or gate["passed"]:
        winner = _winner_model(week, winner, verdict["training_window"], window_applications, window_outcomes, columns,
                               winner_model, threads)
        runtime.hand_back_memory()  # what the refit freed, as after a candidate's fit
        trained = [winner if c["algo"] == winner["algo"] else c for c in trained]
    else:
        Path(winner_model).mkdir(parents=True, exist_ok=True)
    registration = sidecar.call(mlflow_registry.register_week, week=week, candidates=trained, winner=chosen["winner"],
                                registry=registry, example=example, columns=columns, gate=gate, serving=serving)
    if not registration["promoted"]:
        why = f"challenger kept out: {gate['why']}"
        state = {**tracker_logic.carry_over(serving, week, why, verdict["reasons"]), "last_retraining_date": week,
                 "selection": chosen}
        write_json(tracker, state)
        log.info("week %s: %s", week, why)
        return state
    state = tracker_logic.after_retraining(week, winner, chosen, registration)
    write_json(tracker, state)
    log.info(
        "week %s: scores %s, winner %s, %s %s",
        week, chosen["scores"], chosen["winner"],
        "reused" if registration["reused"] else "registered", registration["model_uri"],
    )
    return state


def _span(weeks: list[str]) -> str:
    """Weeks as a person reads them: none, one week, or first..last (n weeks)."""
    if not weeks:
        return "none"
    return weeks[0] if len(weeks) == 1 else f"{weeks[0]}..{weeks[-1]}, {len(weeks)} weeks"


def _challenger_gate(serving: dict, winner: dict, window: dict, applications: list[str], outcomes: list[str],
                     columns: dict, challenger: dict, minimums: dict, reasons: list[str], seed: int) -> dict:
    """Does the winner beat the serving model beyond sampling error, on outcomes neither
    was trained on?

    The rows compared are the winner's validation rows (held out of its fit) of the weeks
    after the serving model's training window. When they hold enough to judge
    (evaluate.min_rows, min_class_rows), both models' predictions on the same rows go
    through a paired bootstrap of macro F1: the winner passes when the one-sided p-value
    of beating the serving model by `margin` is under `alpha` (train.challenger). When
    they do not, there is no fair comparison yet: the serving model stays, unless the
    retraining was itself for evidence (initial, a significant performance or drift
    finding). Either way the verdict says which, with both intervals.
    """
    from weekly import stats

    trained_until = serving.get("trained_until", "")
    fair = [w for w in window["valid_weeks"] if w > trained_until]
    gate = {
        "serving_version": str(serving["model_version"]),
        "challenger": winner["algo"],
        "margin": challenger["margin"],
        "alpha": challenger["alpha"],
        "weeks": fair,
        "serving_trained_until": trained_until or None,
        "challenger_score": winner["valid_metrics"]["macro_f1"],
        "serving_score": None,
        "compared": False,
    }
    classes = labels(columns)
    valid = _window_parts(applications, outcomes, window, columns)[1]  # the winner's validation rows
    rows = valid[valid[columns["date"]] >= pd.Timestamp(parse_week(fair[0]))] if fair else valid.iloc[:0]
    counted = rows[columns["target"]].astype(str).value_counts()
    short = evidence_logic.enough(len(rows), {c: int(counted.get(c, 0)) for c in classes}, minimums)
    if short is not None:
        for_evidence = [r for r in reasons if r in ("initial", "performance", "drift")]
        why = f"no fair comparison: the validation weeks after the serving model's window ({_span(fair)}) hold {short}"
        verdict = (f"; admitted, the retraining was for evidence ({', '.join(for_evidence)})" if for_evidence
                   else "; the serving model stays (no evidence against it)")
        return {**gate, "rows": len(rows), "passed": bool(for_evidence), "why": why + verdict}
    y = models.encode_target(rows[columns["target"]], classes)
    served = _serving_model(serving, f"week {serving['week']}")
    pred_serving = models.predict_proba(serving["model_type"], served, rows, columns)
    pred_serving = models.encode_target(pd.Series(models.predicted_labels(pred_serving, classes, serving.get("threshold"))), classes)
    challenger_model = models.load(winner["algo"], winner["model_path"], winner["model_sha256"])
    proba = models.predict_proba(winner["algo"], challenger_model, rows, columns)
    if winner.get("threshold") is None:
        pred_winner = models.encode_target(pd.Series(models.predicted_labels(proba, classes)), classes)
    else:  # its threshold was chosen on these rows: judged at one chosen on the other half of them
        pred_winner = models.cross_fitted_events(y == 1, proba[:, 1], winner["fitting"]["threshold"],
                                                 [seed, len(y)]).astype(np.int64)
    test = stats.paired_bootstrap_macro_f1(y, pred_winner, pred_serving, len(classes), minimums["resamples"],
                                           [seed, parse_week(fair[-1]).toordinal()], minimums["confidence"],
                                           margin=challenger["margin"])
    passed = test["p_value"] < challenger["alpha"]
    # a serving model that predicts one class over rows holding several has stopped ranking: a challenger
    # that predicts several, and does no worse, replaces it (a single-class model is never kept over one)
    stuck = len(set(pred_serving)) == 1 < len(set(y)) and len(set(pred_winner)) > 1
    rescued = stuck and not passed and test["diff"]["value"] >= 0
    passed = passed or rescued
    return {
        **gate, "compared": True, "rows": len(rows), "serving_single_class": bool(stuck),
        "challenger_score": test["a"]["value"], "serving_score": test["b"]["value"],
        "challenger_interval": [test["a"]["low"], test["a"]["high"]],
        "serving_interval": [test["b"]["low"], test["b"]["high"]],
        "difference": test["diff"]["value"], "difference_interval": [test["diff"]["low"], test["diff"]["high"]],
        "p_value": test["p_value"], "passed": bool(passed),
        "why": (f"{winner['algo']} {test['a']['value']:.4f} vs serving version {serving['model_version']} "
                f"{test['b']['value']:.4f} on {len(rows)} rows of {_span(fair)}: difference "
                f"{test['diff']['value']:+.4f} [{test['diff']['low']:+.4f}, {test['diff']['high']:+.4f}], "
                f"p = {test['p_value']:.3f} {'<' if test['p_value'] < challenger['alpha'] else '>='} alpha "
                f"{challenger['alpha']} (margin {challenger['margin']})"
                + ("; the serving model predicts one class only over them, the challenger several and does no worse"
                   if rescued else "")),
    }


@functools.lru_cache(maxsize=4)
def _cached_model(algo: str, path: str, sha256: str, mtime_ns: int) -> Any:
    # Weeks that do not retrain reuse the model loaded (and checked against the digest) for the week before.
    return models.load(algo, path, sha256)


def _serving_model(state: dict, whose: str) -> Any:
    """The native model a tracker names, checked against the tracker's digest before it is
    loaded; a missing file, a tracker without `model_sha256`, or a file whose bytes are not
    those the tracker registered, is a clear error (`whose`: which week's)."""
    path = state["model_path"]
    if not os.path.exists(path):
        raise StepError(f"{path}, the model serving {whose}, is missing: `snakemake all_weeks` rebuilds it")
    expected = state.get("model_sha256")
    if not expected:
        raise StateError(
            f"the tracker of {whose} records no model_sha256 for {path}, so the model cannot be checked before it "
            f"is loaded: the tracker predates the check or was edited; delete the week's folders under weeks/ and "
            f"models/ and run `snakemake all_weeks` to make them again"
        )
    try:
        return _cached_model(state["model_type"], path, expected, os.stat(path).st_mtime_ns)
    except models.DigestMismatch as exc:
        raise StateError(
            f"{path}, the model serving {whose}, is not the file registered as version {state['model_version']} "
            f"(sha256 {exc.digest[:12]}... instead of {exc.expected[:12]}...): the file was replaced or the tracker "
            f"edited; delete the week's folder under models/ and run `snakemake all_weeks` to make it again"
        ) from None


def _drift_pool(this: dict, previous: dict | None, version: str, policy: dict, max_weeks: int) -> list[dict]:
    """The weeks whose applications pool into this week's drift test, newest first: this
    week, then the previous week's pool (same serving model, so the same reference bins,
    and the same epoch: see weekly.evidence), until retrain.drift.min_rows rows, at most
    evaluate.max_weeks weeks."""
    chosen = [this]
    same = previous and str(previous["model_version"]) == version and previous.get("epoch") == this["epoch"]
    older = previous["pool"] if same else []
    for part in older:
        if sum(p["rows"] for p in chosen) >= policy["min_rows"] or len(chosen) >= max_weeks:
            break
        chosen.append(part)
    return chosen


@logged
def predict(*, week: str, tracker: str, applications: str, preds: str, drift: str, columns: dict, drift_policy: dict,
            max_weeks: int, seed: int, previous_drift: str | None = None, registry: dict | None = None,
            ranges: dict | None = None) -> pd.DataFrame:
    """Score the week's applications with the model that serves the week; write them to
    `preds`, and their population stability against the model's training rows to `drift`:
    the week's own PSI of every feature and of the score (the probability of the first
    class), and the drift test of the newest applications pooled back to
    retrain.drift.min_rows (`drift_policy`; this week and the pool of `previous_drift`,
    see weekly.drift.pooled_drift), with the missing-share findings.

    No outcome is read: a week is scored as soon as its applications are there. A week
    with no application gives an empty `preds`. With `registry`, the registry's serving
    version is checked against the tracker first (registry.verify_serving): a moved alias
    stops the week before it scores. Values outside the plausible `ranges` of
    params.yaml (data.ranges) are recorded as `out_of_range` findings (a data alert).
    """
    state = read_json(tracker)
    if registry is not None:
        from weekly import registry as mlflow_registry

        sidecar.call(mlflow_registry.verify_serving, registry=registry, state=state)
    frame = read_applications(applications, week, columns)
    model = _serving_model(state, f"week {week} ({tracker})")
    scored = models.score(state["model_type"], model, frame, columns, state["model_version"], state.get("threshold"))
    ref = read_json(Path(state["model_path"]).parent / REFERENCE)
    score = scored[f"proba_{labels(columns)[0]}"].to_numpy()
    binned = stability.counts(ref, frame, score)
    shift = stability.stability_of_counts(ref, binned)
    version = str(state["model_version"])
    epoch = tracker_logic.epoch(state)
    pool = _drift_pool({"week": week, "epoch": epoch, **binned}, _read_optional(previous_drift), version, drift_policy,
                       max_weeks)
    pooled = stability.add_counts(pool)
    rows = pooled["rows"]
    why_not = None if rows >= drift_policy["min_rows"] else (
        f"{rows} applications over {len(pool)} week(s), fewer than retrain.drift.min_rows {drift_policy['min_rows']}")
    tests, seen = {}, None
    if why_not is None:
        tests = stability.pooled_drift(ref, pooled, drift_policy, [seed, parse_week(week).toordinal()])
        if "newest" in ref and (any(t["moved"] for t in tests["features"].values()) or tests["score"]["moved"]):
            # what had already moved by the newest weeks the model learned from
            seen = stability.pooled_drift(ref, ref["newest"], drift_policy, [seed, 0])
    write_parquet(preds, scored)
    write_json(drift, {
        "week": week, "model_version": version, "epoch": epoch, **shift,
        "pooled": {"weeks": [p["week"] for p in pool], "rows": rows, "judged": why_not is None, "why_not": why_not,
                   **tests},
        "seen": seen,
        "out_of_range": range_findings(frame, ranges or {}),
        "pool": pool,
    })
    log.info("week %s: scored %d rows with %s version %s", week, len(scored), state["model_type"], state["model_version"])
    return scored


@logged
def score_batch(*, table: str, tracker: str, out: str, columns: dict, sep: str | None = None) -> pd.DataFrame:
    """Score any table of applications with the model of a week's tracker; write `out` (.csv or .parquet).

    The table needs the id, date and feature columns; other columns (a label) are ignored.
    """
    from weekly.data import DataError
    from weekly.importing import features, read_table

    state = read_json(tracker)
    path = Path(table)
    raw = read_table(path, columns, sep).reset_index(drop=True)
    missing = [c for c in application_columns(columns) if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")
    try:
        dates = pd.to_datetime(raw[columns["date"]])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column '{columns['date']}' does not read as dates: {exc}") from None
    frame = pd.DataFrame({columns["id"]: raw[columns["id"]], columns["date"]: dates}).join(
        features(raw, columns, str(path)))
    model = _serving_model(state, f"week {state['week']} ({tracker})")
    scored = models.score(state["model_type"], model, frame, columns, state["model_version"], state.get("threshold"))
    (write_csv if str(out).endswith(".csv") else write_parquet)(out, scored)
    scored.attrs["model"] = f"{state['model_type']} version {state['model_version']} (week {state['week']})"
    log.info("%s: scored %d applications with %s -> %s", path, len(scored), scored.attrs["model"], out)
    return scored


def _evidence_rows(joined: pd.DataFrame, week: str, target: str, classes: list[str]) -> pd.DataFrame:
    """A week's labelled rows as an evidence window holds them."""
    return pd.DataFrame({
        "week": week,
        "outcome": joined[target].astype(str).to_numpy(),
        "prediction": joined["prediction"].astype(str).to_numpy(),
        **{f"proba_{c}": joined[f"proba_{c}"].to_numpy(dtype=float) for c in classes},
        "model_version": joined["model_version"].astype(str).to_numpy(),
    })


def _pooled(rows: pd.DataFrame, week: str, epoch: str, classes: list[str], pooling: dict,
            seed: int) -> tuple[dict, pd.DataFrame]:
    """The evidence window ending with `week` out of `rows` (this week's and the previous
    window's), and its pooled figures (weekly.evidence)."""
    newest_first = []
    for w, part in sorted(rows.groupby("week", sort=False), key=lambda item: item[0], reverse=True):
        counted = part["outcome"].value_counts()
        newest_first.append({"week": w, "rows": len(part), "class_rows": {c: int(counted.get(c, 0)) for c in classes},
                             "epoch": part["epoch"].iloc[0]})
    if not newest_first or newest_first[0]["week"] != week:  # a week without outcomes still ends its window
        newest_first.insert(0, {"week": week, "rows": 0, "class_rows": {}, "epoch": epoch})
    weeks = evidence_logic.pool_weeks(newest_first, classes, pooling)
    window = rows[rows["week"].isin(weeks)].reset_index(drop=True)
    index = {c: i for i, c in enumerate(classes)}
    figures = evidence_logic.pooled_figures(
        window["outcome"].map(index).to_numpy(dtype=np.int64), window["prediction"].map(index).to_numpy(dtype=np.int64),
        window[[f"proba_{c}" for c in classes]].to_numpy(dtype=float), classes, weeks, pooling,
        [seed, parse_week(week).toordinal()],
    )
    versions = sorted(set(window["model_version"]))
    return {**figures, "model_versions": versions}, window


@logged
def evaluate(
    *,
    week: str,
    decision: str,
    tracker: str,
    preds: str,
    drift: str,
    outcomes: str,
    evaluation: str,
    evidence: str,
    columns: dict,
    pooling: dict,
    seed: int,
    previous_evidence: str | None = None,
) -> dict:
    """Evaluate the serving model on the week's outcomes, from its predictions; write
    `evaluation`, with the figures of the week alone and those of its evidence window
    (`pooled`: this week and the newest weeks before it, params.yaml evaluate as
    `pooling`), whose rows go to `evidence` for the next week's window.

    Runs once the week's outcomes are known. An outcome may be missing for some
    applications (they are left out), never present for an application that was not
    scored. A week with fewer than evaluate.min_rows outcomes is marked too_small alone;
    its pooled figures judge it. Also says on the console how the week went (see
    report.week_line).
    """
    scored = pd.read_parquet(preds)
    known = read_outcomes(outcomes, week, columns)
    ids, target = columns["id"], columns["target"]
    unscored = ~known[ids].isin(scored[ids])
    if unscored.any():
        raise StepError(
            f"week {week}: {outcomes} holds {int(unscored.sum())} outcome(s) of applications that {preds} "
            f"did not score, e.g. {ids} {known.loc[unscored, ids].iloc[0]!r}"
        )
    classes = labels(columns)
    proba_columns = [f"proba_{c}" for c in classes]
    joined = known.merge(scored[[ids, "prediction", "model_version", *proba_columns]], on=ids, how="inner")
    state = read_json(tracker)
    this = _evidence_rows(joined, week, target, classes)
    this["model_version"] = str(state["model_version"])
    this["epoch"] = tracker_logic.epoch(state)  # see weekly.evidence
    counted = this["outcome"].value_counts()
    alone = evidence_logic.enough(len(this), {c: int(counted.get(c, 0)) for c in classes}, pooling) is None
    # a week holding enough is its own window: the weeks before it are not read
    before = pd.read_parquet(previous_evidence) if previous_evidence and not alone else this.iloc[:0]
    pooled, window = _pooled(pd.concat([this, before], ignore_index=True), week, tracker_logic.epoch(state), classes,
                             pooling, seed)
    result = {
        "week": week,
        "model_version": str(state["model_version"]),
        "model_type": state["model_type"],
        "applications": len(scored),
        "too_small": len(joined) < pooling["min_rows"],
        "min_rows": pooling["min_rows"],
        **classification_report(joined[target].tolist(), joined["prediction"].tolist(), classes),
        "risk": risk_report(joined[target].tolist(), joined[proba_columns].to_numpy(), classes),
        "predicted_mix": class_mix(scored["prediction"].tolist(), classes),
        "outcome_mix": class_mix(joined[target].tolist(), classes),
        "psi": {key: value for key, value in read_json(drift).items() if key in ("features", "score")},
        "pooled": pooled,
    }
    write_parquet(evidence, window)
    write_json(evaluation, result)
    log.info("week %s: macro F1 %s on %d labelled rows; pooled over %d week(s) %s", week, result["macro_f1"],
             result["rows"], len(pooled["weeks"]), pooled["macro_f1"]["value"])
    progress.info(report_logic.week_line(read_json(decision), state, result))
    return result


@logged
def report(
    *, trackers: list[str], drifts: list[str], evaluations: list[str], weekly: str, summary: str, registry: dict,
    models: list[str] = (), made_with: dict | None = None,
) -> dict:
    """The `weekly` CSV (one row per week) and the backfill's `summary`, from the weeks'
    trackers and drifts (in week order) and the evaluations made so far (weeks whose
    outcomes are not known yet have none); the same weekly figures and the serving
    history go to MLflow as the chain's monitoring run. `models`: the configured candidates
    (train.models), each listed in the summary's wins. `made_with` (start, seed, data of
    params.yaml) is recorded in the summary as `params`: `weekly status` says when the files
    on disk come from other data."""
    from weekly import registry as mlflow_registry

    evaluated = {e["week"]: e for e in map(read_json, evaluations)}
    scored = {d["week"]: d["rows"] for d in map(read_json, drifts)}
    states = [read_json(p) for p in trackers]
    rows = report_logic.weekly_rows(states, evaluated, scored)
    figures = report_logic.summarise(rows, models)
    write_csv(weekly, rows)
    write_json(summary, {**figures, **({"params": made_with} if made_with is not None else {})})
    run_id = sidecar.call(mlflow_registry.log_monitoring, registry=registry, rows=rows, evaluations=evaluated,
                          trackers=states)
    message = report_logic.summary_line(figures)
    log.info("%s; monitoring run %s", message, run_id)
    progress.info(message)
    return figures


@logged
def publish_tracker(*, tracker: str, latest: str) -> None:
    """Publish the last week's tracker as the latest serving state, `latest`."""
    state = read_json(tracker)
    write_json(latest, state)
    log.info("latest tracker: week %s, version %s", state["week"], state["model_version"])


@logged
def import_table(
    *,
    table: str,
    raw_dir: str,
    columns: dict,
    start: str,
    generate: bool,
    date_format: str | None = None,
    sep: str | None = None,
    drop: tuple = (),
) -> dict:
    """Split one CSV or Parquet table into weekly files under `raw_dir`: applications/<week>.parquet
    for every week from the table's first to its last (empty weeks included), and
    outcomes/<week>.parquet for the labelled rows when the table has the target column.

    Weeks are 7-day bins aligned on `start`. The whole table is checked first: an error
    leaves `raw_dir` as it was.
    """
    from weekly.data import DataError
    from weekly.importing import merge_outcomes, read_table, split_table

    path = Path(table)
    if generate:
        raise DataError(
            f"{path}: params.yaml data.generate is true: set it to false before importing your own data, "
            "or synthetic weeks would be generated beside yours"
        )
    frame = read_table(path, columns, sep)
    if columns["date"] not in frame.columns:
        hint = " (is the separator right? --sep ';')" if len(frame.columns) == 1 else ""
        raise DataError(f"{path}: missing date column '{columns['date']}'{hint}; columns: {list(frame.columns)}")
    applications, outcomes, empty = split_table(frame, columns, start, str(path), date_format, tuple(drop))
    # Outcomes arrive in batches: a week's new ones join those already there (checked first,
    # so that an error leaves every file as it was).
    outcome_file = paths.outcomes(raw_dir)
    for week, part in outcomes.items():
        if Path(outcome_file.format(week=week)).exists():
            before = read_outcomes(outcome_file.format(week=week), week, columns)
            outcomes[week] = merge_outcomes(before, part, columns, str(path), week)
    written = {}
    for kind, weeks, pattern in (("applications", applications, paths.applications(raw_dir)),
                                 ("outcomes", outcomes, outcome_file)):
        for week, part in weeks.items():
            write_parquet(pattern.format(week=week), part)
        written[kind] = sorted(weeks)
    log.info(
        "%s: %d rows into %d weeks of applications and %d of outcomes under %s; empty weeks: %s",
        path, len(frame), len(applications), len(outcomes), raw_dir, ", ".join(empty) or "none",
    )
    return {**written, "empty_weeks": empty}


@logged
def lifecycle_report(
    *,
    decisions: list[str],
    trackers: list[str],
    drifts: list[str],
    evaluations: list[str],
    summary: str,
    lifecycle: str,
    columns: dict,
    awaiting: list[str] = (),
    policies_table: str | None = None,
    policies_plot: str | None = None,
) -> str:
    """Draw the lifecycle page, `lifecycle` (self-contained HTML), from every week's
    decision, tracker and drift (in week order), the evaluations made so far and the
    `summary`; the predictions of the weeks awaiting outcomes (`awaiting`, in week order)
    give their class mix. The policy comparison's table and plot join it when given."""
    from weekly import lifecycle as lifecycle_page
    from weekly.io import write_text

    classes = labels(columns)
    states = [read_json(p) for p in trackers]
    evaluated = {e["week"]: e for e in map(read_json, evaluations)}
    waiting = [s["week"] for s in states if s["week"] not in evaluated]
    if len(waiting) != len(awaiting):
        raise StepError(f"{len(awaiting)} prediction files given for the {len(waiting)} weeks awaiting outcomes")
    mixes = {week: class_mix(pd.read_parquet(path, columns=["prediction"])["prediction"].astype(str).tolist(), classes)
             for week, path in zip(waiting, awaiting)}
    html = lifecycle_page.page(
        trackers=states,
        decisions=[read_json(p) for p in decisions],
        evaluations=evaluated,
        drifts=[read_json(p) for p in drifts],
        summary=read_json(summary),
        classes=classes,
        predicted_mix=mixes,
        policies=pd.read_csv(policies_table) if policies_table else None,
        policies_svg=Path(policies_plot).read_text() if policies_plot else None,
    )
    write_text(lifecycle, html)
    log.info("lifecycle page of %d weeks (%d evaluated) -> %s (%d kB)", len(trackers), len(evaluations), lifecycle,
             len(html) // 1024)
    return html
