"""Step register: the week's winner chosen among the candidates, gated against the serving model, refitted, registered in MLflow; the week's tracker."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from weekly import paths
from weekly.errors import StepError
from weekly.inputs.data import (
    adverse_index,
    labels,
    segment_names,
)
from weekly.io import atomic_dir, copy_files, read_json, write_json, write_text
from weekly.lifecycle import evidence as evidence_logic
from weekly.lifecycle import gains, review, selection
from weekly.lifecycle import tracker as tracker_logic
from weekly.lifecycle.weeks import parse_week
from weekly.modelling import calibration, fit_cache, models
from weekly.reporting import card as card_page
from weekly.workflow import provenance
from weekly.workflow.steps.common import (
    REFERENCE,
    read_optional,
    save_model,
    serving_model,
    window_files,
    window_parts,
)

log = logging.getLogger(__name__)




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
            train_part, valid_part, newest = window_parts(applications, outcomes, window, columns)
            fitted, fit_metrics = models.refit(algo, train_part, valid_part, columns, winner["hyperparameters"],
                                               winner["seed"], threads, window["weeks"][-1],
                                               fitting["recency_half_life_weeks"])
            # the validation rows per band are the candidate's: the refit has learned from them
            validation = read_json(Path(winner["model_path"]).parent / REFERENCE)["bands"]["validation"]
            newest_psi = save_model(algo, fitted, newest, train_part, window, columns, folder, fit_metrics,
                                    pd.read_parquet(winner["example_path"]), fitting["bands"], validation)
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
    scoring: dict,
    fairness_band: list[float],
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
    A registered version gets its model card (model_card) in that folder, card.json and
    card.html, attached to the version in MLflow (`scoring`: params.yaml score;
    `fairness_band`: the fairness alert's band of approval-rate ratios).
    """
    verdict, serving = read_json(decision), read_optional(previous_tracker)
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
    from weekly.tracking import registry as mlflow_registry

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
        trained = [winner if c["algo"] == winner["algo"] else c for c in trained]
    else:
        Path(winner_model).mkdir(parents=True, exist_ok=True)
    registration = mlflow_registry.register_week(week=week, candidates=trained, winner=chosen["winner"],
                                registry=registry, example=example, columns=columns, gate=gate, serving=serving)
    if not registration["promoted"]:
        why = f"challenger kept out: {gate['why']}"
        state = {**tracker_logic.carry_over(serving, week, why, verdict["reasons"]), "last_retraining_date": week,
                 "selection": chosen}
        write_json(tracker, state)
        log.info("week %s: %s", week, why)
        return state
    state = tracker_logic.after_retraining(week, winner, chosen, registration)
    candidate = next(c for c in records if c["algo"] == winner["algo"])  # its fit before the refit
    valid = window_parts(window_applications, window_outcomes, verdict["training_window"], columns)[1]
    card = model_card(week, winner, candidate, trained, gate, registration, valid, columns, minimums, scoring,
                      fairness_band)
    files = [Path(winner_model) / name for name in (paths.CARD_JSON, paths.CARD_HTML)]
    write_json(files[0], card)
    write_text(files[1], card_page.html(card))
    mlflow_registry.attach_card(registry, registration, files)
    write_json(tracker, state)
    log.info(
        "week %s: scores %s, winner %s, %s %s",
        week, chosen["scores"], chosen["winner"],
        "reused" if registration["reused"] else "registered", registration["model_uri"],
    )
    return state


def model_card(week: str, winner: dict, candidate: dict, trained: list[dict], gate: dict | None, registration: dict,
               valid: pd.DataFrame, columns: dict, minimums: dict, scoring: dict, fairness_band: list[float]) -> dict:
    """What a model-risk review reads of a registered version (weekly.reporting.card renders
    it): training window and rows, features, algorithm and settings, validation figures with
    intervals, threshold, calibration, the gains table, segment and protected-attribute
    figures and the challenger comparison, on the `candidate`'s validation rows `valid`
    (the fit chosen on them, before any refit), and its known limits."""
    classes = labels(columns)
    metrics = winner["valid_metrics"]
    confidence = minimums["confidence"]
    reference = read_json(Path(candidate["model_path"]).parent / REFERENCE)
    bands = reference["bands"]
    model = models.load(candidate["algo"], candidate["model_path"], candidate["model_sha256"])
    raw = models.predict_proba(candidate["algo"], model, valid, columns)
    predicted = models.predicted_labels(raw, classes, candidate.get("threshold"))
    window = pd.DataFrame({
        "outcome": valid[columns["target"]].astype(str).to_numpy(), "prediction": predicted,
        **{f"proba_{c}": p for c, p in zip(classes, calibration.apply(raw, candidate.get("calibration"), classes).T)},
        "score_band": gains.band_number(gains.assign(models.risk_score(raw, classes), bands["edges"]),
                                        len(bands["edges"]) + 1),
        **{c: valid[c].to_numpy() for c in segment_names(columns)},
    })
    # no validation rates to test the bands against (they are these rows'), and no segment PSI:
    # held-out rows against the training rows' in-sample scores would read as moved
    found = review.window_groups(window, {"bands": {**bands, "validation": None, "segments": {}}}, columns, classes, minimums,
                          scoring, fairness_band, [candidate["seed"], len(valid), 4])
    refit = winner["fitting"]["refit"]
    check = metrics.get("calibration_check") or {}
    return {
        "model_name": registration["model_name"], "version": registration["version"], "week": week,
        "algorithm": winner["algo"], "model_uri": registration["model_uri"], "model_sha256": winner["model_sha256"],
        "classes": classes, "adverse_class": classes[adverse_index(classes)], "threshold": winner.get("threshold"),
        "training": {"first_week": winner["window"][0], "last_week": winner["window"][-1],
                     "weeks": len(winner["window"]), "valid_weeks": winner["valid_weeks"],
                     "train_rows": winner["train_rows"], "valid_rows": winner["valid_rows"],
                     "refit_rows": winner.get("refit_rows"), "refit": refit,
                     "recency_half_life_weeks": winner["fitting"]["recency_half_life_weeks"], "seed": winner["seed"]},
        "features": {"numeric": columns["numeric"], "categorical": columns["categorical"]},
        "hyperparameters": winner["hyperparameters"],
        "validation": {"confidence": confidence, "rows": metrics["rows"],
                       "macro_f1": evidence_logic.interval(metrics["macro_f1"], metrics["se"]["macro_f1"], confidence),
                       "auc": evidence_logic.interval(metrics.get("auc"), metrics["se"].get("auc"), confidence),
                       "accuracy": metrics["accuracy"], "log_loss": metrics["log_loss"],
                       "per_class": metrics["per_class"]},
        "calibration": {"method": "Platt scaling per class, fitted on the validation weeks",
                        "raw": check.get("raw"), "calibrated": check.get("calibrated")},
        "gains": found["gains"], "segments": found["segments"], "fairness": found["fairness"],
        "challenger": gate,
        "candidates": {c["algo"]: c["valid_metrics"]["macro_f1"] for c in trained}, "winner": winner["algo"],
        "limits": _limits(winner, metrics, found, columns, minimums, refit),
        "libraries": winner["libraries"],
    }


def _limits(winner: dict, metrics: dict, found: dict, columns: dict, minimums: dict, refit: bool) -> list[str]:
    """The known limits of a version, from its own figures."""
    limits = []
    if refit:
        limits.append("The validation figures, the calibration and the gains table's validation rates are the "
                      "candidate fit's on its held-out weeks; the served model was refitted on the whole window, "
                      "those weeks included (train.refit): its own out-of-sample figures are its weeks' evaluations.")
    limits.append("The calibration was fitted on the same validation rows its check reads: the calibrated ECE there "
                  "is optimistic.")
    short = [c for c, m in metrics["per_class"].items() if m["support"] < minimums["min_class_rows"]]
    if metrics["rows"] < minimums["min_rows"] or short:
        limits.append(f"Validated on {metrics['rows']} rows" + (f", with fewer than {minimums['min_class_rows']} of "
                      f"class(es) {', '.join(short)}" if short else "") + ": its intervals are wide.")
    protected = columns.get("protected")
    if protected and protected in columns["numeric"] + columns["categorical"]:
        limits.append(f"The protected attribute {protected} is a feature of the model.")
    fair = found["fairness"]
    if fair and fair["groups_outside"]:
        limits.append(f"On validation, the approval-rate ratio of {', '.join(fair['groups_outside'])} "
                      f"({fair['column']}) lies outside {fair['band']} beyond sampling error.")
    limits.append("Reason codes are the features' exact contributions to the model's log-odds of the adverse class: "
                  "they explain the score, not the applicant's risk.")
    limits.append("Estimated performance (estimate.json) assumes the probabilities stay right: it is blind to a "
                  "change of outcomes given the same applications (concept drift).")
    return limits


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
    from weekly.lifecycle import stats

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
    valid = window_parts(applications, outcomes, window, columns)[1]  # the winner's validation rows
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
    served = serving_model(serving, f"week {serving['week']}")
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
