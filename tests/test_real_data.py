"""Real portfolios on the real workflow: outcomes that arrive later, live weeks, empty and
lopsided weeks, degenerate candidates, and an import a person can use."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import TINY_WEEKS, clone, file_states, make_project, own_table, run, snakemake, write_params
from weekly.lifecycle import weeks

COLUMNS = {
    "id": "loan_id",
    "date": "applied_on",
    "target": "defaulted",
    "classes": ["No", "Yes"],
    "numeric": ["income", "debt", "late_payments"],
    "categorical": ["region"],
    "segments": {},
    "protected": None,
}
OWN = {"data": {"generate": False, "columns": COLUMNS}}


def read(root, path):
    return json.loads((root / path).read_text())


def import_table(root, table, *extra, check=True):
    table.to_csv(root / "table.csv", index=False)
    return run(["python", "scripts/import_table.py", "--table", "table.csv", *extra], root, check=check)


# -------------------------------------------------------------------- label delay


@pytest.fixture(scope="module")
def delayed(tmp_path_factory):
    """The tiny chain with outcomes known two weeks after the week ends."""
    root = make_project(tmp_path_factory.mktemp("delayed"), {"data": {"label_delay_weeks": 2}})
    snakemake(root, "all_weeks")
    return root


def test_with_a_label_delay_every_week_is_scored_and_known_weeks_evaluated(delayed):
    root = delayed
    for week in TINY_WEEKS:
        assert (root / "weeks" / week / "preds.parquet").is_file()
    evaluated = sorted(p.parent.name for p in (root / "weeks").glob("*/eval.json"))
    assert evaluated == TINY_WEEKS[:-2]  # the last two weeks' outcomes are not known by the end
    summary = read(root, "reports/summary.json")
    assert summary["awaiting_outcomes"] == 2 and summary["evaluated_weeks"] == 6
    for week in TINY_WEEKS:
        decision = read(root, f"weeks/{week}/decision.json")
        newest = weeks.newest_labelled(week, 2)
        if decision["training_window"]:
            assert decision["training_window"]["weeks"][-1] == newest  # trained only on known outcomes
        assert decision["evaluation_seen"] == (newest if newest >= TINY_WEEKS[0] else None)


def test_outcomes_arriving_later_change_nothing_before_they_are_known(delayed, tmp_path):
    root = clone(delayed, tmp_path / "late")
    changed = TINY_WEEKS[2]  # outcomes of 2022-01-30 are known from the start of 2022-02-20 on
    known_from = TINY_WEEKS[5]
    before = {w: file_states(root, f"weeks/{w}/**/*") for w in TINY_WEEKS if w < known_from}
    models_before = file_states(root, "models/**/*")
    path = root / "data" / "raw" / "outcomes" / f"{changed}.parquet"
    outcomes = pd.read_parquet(path)
    outcomes["credit_score"] = "Poor"  # every outcome of the week perturbed
    outcomes.to_parquet(path, index=False)

    dry = snakemake(root, "-n", "all_weeks")
    import re

    planned = set(re.findall(r"rule (\w+):\n(?:.*\n)*?\s+wildcards: .*?week=([\d-]+)", dry.stdout + dry.stderr))
    early = {(rule, w) for rule, w in planned if w < known_from}
    # only evaluations, each made when the outcomes are known: the week's own, and those of the weeks
    # after it (each evaluation extends the week before's evidence window)
    assert early == {("evaluate", w) for w in TINY_WEEKS if changed <= w < known_from}, early
    snakemake(root, "all_weeks")
    evaluations = ("eval.json", "evidence.parquet")
    for week, state in before.items():
        after = file_states(root, f"weeks/{week}/**/*")
        if week >= changed:  # evaluated after the outcomes were known: made again
            made_again = {k: v[0] for k, v in after.items() if k.endswith(evaluations)}
            was = {k: v[0] for k, v in state.items() if k.endswith(evaluations)}
            if week > changed:  # a week of 300 rows is its own window: the same content
                assert made_again == was, week
            after = {k: v for k, v in after.items() if not k.endswith(evaluations)}
            state = {k: v for k, v in state.items() if not k.endswith(evaluations)}
        assert after == state, week
    assert {k: v for k, v in file_states(root, "models/**/*").items() if k.split("/")[1] < known_from} == {
        k: v for k, v in models_before.items() if k.split("/")[1] < known_from}
    assert read(root, f"weeks/{changed}/eval.json")["per_class"]["Poor"]["support"] == 300  # the new outcomes


# ----------------------------------------------------------------- live weeks


def test_a_live_week_is_scored_now_and_evaluated_when_its_outcomes_arrive(tmp_path):
    root = make_project(tmp_path / "live", OWN)
    table = own_table("2022-01-16", "2022-03-06", 6)
    import_table(root, table)
    snakemake(root, "all_weeks")

    new_week = "2022-03-13"
    fresh = own_table(new_week, new_week, 0, seed=8)
    applications = fresh.drop(columns=["defaulted"])
    result = import_table(root, applications)
    assert "wrote 1 weeks of applications and 0 of outcomes" in result.stdout
    params = yaml.safe_load((root / "params.yaml").read_text())
    write_params(root, {**params, "end": new_week, "week": new_week})
    snakemake(root, "all_weeks")
    preds = pd.read_parquet(root / "weeks" / new_week / "preds.parquet")
    assert len(preds) == 200 and set(preds["model_version"]) == {read(root, f"weeks/{new_week}/tracker.json")["model_version"]}
    assert not (root / "weeks" / new_week / "eval.json").exists()
    assert read(root, "reports/summary.json")["awaiting_outcomes"] == 1

    import_table(root, fresh[["loan_id", "applied_on", "defaulted"]])  # the outcomes, weeks later
    snakemake(root, "all_weeks")
    evaluation = read(root, f"weeks/{new_week}/eval.json")
    assert evaluation["rows"] == 200 and evaluation["macro_f1"] > 0.5
    assert read(root, "reports/summary.json")["awaiting_outcomes"] == 0

    # the registered model takes what the weekly path takes: integer-coded regions included
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/credit-scoring@champion")
    rows = applications.drop(columns=["loan_id", "applied_on"]).head(5)
    assert rows["region"].dtype.kind == "i"
    served = model.predict(rows)
    assert list(served.columns) == ["proba_No", "proba_Yes", "prediction"]
    threshold = read(root, "models/last_retraining_date.json")["threshold"]  # binary: the saved decision threshold
    assert ((served["prediction"] == "Yes") == (served["proba_Yes"] >= threshold)).all()

    # scoring a batch by hand with the latest model
    applications.head(20).to_csv(root / "batch.csv", index=False)
    out = run(["python", "scripts/score_batch.py", "--table", "batch.csv", "--out", "scored.csv"], root)
    assert "scored 20 applications" in out.stdout
    scored = pd.read_csv(root / "scored.csv", dtype={"loan_id": str})
    expected = preds.set_index("loan_id").loc[scored["loan_id"]]
    np.testing.assert_allclose(scored["proba_Yes"], expected["proba_Yes"], rtol=1e-6)
    assert set(scored["model_version"].astype(str)) == set(preds["model_version"])


# --------------------------------------------------------- empty and lopsided weeks


def test_an_empty_week_and_a_lopsided_perfect_week_run_through(tmp_path):
    root = make_project(tmp_path / "lopsided", OWN)
    table = own_table("2022-01-16", "2022-03-06", 6)
    empty = TINY_WEEKS[4]
    table = table[pd.to_datetime(table["applied_on"]).dt.date.map(lambda d: weeks.week_of(d, "2022-01-16")) != empty]
    result = import_table(root, table)
    assert f"1 empty week(s): {empty}" in result.stdout
    snakemake(root, "all_weeks")
    ev = read(root, f"weeks/{empty}/eval.json")
    assert (ev["rows"], ev["applications"], ev["macro_f1"], ev["too_small"]) == (0, 0, None, True)
    assert pd.read_parquet(root / "weeks" / empty / "preds.parquet").empty

    # outcomes that arrive only for applications predicted "No", all of them right
    last = TINY_WEEKS[-1]
    preds = pd.read_parquet(root / "weeks" / last / "preds.parquet")
    right = preds[preds["prediction"] == "No"][["loan_id", "prediction"]].rename(columns={"prediction": "defaulted"})
    right.to_parquet(root / "data" / "raw" / "outcomes" / f"{last}.parquet", index=False)
    snakemake(root, "all_weeks")
    ev = read(root, f"weeks/{last}/eval.json")
    assert ev["macro_f1"] == 1.0 and ev["classes_present"] == ["No"] and ev["per_class"]["Yes"]["support"] == 0
    summary = read(root, "reports/summary.json")
    assert summary["too_small_weeks"] == 1 and summary["judged_alone_weeks"] == summary["judged_weeks"] == 7
    # the empty week retrained (time): its window cannot reach back past its new model, and says so
    empty_window = read(root, f"weeks/{empty}/eval.json")["pooled"]
    assert empty_window["weeks"] == [empty] and not empty_window["judged"]
    assert empty_window["why_not"].startswith("0 labelled rows")
    # the lopsided week holds no default: its window reaches back to the week before, which has some
    lopsided = read(root, f"weeks/{last}/eval.json")["pooled"]
    assert lopsided["weeks"] == [last, TINY_WEEKS[-2]] and lopsided["judged"] and lopsided["class_rows"]["Yes"] >= 10


def test_no_degenerate_candidate_is_ever_promoted(tmp_path):
    # Weeks of 60 applications with ~5 % defaults, and LightGBM asked for more rows a leaf
    # than the window has: it cannot split, predicts "No" for everyone (a validation macro
    # F1 that can still tie), and must never serve.
    root = make_project(tmp_path / "rare", {**OWN, "train": {"min_rows": 50, "min_class_rows": 5,
                                                             "lightgbm": {"min_data_in_leaf": 500}}})
    table = own_table("2022-01-16", "2022-03-06", 6, rows=60)
    poor = table["late_payments"].rank(pct=True) > 0.95
    table["defaulted"] = np.where(poor, "Yes", "No")
    import_table(root, table)
    snakemake(root, "all_weeks")
    retrained = 0
    for week in TINY_WEEKS:
        tracker = read(root, f"weeks/{week}/tracker.json")
        if tracker["retrained"]:
            retrained += 1
            winner = read(root, f"weeks/{week}/candidates/{tracker['model_type']}.json")
            assert winner["valid_metrics"]["predicted_classes"] == 2 and tracker["model_type"] == "catboost"
            assert set(tracker["selection"]["excluded"]) == {"lightgbm"}  # at every retraining
    assert retrained >= 3
    assert read(root, "weeks/2022-01-16/tracker.json")["selection"]["excluded"] == {
        "lightgbm": "predicts one class for all 120 validation rows"}


def test_a_window_too_small_keeps_the_serving_model(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "small")
    for week in TINY_WEEKS[:3]:  # only 10 outcomes have arrived for each of the first three weeks
        path = root / "data" / "raw" / "outcomes" / f"{week}.parquet"
        pd.read_parquet(path).head(10).to_parquet(path, index=False)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["min_rows"] = 1000  # the history before start has 1,200 training rows
    params["train"]["max_window_weeks"] = params["train"]["window_weeks"]  # a window that may not extend back
    write_params(root, params)
    snakemake(root, "all_weeks")
    decision = read(root, "weeks/2022-02-06/decision.json")
    assert decision["retrain"] is False and "time" in decision["reasons"]
    # the validation weeks reach back for evidence (3 of 10 outcomes each): 3 training weeks of 300 rows are left
    assert decision["guard"]["inputs"]["train_rows"] == 900
    assert decision["blocked"] == "900 training rows, fewer than train.min_rows 1000"
    tracker = read(root, "weeks/2022-02-06/tracker.json")
    assert tracker["model_version"] == "1" and "training blocked" in tracker["kept_because"]
    assert "2022-02-06  kept (time" in (root / "logs" / "evaluate" / "2022-02-06.log").read_text()


# ------------------------------------------------------------------------ import


def raw_state(root):
    return file_states(root, "data/raw/**/*")


@pytest.fixture()
def imported(tmp_path):
    root = make_project(tmp_path / "import", OWN)
    import_table(root, own_table("2022-01-16", "2022-01-23", 2, rows=30))
    return root


def table_with(edit):
    table = own_table("2022-01-16", "2022-01-30", 2, rows=30).reset_index(drop=True)
    return edit(table)


def bad_income(t):
    t["income"] = t["income"].astype(object)
    t.loc[5, "income"] = "?"
    return t


def unknown_label(t):
    t.loc[3, "defaulted"] = "Maybe"
    return t


def duplicate_id(t):
    t.loc[4, "loan_id"] = t.loc[2, "loan_id"]
    return t


def day_first(t):
    return t.assign(applied_on=pd.to_datetime(t["applied_on"]).dt.strftime("%d/%m/%Y"))


@pytest.mark.parametrize(
    "edit, extra, words",
    [
        (bad_income, [], ["row 7 (week ", "column 'income' value '?' is not a number"]),
        (unknown_label, [], ["row 5 (week ", "column 'defaulted' value 'Maybe' is not one of the classes"]),
        (duplicate_id, [], ["row 6 (week ", "is a duplicate id"]),
        (day_first, [], ["read day-first or month-first", "--date-format %d/%m/%Y"]),
        (lambda t: t.assign(notes="x"), [], ["unexpected column(s) 'notes'", "--drop"]),
        (lambda t: t, ["--sep", ";"], ["missing date column 'applied_on'", "--sep"]),
    ],
    ids=["not-a-number", "unknown-label", "duplicate-id", "ambiguous-dates", "extra-column", "wrong-separator"],
)
def test_an_import_mistake_is_one_line_and_writes_nothing(imported, edit, extra, words):
    root = imported
    before = raw_state(root)
    result = import_table(root, table_with(edit), *extra, check=False)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in message[0]
    assert raw_state(root) == before


def test_import_options_read_what_a_bank_exports(imported):
    root = imported
    table = day_first(table_with(lambda t: t.assign(notes="x")))
    table.to_csv(root / "export.csv", index=False, sep=";")
    run(["python", "scripts/import_table.py", "--table", "export.csv", "--sep", ";", "--date-format", "%d/%m/%Y",
         "--drop", "notes"], root)
    assert (root / "data" / "raw" / "applications" / "2022-01-30.parquet").is_file()


def test_importing_beside_generated_data_is_refused(tmp_path):
    root = make_project(tmp_path / "generated", {"data": {"columns": COLUMNS}})  # data.generate stays true
    result = import_table(root, own_table("2022-01-16", "2022-01-23", 2, rows=30), check=False)
    assert result.returncode == 1 and "data.generate is true" in result.stderr
    assert not (root / "data" / "raw").exists()


def test_yes_no_labels_read_as_booleans_get_a_hint(tmp_path):
    root = make_project(tmp_path / "yaml", OWN)
    text = (root / "params.yaml").read_text().replace("'No'", "No").replace("'Yes'", "Yes")
    (root / "params.yaml").write_text(text)
    assert "- No\n" in text
    result = run(["python", "scripts/import_table.py", "--table", "x.csv"], root, check=False)
    assert result.returncode != 0 and "quote the labels" in result.stderr
