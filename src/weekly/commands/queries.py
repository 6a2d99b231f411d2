"""Questions a person asks the chain, answered from its files: where it stands, and why a
week went the way it did.

Only JSON files (and dvc.lock) are read and no heavy library is imported, so `weekly
status` and `weekly explain` answer at once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

from weekly.lifecycle import decision as decision_logic
from weekly import paths
from weekly.lifecycle import selection as selection_logic
from weekly.lifecycle import weeks as calendar
from weekly.errors import WeeklyError
from weekly.lifecycle.metrics import macro_auc


class QueryError(WeeklyError):
    """A question the chain's files cannot answer yet (a week not run, not in the chain)."""


def _json(path: str) -> dict | None:
    return json.loads(Path(path).read_text()) if os.path.exists(path) else None


def _serving(tracker: dict) -> dict:
    # since: the week the serving version was promoted (a week whose challenger was kept out
    # moves last_retraining_date, which times the next retraining, but not the version)
    return {**{key: tracker.get(key) for key in (
        "model_version", "model_type", "model_uri", "model_alias", "last_retraining_date", "macro_f1_score",
        "auc_score", "trained_until", "model_path")},
        "since": tracker.get("registration_date") or tracker.get("last_retraining_date")}


def _evaluation(ev: dict | None) -> dict | None:
    if ev is None:
        return None
    risk = ev.get("risk") or {}
    return {"macro_f1": ev["macro_f1"], "auc": macro_auc(risk) if risk else None, "accuracy": ev["accuracy"],
            "rows": ev["rows"], "too_small": ev["too_small"], "brier": risk.get("brier"),
            "log_loss": risk.get("log_loss"), "classes_present": ev.get("classes_present"),
            "pooled": _pooled(ev.get("pooled"))}


def _pooled_drift(pooled: dict | None) -> dict | None:
    # the drift test over the newest applications pooled back (weekly.lifecycle.drift.pooled_drift)
    if not pooled:
        return None
    moved = {f: t["psi"] for f, t in (pooled.get("features") or {}).items() if t["moved"]}
    missing = [f for f, m in (pooled.get("missing") or {}).items() if m["finding"]]
    return {"weeks": len(pooled["weeks"]), "rows": pooled["rows"], "judged": pooled["judged"],
            "why_not": pooled["why_not"], "moved": moved, "score_moved": bool((pooled.get("score") or {}).get("moved")),
            "turned_missing": missing}


def _pooled(pooled: dict | None) -> dict | None:
    # the evidence window the week is judged through (weekly.lifecycle.evidence)
    if not pooled:
        return None
    return {"weeks": len(pooled["weeks"]), "first_week": pooled["first_week"], "last_week": pooled["last_week"],
            "rows": pooled["rows"], "judged": pooled["judged"], "why_not": pooled["why_not"],
            "macro_f1": pooled["macro_f1"], "auc": pooled["auc"], "single_class": pooled["single_class"]}


def status(params: dict) -> dict:
    """Weeks done and pending, the serving model, and the next week's decision as it stands:
    each trigger's inputs and verdict from what is known now (the training window's guard
    is checked when the week runs); and which of the files on disk do not come from the
    data params.yaml names now (foreign_files)."""
    chain = calendar.chain(params["start"], params["end"])
    done = [w for w in chain if os.path.exists(paths.TRACKER.format(week=w))]
    evaluated = [w for w in done if os.path.exists(paths.EVALUATION.format(week=w))]
    answer = {
        "start": params["start"], "end": params["end"], "weeks": len(chain), "done": len(done),
        "pending": [w for w in chain if w not in set(done)],
        "awaiting_outcomes": [w for w in done if w not in set(evaluated)],
        "last_done": done[-1] if done else None, "serving": None, "next_week": None,
        "not_from_params": foreign_files(params, done),
    }
    answer["estimates"] = {w: _estimate_line(_json(paths.ESTIMATE.format(week=w))) for w in answer["awaiting_outcomes"]}
    if not done:
        return answer
    last = _json(paths.TRACKER.format(week=done[-1]))
    answer["serving"] = _serving(last)
    answer["retrainings"] = sum(bool(_json(paths.TRACKER.format(week=w)).get("retrained")) for w in done)
    following = (calendar.parse_week(done[-1]) + dt.timedelta(days=7)).isoformat()
    answer["next_week"] = next_decision(params, following, last)
    return answer


def _estimate_line(estimate: dict | None) -> dict | None:
    """A pending week's estimated figures (estimate.json): the week alone and its pooled window."""
    if not estimate:
        return None
    alone, pooled = estimate.get("week_alone") or {}, estimate.get("pooled") or {}
    return {"model_version": estimate.get("model_version"), "rows": alone.get("rows"),
            "confidence": alone.get("confidence"), "macro_f1": alone.get("macro_f1"), "auc": alone.get("auc"),
            "pooled_weeks": len(pooled.get("weeks") or []), "pooled_macro_f1": pooled.get("macro_f1")}


def next_decision(params: dict, week: str, tracker: dict) -> dict:
    """What the decision of `week` looks at, from the files there now, and what its triggers say."""
    k, retrain = params["data"]["label_delay_weeks"], params["retrain"]
    newest = calendar.newest_labelled(week, k)
    seen = [newest] if newest >= params["start"] else []
    known = {"tracker": tracker, "drift": _json(paths.DRIFT.format(week=calendar.previous(week))),
             "evaluations": [e for e in (_json(paths.EVALUATION.format(week=w)) for w in seen) if e is not None],
             "estimate": _json(paths.ESTIMATE.format(week=calendar.previous(week)))
             if retrain["performance"]["use_estimate"] else None}
    window = decision_logic.training_window(week, params["train"]["window_weeks"], params["train"]["valid_weeks"], k)
    verdict = decision_logic.decide(week, retrain, known, window)
    return {"week": week, "in_chain": week <= params["end"], "evaluations_it_sees": seen,
            "evaluations_known": [e["week"] for e in known["evaluations"]], "retrain": verdict["retrain"],
            "reasons": verdict["reasons"], "triggers": verdict["triggers"],
            "training_window": {"first": window["weeks"][0], "last": window["weeks"][-1]}}


def explain(params: dict, week: str) -> dict:
    """Who served `week` and why: the decision with each trigger's inputs, threshold and
    verdict; what the week did (retrained, kept the serving model, or a due retraining that
    promoted nothing, and why); the serving model and since when; the week's own selection
    and challenger gate, if it trained candidates; the week's metrics once its outcomes
    are known; its most drifted features."""
    chain = calendar.chain(params["start"], params["end"])
    if week not in chain:
        raise QueryError(f"{week} is not a week of the chain: weeks run every 7 days from {params['start']} "
                         f"to {params['end']} (params.yaml)")
    tracker = _json(paths.TRACKER.format(week=week))
    decision = _json(paths.DECISION.format(week=week))
    if tracker is None or decision is None:
        raise QueryError(f"week {week} has not run yet: `snakemake --cores all weeks/{week}/tracker.json` runs it")
    drift = _json(paths.DRIFT.format(week=week)) or {}
    features = sorted(((name, value) for name, value in (drift.get("features") or {}).items() if value is not None),
                      key=lambda item: -item[1])
    outcome = week_outcome(week, decision, tracker)
    return {
        "week": week,
        "outcome": outcome,
        "retrain": decision["retrain"], "reasons": decision["reasons"], "blocked": decision.get("blocked"),
        "evaluation_seen": decision.get("evaluation_seen"), "triggers": decision["triggers"],
        "retrained": bool(tracker.get("retrained")), "kept_because": tracker.get("kept_because"),
        "serving": _serving(tracker), "selection": week_selection(params, week, outcome, tracker),
        "evaluation": _evaluation(_json(paths.EVALUATION.format(week=week))),
        "drift": {"score_psi": drift.get("score"), "top_features": dict(features[:5]), "rows": drift.get("rows"),
                  "pooled": _pooled_drift(drift.get("pooled"))},
        "not_from_params": foreign_files(params, [week]),
    }


# What a week did, from its decision and tracker (weekly.workflow.steps.register writes them).
RETRAINED, KEPT_OUT = "retrained", "challenger kept out"
NOT_DONE, QUIET = "retraining due, not done", "no retraining due"


def week_outcome(week: str, decision: dict, tracker: dict) -> str:
    """`retrained`; `challenger kept out` (the week's winner did not beat the serving model);
    `retraining due, not done` (the window guard blocked the fit, or no candidate could
    serve); `no retraining due`."""
    if tracker.get("retrained"):
        return RETRAINED
    gate = (tracker.get("selection") or {}).get("gate") or {}
    # a week whose challenger was kept out records its own selection (and moves
    # last_retraining_date to itself); any other week carries the last one over
    if gate.get("passed") is False and tracker.get("last_retraining_date") == week:
        return KEPT_OUT
    return NOT_DONE if decision.get("reasons") else QUIET


def week_selection(params: dict, week: str, outcome: str, tracker: dict) -> dict | None:
    """The selection (and challenger gate) made in `week`, never one carried over from an
    earlier week: the tracker's on a week that retrained or kept its challenger out, else
    the one its candidates' files give (a due retraining whose candidates could not
    serve); None when no candidate was trained that week."""
    if outcome in (RETRAINED, KEPT_OUT):
        return tracker.get("selection")
    order = params["train"]["models"]
    records = [_json(paths.CANDIDATE.format(week=week, algo=algo)) for algo in order]
    trained = [r for r in records if r and r.get("trained") and r.get("week") == week]
    if not trained:
        return None
    return selection_logic.select(trained, order, params["train"]["selection"]["metric"])


# What decides the data a chain runs on: when two of these differ, so do the chain's files.
DATA_KEYS = ("start", "data.generate", "data.raw_dir", "data.columns", "data.label_delay_weeks")
GENERATED_KEYS = ("seed", "data.rows_per_week", "data.generator")  # the embedded data's, when generated
REPORTS = "reports/ (summary.json, weekly.csv, lifecycle.html)"
RUN = "`snakemake --cores all all_weeks`"


def _dotted(params: dict, key: str):
    node = params
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def recorded_params(summary_path: str = paths.SUMMARY, lock_path: str = "dvc.lock") -> tuple[dict, str] | None:
    """The parameters the reports on disk were made with, and where that is recorded: the
    summary's own `params` (start, seed, data), or DVC's record in dvc.lock when it names
    this very summary (same md5). None when nothing says."""
    if not os.path.exists(summary_path):
        return None
    text = Path(summary_path).read_bytes()
    summary = json.loads(text)
    if isinstance(summary.get("params"), dict):
        return summary["params"], summary_path
    if not os.path.exists(lock_path):
        return None
    import yaml

    lock = yaml.safe_load(Path(lock_path).read_text()) or {}
    digest = hashlib.md5(text).hexdigest()
    for stage in (lock.get("stages") or {}).values():
        outs = {out.get("path"): out.get("md5") for out in stage.get("outs") or []}
        if outs.get(summary_path) == digest:
            return (stage.get("params") or {}).get("params.yaml") or {}, lock_path
    return None


def data_differences(recorded: dict, params: dict) -> list[str]:
    """The keys of DATA_KEYS (and GENERATED_KEYS, on generated data) whose recorded value
    is not the one of `params`, as `key: recorded -> now`."""
    keys = DATA_KEYS + (GENERATED_KEYS if params["data"]["generate"] and _dotted(recorded, "data.generate") else ())
    return [f"{key} {_dotted(recorded, key)} -> {_dotted(params, key)}" for key in keys
            if _dotted(recorded, key) is not None and _dotted(recorded, key) != _dotted(params, key)]


def foreign_files(params: dict, weeks: list[str] | None = None) -> list[str]:
    """One line for each set of the chain's files on disk that does not come from the data
    `params` name now: the reports, when what they record (recorded_params) differs or they
    belong to weeks that are not on disk (a copy's committed reports); the weeks (of `weeks`,
    default every week of the chain) that ran on generated raw files while data.generate is
    now false, or before their raw files last changed (a table imported since, for
    instance). Empty when nothing says so."""
    lines = []
    recorded = recorded_params()
    if recorded is not None:
        values, where = recorded
        changed = data_differences(values, params)
        if changed and _dotted(values, "data.generate") and not params["data"]["generate"]:
            lines.append(f"{REPORTS} come from the embedded synthetic data (data.generate true in {where}), not "
                         f"from {params['data']['raw_dir']}: the next {RUN} replaces them")
        elif changed:
            lines.append(f"{REPORTS} were made from other data ({'; '.join(changed)}; {where}): "
                         f"the next {RUN} replaces them")
    summary = _json(paths.SUMMARY)
    if summary is not None and not lines:
        last = summary.get("last_week")
        tracker = _json(paths.TRACKER.format(week=last)) if last else None
        if summary.get("first_week") != params["start"]:
            lines.append(f"{REPORTS} cover {summary.get('first_week')}..{last}, not this chain from {params['start']}: "
                         f"the next {RUN} replaces them")
        elif tracker is None:
            lines.append(f"{REPORTS} come from a run whose weeks are not here (no weeks/{last}/tracker.json: "
                         f"committed or copied reports): the next {RUN} replaces them")
        elif str(tracker.get("model_version")) != str(summary.get("last_week_model_version")):
            lines.append(f"{REPORTS} do not match weeks/: version {summary.get('last_week_model_version')} served "
                         f"{last} there, version {tracker.get('model_version')} here: the next {RUN} replaces them")
    weeks = weeks if weeks is not None else calendar.chain(params["start"], params["end"])
    generated = [] if params["data"]["generate"] else _generated(params, weeks)
    if generated:
        lines.append(f"weeks/ and models/ of {len(generated)} week(s) come from the embedded synthetic data "
                     f"(logs/generate_week/), while data.generate is false: import your table (`weekly import`); "
                     f"the next {RUN} then replaces them")
    stale = [w for w in weeks
             if _older(paths.PREDS.format(week=w), paths.applications(params["data"]["raw_dir"]).format(week=w))
             or _older(paths.EVALUATION.format(week=w), paths.outcomes(params["data"]["raw_dir"]).format(week=w))]
    if stale:
        span = stale[0] if len(stale) == 1 else f"{stale[0]}..{stale[-1]}"
        lines.append(f"{len(stale)} week(s) ran before their raw files in {params['data']['raw_dir']} last changed "
                     f"({span}): their files under weeks/ and models/ are not from that data; the next {RUN} "
                     "remakes them")
    return lines


def _older(output: str, source: str) -> bool:
    # an output made before its raw file last changed (what makes Snakemake run it again)
    try:
        return os.stat(output).st_mtime_ns < os.stat(source).st_mtime_ns
    except FileNotFoundError:
        return False


def _generated(params: dict, weeks: list[str]) -> list[str]:
    # the weeks that ran on raw files the generator wrote: its job log is no older than them
    applications = paths.applications(params["data"]["raw_dir"])
    made = paths.log("generate_week", "week")
    return [w for w in weeks if os.path.exists(paths.TRACKER.format(week=w)) and os.path.exists(made.format(week=w))
            and os.path.exists(applications.format(week=w)) and not _older(made.format(week=w), applications.format(week=w))]


def generated_chain(params: dict) -> bool:
    """Whether the chain's files on disk come from the embedded synthetic data: the reports'
    record says so (recorded_params), or a week of the chain ran on raw files that the
    generator wrote (their job log, logs/generate_week/<week>.log, is no older than them)."""
    recorded = recorded_params()
    if recorded is not None and _dotted(recorded[0], "data.generate"):
        return True
    return bool(_generated(params, calendar.chain(params["start"], params["end"])))
