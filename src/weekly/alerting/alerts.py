"""Alerts: what in the chain's files a team must hear about, as events with stable ids.

Pure functions, no I/O. A condition (the serving model's weekly figure under its floor, a
feature drifting, a week too small to judge) is followed over the weeks in order: an
alert is raised the week it starts (`onset`) and the week it ends (`clear`), never for
the weeks it persists. A promotion and a challenger kept out are one-off events of their
week, and a failed run is an event of its own (see failure_event). Each event's id
(condition, week, kind) is stable, so what was already recorded is never sent again
(see new_events), and a run sends every new event as one digest per channel.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable

from weekly import paths
from weekly.lifecycle import evidence
from weekly.lifecycle.decision import drift_trigger

PREFIX = "[weekly]"
# A step's failure, as its job log ends (weekly.logs.job_log): our own format, read back.
LOG_LINE = re.compile(r"ERROR weekly\.job: (\w+) failed(?:: (.*)| with an unexpected error)$")
WEEK = re.compile(r"\d{4}-\d{2}-\d{2}")


def settings(params: dict) -> dict:
    """The alert rules of params.yaml `alerts` with every threshold left to the triggers
    (null) filled in from `retrain`: what the events are derived with."""
    conditions = params["alerts"]["conditions"]
    performance, drift = params["retrain"]["performance"], params["retrain"]["drift"]

    def own(value, default):
        return default if value is None else value

    return {
        **{name: dict(rule) for name, rule in conditions.items()},
        "performance": {
            "enabled": conditions["performance"]["enabled"],
            "metric": own(conditions["performance"]["metric"], performance["metric"]),
            "floor": own(conditions["performance"]["floor"], performance["floor"]),
            "alpha": performance["alpha"],
            "min_single_class_rows": performance["min_single_class_rows"],
        },
        # the pending weeks' estimate, read by the performance trigger with use_estimate
        "performance (estimated)": {
            "enabled": bool(conditions["performance"]["enabled"] and performance["use_estimate"]),
            "metric": own(conditions["performance"]["metric"], performance["metric"]),
            "floor": own(conditions["performance"]["floor"], performance["floor"]),
            "alpha": performance["alpha"],
        },
        "drift": {
            "enabled": conditions["drift"]["enabled"],
            "threshold": own(conditions["drift"]["threshold"], drift["threshold"]),
            "min_features": drift["min_features"],
            "score_threshold": own(conditions["drift"]["score_threshold"], drift["score_threshold"]),
            "alpha": drift["alpha"],
            "min_rows": drift["min_rows"],
        },
    }


# A condition's state in one week: (active, figures), or None when the week cannot say
# (no outcomes yet, too small to judge): the state of the weeks before it holds.
State = tuple[bool, dict] | None


def file_only(channels: dict) -> dict:
    """`channels` (params.yaml alerts.channels) with the webhook and e-mail off: a what-if
    (a policy, a DVC experiment) alerts into its own reports/alerts.jsonl, never the team."""
    return {**channels, "webhook": {**channels["webhook"], "url_env": ""}, "email": {**channels["email"], "host": ""}}


def _performance(week: dict, rule: dict) -> State:
    # The week's evidence window (its outcomes pooled back: weekly.lifecycle.evidence), not the week
    # alone: under the floor beyond sampling error, or one class predicted over several.
    evaluation = week.get("evaluation")
    pooled = (evaluation or {}).get("pooled")
    single = bool(pooled and pooled["single_class"] and pooled["rows"] >= rule["min_single_class_rows"])
    if not pooled or not (pooled["judged"] or single):
        return None
    figure = pooled[rule["metric"]]
    if figure.get("value") is None:
        return None
    low = pooled["judged"] and rule["floor"] is not None and evidence.below(figure, rule["floor"], rule["alpha"])
    return bool(low or single), {
        "metric": rule["metric"], "value": round(figure["value"], 4), "interval": [_round(figure["low"]), _round(figure["high"])],
        "floor": rule["floor"], "weeks": f"{pooled['first_week']}..{pooled['last_week']}", "rows": pooled["rows"],
        **({"predicts_one_class": pooled["predicted_classes"]} if single else {}),
    }


def _performance_estimated(week: dict, rule: dict) -> State:
    # A week whose outcomes are pending, on its estimate (estimate.json, pooled: weekly.lifecycle.estimate):
    # under the floor beyond its interval. Its outcomes landing clear it: the evaluation speaks then.
    estimate = week.get("estimate")
    if week.get("evaluation") is not None:
        return False, {"metric": rule["metric"], "outcomes": "landed"}
    pooled = (estimate or {}).get("pooled")
    if not pooled or not pooled.get("judged") or (pooled.get(rule["metric"]) or {}).get("value") is None:
        return None
    figure = pooled[rule["metric"]]
    low = rule["floor"] is not None and evidence.below(figure, rule["floor"], rule["alpha"])
    return bool(low), {"metric": rule["metric"], "value": round(figure["value"], 4),
                       "interval": [_round(figure["low"]), _round(figure["high"])], "floor": rule["floor"],
                       "weeks": f"{pooled['weeks'][-1]}..{pooled['weeks'][0]}", "rows": pooled["rows"]}


def _drift(week: dict, rule: dict) -> State:
    # The drift trigger's own reading of the pooled drift test; a feature the serving model
    # had already seen moved in the newest weeks it learned from does not count again.
    drift = week.get("drift")
    if not drift or not (drift.get("pooled") or {}).get("judged"):
        return None
    policy = {"enabled": True, **{k: rule[k] for k in ("threshold", "min_features", "score_threshold", "alpha", "min_rows")}}
    verdict = drift_trigger(week["week"], policy, {"drift": drift, "tracker": week["tracker"]})
    features = drift["pooled"]["features"]
    over = {f: round(features[f]["psi"], 4) for f in verdict["inputs"]["features_over"]}
    return verdict["fired"], {"features_over": over, "score_psi": _round(drift["pooled"]["score"]["psi"]),
                              "weeks": len(drift["pooled"]["weeks"]), "rows": drift["pooled"]["rows"],
                              "threshold": rule["threshold"], "score_threshold": rule["score_threshold"]}


def _data(week: dict, rule: dict) -> State:
    evaluation, decision, drift = week.get("evaluation"), week.get("decision") or {}, week.get("drift") or {}
    problems = []
    if decision.get("blocked"):
        problems.append(f"retraining blocked: {decision['blocked']}")
    pooled = (evaluation or {}).get("pooled")
    if pooled and not pooled["judged"]:
        problems.append(f"too few outcomes to judge over {len(pooled['weeks'])} week(s): {pooled['why_not']}")
    for feature, found in sorted(((drift.get("pooled") or {}).get("missing") or {}).items()):
        if found["finding"]:
            problems.append(f"{feature} missing in {found['current']:.1%} of the newest applications "
                            f"(training: {found['reference']:.1%})")
    for found in drift.get("out_of_range") or []:
        problems.append(f"{found['column']} outside its plausible range [{found['min']}, {found['max']}] in "
                        f"{found['rows']} application(s) ({found['share']:.1%}; seen {found['min_seen']:g} .. "
                        f"{found['max_seen']:g})")
    if not problems and not evaluation:
        return None
    return bool(problems), {"problems": problems, **({"rows": evaluation["rows"]} if evaluation else {})}


def _fairness(week: dict, rule: dict) -> State:
    # The protected attribute's groups over the week's evidence window (eval.json pooled
    # fairness, weekly.lifecycle.fairness.compare). On: a group's approval-rate ratio to
    # overall outside the band beyond sampling error. Off: every group's ratio inside the
    # band. A ratio outside it within its sampling error says neither: the state holds, so
    # a group sitting near the band's edge does not alert and clear week after week.
    pooled = ((week.get("evaluation") or {}).get("pooled")) or {}
    found = pooled.get("fairness")
    if not found or not pooled.get("judged"):
        return None
    low, high = found["band"]
    ratios = {g: f["approval_ratio"] for g, f in found["groups"].items() if f["approval_ratio"]["value"] is not None}
    outside = {g: [_round(ratios[g]["low"]), _round(ratios[g]["high"])] for g in found["groups_outside"]}
    figures = {"column": found["column"], "outside": outside, "band": found["band"],
               "weeks": f"{pooled['weeks'][-1]}..{pooled['weeks'][0]}", "rows": pooled["rows"]}
    if outside:
        return True, figures
    if all(low <= r["value"] <= high for r in ratios.values()):
        return False, figures
    return None


def _promotion(week: dict, rule: dict) -> dict | None:
    tracker = week["tracker"]
    if not tracker.get("retrained"):
        return None
    scores = (tracker.get("selection") or {}).get("scores") or {}
    return {"reasons": (week.get("decision") or {}).get("reasons", []),
            "validation_macro_f1": _round(tracker.get("macro_f1_score")),
            "scores": {algo: _round(score) for algo, score in scores.items()},
            "replaced": week.get("previous_model")}


def _challenger(week: dict, rule: dict) -> dict | None:
    why = week["tracker"].get("kept_because") or ""
    return {"kept_because": why} if "challenger" in why else None


def _round(value):
    return None if value is None else round(float(value), 4)


@dataclass(frozen=True)
class Condition:
    """One kind of alert: a condition followed week by week (`state`), or a one-off event
    of a week (`event`), and how its alerts read."""

    severity: str
    describe: Callable[[dict, dict], str]  # (figures, model) -> the alert's words
    state: Callable[[dict, dict], State] | None = None
    event: Callable[[dict, dict], dict | None] | None = None


def _model(model: dict) -> str:
    return f"{model['type']} v{model['version']}"


def _interval(f: dict) -> str:
    low, high = f.get("interval") or (None, None)
    return f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else ""


def _describe_performance(f: dict, model: dict) -> str:
    over = f"over {f['weeks']}, {f['rows']} rows"
    if f.get("predicts_one_class"):
        return (f"{_model(model)} predicts only {', '.join(f['predicts_one_class'])} over outcomes holding several "
                f"classes ({over})")
    return (f"{f['metric']} {f['value']:.4f}{_interval(f)} under its floor {f['floor']} beyond sampling error "
            f"({_model(model)} serving, {over})")


def _describe_estimated(f: dict, model: dict) -> str:
    return (f"estimated {f['metric']} {f['value']:.4f}{_interval(f)} under its floor {f['floor']} while the outcomes are "
            f"pending ({_model(model)} serving, over {f['weeks']}, {f['rows']} scored rows; from the calibrated "
            f"probabilities: blind to a change of P(y|x))")


def _describe_drift(f: dict, model: dict) -> str:
    moved = ", ".join(f"{name} {psi:.2f}" for name, psi in f["features_over"].items()) or "none"
    return (f"PSI beyond sampling error and over {f['threshold']} against {_model(model)}'s training rows: {moved}; "
            f"score PSI {f['score_psi']:.3f} ({f['rows']} applications over {f['weeks']} week(s))")


def _describe_fairness(f: dict, model: dict) -> str:
    groups = "; ".join(f"{g} [{low:.2f}, {high:.2f}]" for g, (low, high) in f["outside"].items())
    return (f"approval-rate ratio to overall outside {f['band']} beyond sampling error for {f['column']} {groups} "
            f"({_model(model)} serving, over {f['weeks']}, {f['rows']} rows)")


def _describe_promotion(f: dict, model: dict) -> str:
    replaced = f" replacing {f['replaced']}" if f.get("replaced") else ""
    why = ", ".join(f["reasons"]) or "retrained"
    return f"{_model(model)} promoted{replaced} (validation macro F1 {f['validation_macro_f1']:.4f}; {why})"


# In the order of a week: its decision (a promotion, a challenger kept out), then what its
# applications and outcomes showed.
CONDITIONS: dict[str, Condition] = {
    "promotion": Condition("info", _describe_promotion, event=_promotion),
    "challenger": Condition("info", lambda f, m: f["kept_because"], event=_challenger),
    "performance": Condition("warning", _describe_performance, state=_performance),
    "performance (estimated)": Condition("warning", _describe_estimated, state=_performance_estimated),
    "drift": Condition("warning", _describe_drift, state=_drift),
    "fairness": Condition("warning", _describe_fairness, state=_fairness),
    "data": Condition("warning", lambda f, m: "; ".join(f["problems"]), state=_data),
}
CLEARED = {
    "performance": "back over its floor",
    "performance (estimated)": "outcomes landed, or the estimate back over its floor",
    "drift": "no feature drifting any more",
    "fairness": "every group's approval-rate ratio back within the band",
    "data": "data fit to judge again",
}


KIND_WORDS = {"onset": "{name} alert", "clear": "{name} cleared", "event": "{name}"}


def _where(week: str) -> dict:
    return {"files": [p.format(week=week) for p in (paths.EVALUATION, paths.DRIFT, paths.DECISION, paths.TRACKER)],
            "report": paths.LIFECYCLE_REPORT}


def _event(name: str, kind: str, week: str, figures: dict, tracker: dict, text: str) -> dict:
    model = {"name": tracker.get("model_name"), "version": str(tracker["model_version"]),
             "type": tracker["model_type"], "uri": tracker.get("model_uri")}
    severity = "info" if kind == "clear" else CONDITIONS[name].severity
    return {
        "id": f"{name}:{week}:{kind}",
        "condition": name,
        "kind": kind,
        "week": week,
        "severity": severity,
        "message": f"week {week}: {KIND_WORDS[kind].format(name=name)}: {text}",
        "figures": figures,
        "model": model,
        **_where(week),
    }


def events(weeks: list[dict], rules: dict) -> list[dict]:
    """Every alert of the chain, in week order: onsets and clears of the followed
    conditions and the one-off events. `weeks`, oldest first, each with `week`, `tracker`,
    `decision`, `drift` and `evaluation` (None until its outcomes are known); `rules`:
    settings(params). Deterministic: the same files give the same events."""
    out, active = [], {}
    previous_model = None
    for week in weeks:
        tracker = week["tracker"]
        model = {"version": str(tracker["model_version"]), "type": tracker["model_type"]}
        current = {**week, "previous_model": previous_model}
        for name, condition in CONDITIONS.items():
            rule = rules[name]
            if not rule["enabled"]:
                continue
            if condition.event is not None:
                figures = condition.event(current, rule)
                if figures is not None:
                    out.append(_event(name, "event", week["week"], figures, tracker, condition.describe(figures, model)))
                continue
            state = condition.state(current, rule)
            if state is None:
                continue
            on, figures = state
            if on and name not in active:
                out.append(_event(name, "onset", week["week"], figures, tracker, condition.describe(figures, model)))
                active[name] = week["week"]
            elif not on and name in active:
                since = active.pop(name)
                out.append(_event(name, "clear", week["week"], {**figures, "since": since}, tracker,
                                  f"{CLEARED[name]} (since {since}; {_model(model)} serving)"))
        previous_model = _model(model)
    return out


def failure_key(message: str) -> str:
    """What identifies a failure across runs: its message (the same broken file fails the
    same way again)."""
    return hashlib.sha256(message.encode()).hexdigest()[:12]


def open_failures(recorded: list[dict]) -> dict[str, dict]:
    """The failures recorded and not cleared since, by key."""
    opened: dict[str, dict] = {}
    for record in recorded:
        if record.get("condition") != "failure":
            continue
        if record["kind"] == "onset":
            opened[record["figures"]["key"]] = record
        else:
            opened.pop(record["figures"]["key"], None)
    return opened


def failure_event(failure: dict, recorded: list[dict]) -> dict | None:
    """The alert of a failed job (`failure`: rule, week, message, log), or None while the
    same failure is still open (alerted by an earlier run and not cleared since)."""
    key = failure_key(failure["message"])
    if key in open_failures(recorded):
        return None
    count = sum(1 for r in recorded if r.get("condition") == "failure" and r["kind"] == "onset"
                and r["figures"]["key"] == key)
    week = failure.get("week")
    where = f"week {week}: " if week else ""
    return {
        "id": f"failure:{key}:{count + 1}",
        "condition": "failure",
        "kind": "onset",
        "week": week,
        "severity": "error",
        "message": f"{where}failure alert: {failure['rule']} failed: {failure['message']}",
        "figures": {"key": key, "rule": failure["rule"], "error": failure["message"]},
        "model": None,
        "files": [f for f in (failure.get("log"),) if f],
        "report": failure.get("main_log"),
    }


def failures_cleared(recorded: list[dict]) -> list[dict]:
    """A clear for every open failure: the chain has run through since."""
    return [{
        "id": f"{record['id']}:clear",
        "condition": "failure",
        "kind": "clear",
        "week": record["week"],
        "severity": "info",
        "message": f"failure cleared: the chain ran through again ({record['figures']['rule']} had failed: "
                   f"{record['figures']['error']})",
        "figures": record["figures"],
        "model": None,
        "files": [],
        "report": paths.LIFECYCLE_REPORT,
    } for record in open_failures(recorded).values()]


def new_events(candidates: list[dict], recorded: list[dict]) -> list[dict]:
    """The events not sent yet: a re-run or resumed run sends only those. An event recorded
    while every channel was down (and none was configured but the file) counts as sent only
    once a channel took it, so the next run tries it again."""
    seen = {r["id"] for r in recorded
            if not r.get("delivery") or any(d.get("delivered") for d in r["delivery"].values())}
    return [e for e in candidates if e["id"] not in seen]


def job_error(text: str | None) -> str | None:
    """The one-line error a failed job's log holds (`text`; see weekly.logs.job_log): the
    message of an expected error, or the last line of an unexpected one's traceback (the
    exception and its message). None when the log holds no failure of a step."""
    if not text:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        match = LOG_LINE.search(line)
        if match and match.group(2):
            return match.group(2).strip()
        if match:
            return lines[-1].strip()  # the traceback's last line: the exception and its message
    return None


def _counts(items: list[dict]) -> str:
    kinds: dict[str, int] = {}
    for e in items:
        kinds[e["condition"]] = kinds.get(e["condition"], 0) + 1
    return ", ".join(f"{n} {name}" for name, n in kinds.items())


def digest(items: list[dict], project: str) -> dict:
    """One message for a run's new events: `text` (the line Slack- and Teams-style incoming
    webhooks show), a `subject` for mail, and the events themselves."""
    weeks = sorted(e["week"] for e in items if e["week"])
    if len(items) == 1:
        subject = f"{PREFIX} {project}: {items[0]['message']}"
        text = f"{subject}\nSee " + ", ".join(p for p in [*items[0]["files"], items[0]["report"]] if p)
    else:
        span = f", weeks {weeks[0]} to {weeks[-1]}" if weeks else ""
        subject = f"{PREFIX} {project}: {len(items)} alerts ({_counts(items)}){span}"
        text = "\n".join([subject, *(f"- {e['message']}" for e in items),
                          f"See {paths.LIFECYCLE_REPORT} and the weeks' files under weeks/"])
    return {"text": text, "subject": subject, "project": project, "count": len(items), "events": items}
