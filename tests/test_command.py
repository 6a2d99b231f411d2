"""The `weekly` command, installed by pip, run as a person would on the tiny backfill."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from helpers import TINY_RETRAIN_WEEKS, TINY_WEEKS, run


def weekly(root, *args, check=True):
    return run(["weekly", *args], root, check=check)


def test_status_says_where_the_chain_stands_and_what_the_next_decision_sees(backfill):
    root, _ = backfill
    answer = json.loads(weekly(root, "status", "--json").stdout)
    last = json.loads((root / "weeks" / TINY_WEEKS[-1] / "tracker.json").read_text())
    assert (answer["weeks"], answer["done"], answer["pending"], answer["last_done"]) == (8, 8, [], TINY_WEEKS[-1])
    assert answer["serving"]["model_version"] == last["model_version"]
    assert answer["retrainings"] == len(TINY_RETRAIN_WEEKS)
    following = answer["next_week"]
    assert following["week"] == "2022-03-13" and not following["in_chain"]
    assert following["evaluations_it_sees"] == [TINY_WEEKS[-1]]
    time = following["triggers"]["time"]
    assert time["inputs"]["days_since_last_retraining"] == 14 and time["fired"] is False  # retrained 2022-02-27
    text = weekly(root, "status").stdout
    assert "8 of 8 weeks done" in text and f"version {last['model_version']}" in text and "next week 2022-03-13" in text


def test_explain_says_who_served_a_week_and_why(backfill):
    root, _ = backfill
    week = TINY_RETRAIN_WEEKS[1]
    answer = json.loads(weekly(root, "explain", week, "--json").stdout)
    tracker = json.loads((root / "weeks" / week / "tracker.json").read_text())
    evaluation = json.loads((root / "weeks" / week / "eval.json").read_text())
    assert answer["retrained"] and "time" in answer["reasons"]
    assert answer["serving"]["model_version"] == tracker["model_version"]
    assert answer["selection"]["winner"] == tracker["model_type"]
    assert answer["evaluation"]["macro_f1"] == pytest.approx(evaluation["macro_f1"])
    text = weekly(root, "explain", week).stdout
    assert f"week {week}: retrained" in text and "selection:" in text and "time         FIRED" in text
    assert f"serving since {week}" in text and "note:" not in text  # the chain's files are its own
    quiet = weekly(root, "explain", TINY_WEEKS[1]).stdout
    assert f"week {TINY_WEEKS[1]}: kept the serving model (no retraining due)" in quiet
    assert f"serving since {TINY_WEEKS[0]}" in quiet and "selection:" not in quiet  # week 1's is not this week's


def test_a_question_the_files_cannot_answer_is_one_line_and_exit_status_1(backfill, tmp_path):
    root, _ = backfill
    wrong = weekly(root, "explain", "2022-01-17", check=False)
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.strip().splitlines() == [
        "weekly explain: error: 2022-01-17 is not a week of the chain: weeks run every 7 days from 2022-01-16 "
        "to 2022-03-06 (params.yaml)"]
    later = yaml.safe_load((root / "params.yaml").read_text())
    later["end"] = "2022-03-13"
    (tmp_path / "later.yaml").write_text(yaml.safe_dump(later))
    pending = weekly(root, "explain", "2022-03-13", "--params", str(tmp_path / "later.yaml"), check=False)
    assert pending.returncode == 1 and "week 2022-03-13 has not run yet" in pending.stderr
    assert weekly(root, "status", "--params", str(tmp_path / "missing.yaml"), check=False).returncode == 1
    assert weekly(root, check=False).returncode == 2  # no command: usage


def test_score_writes_one_prediction_per_application(backfill, tmp_path):
    root, _ = backfill
    table = pd.read_parquet(root / "data/raw/applications" / f"{TINY_WEEKS[-1]}.parquet").head(25)
    table.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "scored.csv"
    answer = json.loads(weekly(root, "score", str(tmp_path / "new.csv"), "--out", str(out), "--json").stdout)
    last = json.loads((root / "models/last_retraining_date.json").read_text())
    scored = pd.read_csv(out)
    assert answer["scored"] == len(scored) == 25
    assert (scored["model_version"].astype(str) == str(last["model_version"])).all()
    assert scored["application_id"].tolist() == table["application_id"].tolist()
    # the model that served an earlier week, through that week's tracker
    week = TINY_WEEKS[4]
    served = json.loads((root / "weeks" / week / "tracker.json").read_text())["model_version"]
    weekly(root, "score", str(tmp_path / "new.csv"), "--week", week, "--out", str(out))
    assert (pd.read_csv(out)["model_version"].astype(str) == str(served)).all()


@pytest.mark.parametrize("command", ["status", "explain", "score", "import", "policies", "portfolios", "lifecycle"])
def test_every_command_has_help(backfill, command):
    assert "usage: weekly " + command in weekly(backfill[0], command, "--help").stdout


def test_the_queries_import_no_heavy_library(backfill):
    # what makes `weekly status` answer at once: no pandas, MLflow, scikit-learn or model library
    probe = ("import sys; from weekly.commands.command import main; main(['status']); main(['explain', '2022-02-06']); "
             "print(sorted({'pandas', 'mlflow', 'sklearn', 'lightgbm', 'catboost', 'snakemake'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=backfill[0], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
