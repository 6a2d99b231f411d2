"""The retraining decision taken at the start of a week, from the state the previous week left.

Each trigger is a pure function returning its inputs, threshold and verdict, so that
`decision.json` says why a week retrained; a new trigger is one more entry in TRIGGERS.
"""
from __future__ import annotations

from typing import Callable

from weekly.lifecycle import evidence
from weekly.lifecycle.weeks import days_between, labelled_window

Trigger = Callable[[str, dict, dict], dict]


def time_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when `max_days` or more days have passed since the last retraining."""
    tracker = known["tracker"]
    last = tracker["last_retraining_date"] if tracker else None
    days = days_between(last, week) if last else None
    return {
        "enabled": policy["enabled"],
        "inputs": {"last_retraining_date": last, "days_since_last_retraining": days},
        "threshold": {"max_days": policy["max_days"]},
        "fired": bool(policy["enabled"] and days is not None and days >= policy["max_days"]),
    }


def _validation_figure(tracker: dict, metric: str) -> dict | None:
    """The serving model's own validation score of `metric`, with its standard error."""
    value = tracker.get("macro_f1_score") if metric == "macro_f1" else tracker.get("auc_score")
    errors = tracker.get("validation_se") or {}
    return {"value": value, "se": errors.get(metric)} if value is not None else None


def pending_estimate(policy: dict, known: dict, version) -> dict | None:
    """With retrain.performance.use_estimate: the newest scored week's estimate
    (estimate.json, `known["estimate"]`), pooled, as a pooled evaluation reads, when that
    week's outcomes are still pending (it is newer than the newest evaluation) and the
    serving model scored it; else None (the evaluation is read)."""
    estimate = known.get("estimate")
    newest = known["evaluations"][-1] if known["evaluations"] else None
    if not (policy.get("use_estimate") and estimate and str(estimate.get("model_version")) == str(version)):
        return None
    if newest is not None and newest["week"] >= estimate["week"]:
        return None
    pooled = estimate["pooled"]
    expected = pooled.get("expected_class_rows") or {}
    several = sum(1 for n in expected.values() if n >= 1) > 1
    return {**pooled, "single_class": bool(several and len(pooled.get("predicted_classes") or []) == 1),
            "predicted_classes": pooled.get("predicted_classes")}


def performance_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when the evidence says the serving model does badly: over the newest pooled
    evaluation window of the model serving now (weekly.lifecycle.evidence), `metric` lies below
    `floor` beyond its sampling error, or more than `max_drop` below the model's own
    validation score beyond the sampling error of both (one-sided, at `alpha`); or the
    model predicts a single class over a pooled window holding several. A window too
    small to judge never fires: it says so. With `use_estimate`, a window whose outcomes
    are pending is judged on its estimate instead (pending_estimate; `source` says which).
    """
    tracker = known["tracker"]
    version = tracker["model_version"] if tracker else None
    newest = known["evaluations"][-1] if known["evaluations"] else None
    pooled = newest.get("pooled") if newest and str(newest["model_version"]) == str(version) else None
    estimated = pending_estimate(policy, known, version)
    if estimated is not None:
        pooled, newest = estimated, {"week": known["estimate"]["week"]}
    figure = pooled[policy["metric"]] if pooled else {}
    judged = bool(pooled and pooled["judged"] and figure.get("value") is not None)
    validation = _validation_figure(tracker, policy["metric"]) if tracker else None
    floor = policy["floor"]
    below = judged and floor is not None and evidence.below(figure, floor, policy["alpha"])
    drop = evidence.significant_drop(figure, validation, policy["max_drop"], policy["alpha"]) if judged else \
        {"drop": None, "z": None, "significant": False}
    single = bool(pooled and pooled["single_class"] and pooled["rows"] >= policy["min_single_class_rows"])
    return {
        "enabled": policy["enabled"],
        "inputs": {"metric": policy["metric"], "evaluation": newest["week"] if newest else None,
                   "source": "estimate" if estimated is not None else "evaluation",
                   "weeks": pooled["weeks"] if pooled else [], "rows": pooled["rows"] if pooled else 0,
                   "judged": judged, "why_not": (pooled or {}).get("why_not") if pooled else
                   ("no evaluation of the serving model yet" if tracker else None),
                   "value": figure.get("value"), "low": figure.get("low"), "high": figure.get("high"),
                   "se": figure.get("se"), "validation": validation, "drop": drop["drop"], "drop_z": drop["z"],
                   "below_floor": below, "significant_drop": drop["significant"], "single_class": single,
                   "predicted_classes": pooled["predicted_classes"] if pooled else None},
        "threshold": {"floor": floor, "max_drop": policy["max_drop"], "alpha": policy["alpha"]},
        "fired": bool(policy["enabled"] and (below or drop["significant"] or single)),
    }


def drift_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when `min_features` or more features (or the score) of the newest applications,
    pooled back to retrain.drift.min_rows (drift.json's `pooled`), moved from the serving
    model's training rows: PSI above its critical value under no change at `alpha`
    (shared out over the features and the score) and above the magnitude floor
    `threshold` (`score_threshold`).

    A feature that had already moved by the newest weeks the model learned from (its
    validation weeks, drift.json's `seen`) does not count: the model has seen that change,
    and retraining again will not undo it (the performance trigger watches what it does
    with it).
    """
    drift, tracker = known["drift"], known["tracker"]
    current = drift if drift and tracker and str(drift.get("model_version")) == str(tracker["model_version"]) else None
    pooled = (current or {}).get("pooled") or {}
    judged = bool(pooled.get("judged"))
    seen = (current or {}).get("seen") or {}
    moved, score = [], None
    def material(test: dict | None, floor: float) -> bool:
        return bool(test and test["significant"] and test["psi"] >= floor)

    if judged:
        moved = sorted(f for f, t in pooled["features"].items()
                       if material(t, policy["threshold"])
                       and not material(seen.get("features", {}).get(f), policy["threshold"]))
        if material(pooled["score"], policy["score_threshold"]) and not material(seen.get("score"), policy["score_threshold"]):
            score = pooled["score"]["psi"]
    return {
        "enabled": policy["enabled"],
        "inputs": {"week": current["week"] if current else None, "weeks": pooled.get("weeks", []),
                   "rows": pooled.get("rows", 0), "judged": judged, "why_not": pooled.get("why_not"),
                   "features_over": moved,
                   "features": {f: {k: t[k] for k in ("psi", "critical", "significant", "moved")}
                                for f, t in pooled.get("features", {}).items()},
                   "already_seen": sorted(f for f, t in seen.get("features", {}).items() if material(t, policy["threshold"])),
                   "max_feature_psi": max((t["psi"] for t in pooled.get("features", {}).values() if t["psi"] is not None),
                                          default=None),
                   "score_psi": pooled.get("score", {}).get("psi"),
                   "score_critical": pooled.get("score", {}).get("critical")},
        "threshold": {"threshold": policy["threshold"], "min_features": policy["min_features"],
                      "score_threshold": policy["score_threshold"], "alpha": policy["alpha"],
                      "min_rows": policy["min_rows"]},
        "fired": bool(policy["enabled"] and (len(moved) >= policy["min_features"] or score is not None)),
    }


TRIGGERS: dict[str, Trigger] = {"time": time_trigger, "performance": performance_trigger, "drift": drift_trigger}


def training_window(week: str, window_weeks: int, valid_weeks: int, label_delay_weeks: int = 0) -> dict:
    """The weeks a model trained for `week` learns from when every week is large enough:
    the newest `window_weeks` weeks whose outcomes are known at the start of `week`, the
    last `valid_weeks` held out (see fitted_window for small weeks)."""
    weeks = labelled_window(week, window_weeks, label_delay_weeks)
    return {
        "weeks": weeks,
        "train_weeks": weeks[:-valid_weeks],
        "valid_weeks": weeks[-valid_weeks:],
    }


def fitted_window(available: list[dict], window_weeks: int, valid_weeks: int, classes: list[str], train_minimums: dict,
                  evidence_minimums: dict) -> dict:
    """The training window of a retraining, from the labelled weeks `available` at its
    start (newest first, each {"week", "rows", "class_rows"}; as far back as
    train.max_window_weeks and the raw files go).

    Validation: the newest `valid_weeks` weeks, extended back until they hold enough to
    judge (evaluate.min_rows and min_class_rows), at most half the weeks available, and
    never so far that the training part behind them could no longer be trained on.
    Training: the `window_weeks` - (validation weeks) weeks before them (at least one),
    extended back until they hold train.min_rows rows and min_class_rows of every class.
    Small portfolios thus train and validate on longer windows instead of stopping.
    """
    def totals(part):
        return sum(w["rows"] for w in part), {c: sum(w["class_rows"].get(c, 0) for w in part) for c in classes}

    def trainable(part) -> bool:
        rows, per_class = totals(part)
        return rows >= train_minimums["min_rows"] and min(per_class.values()) >= train_minimums["min_class_rows"]

    def train_span(n_valid: int) -> int:
        n_train = max(1, window_weeks - n_valid)
        while n_valid + n_train < len(available) and not trainable(available[n_valid:n_valid + n_train]):
            n_train += 1
        return n_train

    n_valid = min(valid_weeks, max(1, len(available) // 2))
    n_train = train_span(n_valid)
    # validation reaches back for evidence only as far as the training part, pushed back with it, can still be trained on
    while n_valid < len(available) // 2 and evidence.enough(*totals(available[:n_valid]), evidence_minimums):
        longer = train_span(n_valid + 1)
        if trainable(available[n_valid:n_valid + n_train]) and not trainable(available[n_valid + 1:n_valid + 1 + longer]):
            break
        n_valid, n_train = n_valid + 1, longer
    chosen = [w["week"] for w in available[:n_valid + n_train]][::-1]
    return {"weeks": chosen, "train_weeks": chosen[:-n_valid], "valid_weeks": chosen[-n_valid:],
            "extended": len(chosen) > window_weeks,
            "valid_enough": evidence.enough(*totals(available[:n_valid]), evidence_minimums) is None}


def window_guard(train_class_rows: dict[str, int], valid_rows: int, minimums: dict) -> dict:
    """Whether a training window is large enough to train on: enough training rows, enough
    of every class (`train_class_rows`), and a validation part. `minimums`:
    train.min_rows, train.min_class_rows."""
    train_rows = sum(train_class_rows.values())
    problems = []
    if train_rows < minimums["min_rows"]:
        problems.append(f"{train_rows} training rows, fewer than train.min_rows {minimums['min_rows']}")
    for c, n in train_class_rows.items():
        if n < minimums["min_class_rows"]:
            problems.append(f"{n} training rows of class {c}, fewer than train.min_class_rows {minimums['min_class_rows']}")
    if valid_rows == 0:
        problems.append("no labelled row in the validation weeks")
    return {
        "inputs": {"train_rows": train_rows, "train_rows_per_class": dict(train_class_rows), "valid_rows": valid_rows},
        "threshold": dict(minimums),
        "passed": not problems,
        "problems": problems,
    }


def decide(week: str, policy: dict, known: dict, window: dict, guard: dict | None = None) -> dict:
    """Retrain or not at the start of `week`, and why.

    `known` is what is known at the start of the week: `tracker`, the previous week's
    (None: the initial-training path), `evaluations`, those known, oldest first, and
    `drift`, the newest week's drift.json (None before the first). `window` is the
    training window (see training_window) and `guard` its window_guard, worked out only
    when a trigger fires: a failed guard keeps the serving model.
    """
    tracker = known["tracker"]
    evaluations = known["evaluations"]
    triggers = {
        "initial": {
            "enabled": True,
            "inputs": {"serving_model": tracker.get("model_version") if tracker else None},
            "threshold": None,
            "fired": tracker is None,
        }
    }
    for name, trigger in TRIGGERS.items():
        triggers[name] = trigger(week, policy[name], known)
    reasons = [name for name, t in triggers.items() if t["fired"]]
    blocked = bool(reasons) and guard is not None and not guard["passed"]
    return {
        "week": week,
        "retrain": bool(reasons) and not blocked,
        "reasons": reasons,
        "blocked": "; ".join(guard["problems"]) if blocked else None,
        "triggers": triggers,
        "evaluation_seen": evaluations[-1]["week"] if evaluations else None,
        "guard": guard if reasons else None,
        "training_window": window if reasons and not blocked else None,
    }


def _number(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def reading(name: str, trigger: dict) -> str:
    """One line saying why a trigger fired or not, as a person reads it (the console's
    `weekly explain` and `status`)."""
    if not trigger["enabled"]:
        return "off"
    inputs, limits = trigger["inputs"], trigger["threshold"] or {}
    verdict = "FIRED" if trigger["fired"] else "quiet"
    if name == "performance":
        if inputs.get("single_class"):
            return (f"{verdict}: the model predicts only {', '.join(inputs['predicted_classes'])} over "
                    f"{inputs['rows']} labelled rows holding several classes ({len(inputs['weeks'])} week(s))")
        if not inputs.get("judged"):
            return f"{verdict}: not judged ({inputs.get('why_not') or 'no evaluation yet'})"
        weeks = inputs["weeks"]
        validation = inputs.get("validation") or {}
        estimated = "ESTIMATED (outcomes pending) " if inputs.get("source") == "estimate" else ""
        text = (f"{verdict}: {estimated}{inputs['metric']} {_number(inputs['value'])} [{_number(inputs['low'])}, "
                f"{_number(inputs['high'])}] over {weeks[-1]}..{weeks[0]} ({len(weeks)} week(s), {inputs['rows']} rows); "
                f"floor {limits['floor'] if limits.get('floor') is not None else 'none'}"
                f"{' (below it)' if inputs['below_floor'] else ''}, validation {_number(validation.get('value'))} "
                f"- max_drop {limits['max_drop']}{' (significantly under it)' if inputs['significant_drop'] else ''}; "
                f"alpha {limits['alpha']}")
        if inputs.get("single_class"):
            text += f"; predicts only {', '.join(inputs['predicted_classes'])}"
        return text
    if name == "drift":
        if not inputs.get("judged"):
            return f"{verdict}: not judged ({inputs.get('why_not') or 'no drift test yet'})"
        over = ", ".join(f"{f} PSI {_number(inputs['features'][f]['psi'])} > {_number(inputs['features'][f]['critical'])}"
                         for f in inputs["features_over"]) or "no feature moved"
        seen = f"; already seen when trained: {', '.join(inputs['already_seen'])}" if inputs.get("already_seen") else ""
        return (f"{verdict}: {over} (over {len(inputs['weeks'])} week(s), {inputs['rows']} applications; magnitude floor "
                f"{limits['threshold']}, alpha {limits['alpha']}); score PSI {_number(inputs['score_psi'])} "
                f"(critical {_number(inputs['score_critical'])}){seen}")
    shown = ", ".join(f"{k}={v}" for k, v in inputs.items() if not isinstance(v, (dict, list)))
    return f"{verdict}: {shown}" + (f" (limits: {', '.join(f'{k}={v}' for k, v in limits.items())})" if limits else "")
