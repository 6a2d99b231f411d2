import pandas as pd
import pytest

from weekly.data import DataError
from weekly.importing import merge_outcomes, split_table

COLUMNS = {"id": "id", "date": "date", "target": "label", "classes": ["bad", "good"],
           "numeric": ["income"], "categorical": ["job"]}


def table(labels):
    return pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "date": ["2022-01-16", "2022-01-17", "2022-01-24", "2022-02-07"],
        "income": [1.0, 2.0, 3.0, 4.0],
        "job": ["x", 3, None, "y"],
        "label": labels,
    })


def test_a_week_without_a_label_yet_gets_no_outcomes_file():
    applications, outcomes, empty = split_table(table(["bad", None, None, None]), COLUMNS, "2022-01-16", "t.csv")
    assert list(applications) == ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06"]
    assert empty == ["2022-01-30"]
    # week 1 has one outcome of two; weeks 2 and 4 wait; the empty week 3 is complete
    assert sorted(outcomes) == ["2022-01-16", "2022-01-30"]
    assert outcomes["2022-01-16"]["id"].tolist() == ["a"] and outcomes["2022-01-30"].empty
    assert applications["2022-01-16"]["job"].tolist() == ["x", "3"]


def test_a_table_of_outcomes_only():
    only = table(["bad", "good", "good", None])[["id", "date", "label"]]
    applications, outcomes, _ = split_table(only, COLUMNS, "2022-01-16", "t.csv")
    assert applications == {} and outcomes["2022-01-16"]["label"].tolist() == ["bad", "good"]


def test_outcomes_arriving_in_batches_join_and_are_never_revised():
    week = "2022-01-16"
    first = pd.DataFrame({"id": ["a"], "label": ["bad"]})
    merged = merge_outcomes(first, pd.DataFrame({"id": ["a", "b"], "label": ["bad", "good"]}), COLUMNS, "t.csv", week)
    assert merged["id"].tolist() == ["a", "b"]
    with pytest.raises(DataError, match="the outcome of id 'a' changes from 'bad' to 'good'"):
        merge_outcomes(first, pd.DataFrame({"id": ["a"], "label": ["good"]}), COLUMNS, "t.csv", week)
