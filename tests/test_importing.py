import pandas as pd
import pytest

from weekly.inputs.data import DataError
from weekly.inputs.importing import merge_outcomes, split_table

COLUMNS = {"id": "id", "date": "date", "target": "label", "classes": ["bad", "good"],
           "numeric": ["income"], "categorical": ["job"], "segments": {}, "protected": None}


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


# --------------------------------------------- bad tables: one line naming the file and the row

CSV_HEADER = "id,date,income,job,label\n"
GOOD_ROWS = ["a,2022-01-16,1.0,x,bad", "b,2022-01-17,2.0,y,good", "c,2022-01-24,3.0,,good"]


def with_row(index, row):
    rows = list(GOOD_ROWS)
    rows[index] = row
    return CSV_HEADER + "\n".join(rows) + "\n"


@pytest.mark.parametrize("text, words", [
    (with_row(1, "b,2022-01-17,inf,y,good"), "row 3 (week 2022-01-16): column 'income' value inf is not a finite"),
    (with_row(1, "b,2022-01-17,-inf,y,good"), "row 3 (week 2022-01-16): column 'income' value -inf is not a finite"),
    (with_row(2, "c,2022-01-24,1e999,,good"), "row 4 (week 2022-01-23): column 'income' value inf is not a finite"),
    (with_row(1, ",2022-01-17,2.0,y,good"), "row 3 (week 2022-01-16): column 'id' is a missing or empty id"),
    (with_row(0, " ,2022-01-16,1.0,x,bad"), "row 2 (week 2022-01-16): column 'id' is a missing or empty id"),
    (with_row(2, "a,2022-01-24,3.0,,good"), "row 4 (week 2022-01-23): column 'id' value 'a' is a duplicate id"),
    (with_row(1, "b,2022-01-17,two,y,good"), "row 3 (week 2022-01-16): column 'income' value 'two' is not a number"),
    (with_row(1, "b,2022-01-17,2.0,y,great"), "row 3 (week 2022-01-16): column 'label' value 'great' is not one of"),
    (with_row(1, "b,someday,2.0,y,good"), "row 3: column 'date' value 'someday' is not a date"),
    (with_row(1, "b,,2.0,y,good"), "row 3: column 'date' value nan is not a date"),
    ("id,date,label\na,2022-01-16,bad\n,2022-01-17,good\n", "row 3 (week 2022-01-16): column 'id' is a missing"),
    ("id,date,income,label\na,2022-01-16,1.0,bad\n", "missing column(s) 'job'"),
    ("id,date,income,job,label,notes\na,2022-01-16,1.0,x,bad,hi\n", "unexpected column(s) 'notes'"),
    ("id,date,income,job,label\na,16/01/2022,1.0,x,bad\n", "read day-first or month-first"),
], ids=["inf", "minus-inf", "overflow-to-inf", "missing-id", "blank-id", "duplicate-id", "not-a-number",
        "unknown-label", "not-a-date", "missing-date", "outcomes-only-missing-id", "missing-column", "extra-column",
        "ambiguous-date"])
def test_a_bad_table_is_one_line_naming_the_file_and_the_row(tmp_path, text, words):
    from weekly.inputs.importing import read_table

    path = tmp_path / "loans.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        split_table(read_table(path, COLUMNS), COLUMNS, "2022-01-16", str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert words in message, message


def test_large_and_negative_values_are_imported_as_they_are():
    # finite numbers are data: implausible ones are findings of params.yaml data.ranges, not errors
    odd = table(["bad", "good", None, None]).assign(income=[-40.0, 1e300, 3.0, 4.0])
    applications, _, _ = split_table(odd, COLUMNS, "2022-01-16", "t.csv")
    assert applications["2022-01-16"]["income"].tolist() == [-40.0, 1e300]


@pytest.fixture(scope="module")
def own_project(tmp_path_factory):
    """A tiny project for your own data (data.generate false): `weekly import` answers in seconds."""
    from helpers import make_project

    return make_project(tmp_path_factory.mktemp("own"), {"data": {"generate": False, "columns": COLUMNS}})


@pytest.mark.parametrize("row, words", [
    ("b,2022-01-17,inf,y,good", "loans.csv: row 3 (week 2022-01-16): column 'income' value inf is not a finite number"),
    (",2022-01-17,2.0,y,good", "loans.csv: row 3 (week 2022-01-16): column 'id' is a missing or empty id"),
], ids=["inf", "missing-id"])
def test_weekly_import_refuses_in_one_line_and_writes_nothing(own_project, row, words):
    from helpers import run

    (own_project / "loans.csv").write_text(with_row(1, row))
    result = run(["weekly", "import", "loans.csv"], own_project, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"weekly import: error: {words} (1 such row(s))"]
    assert not (own_project / "data" / "raw").exists()
