import numpy as np
import pandas as pd
import pytest

from weekly.data import DataError, check_week_frame, read_week, split_by_week

COLUMNS = {
    "id": "id",
    "date": "date",
    "target": "label",
    "classes": ["bad", "good"],
    "numeric": ["income"],
    "categorical": ["job"],
}
WEEK = "2022-01-16"


def frame(**overrides):
    base = pd.DataFrame({
        "id": ["a", "b", "c"],
        "date": pd.to_datetime(["2022-01-16", "2022-01-18", "2022-01-22T23:00"], format="ISO8601"),
        "income": [1.0, np.nan, 3],
        "job": ["x", None, "y"],
        "label": ["bad", "good", "good"],
    })
    return base.assign(**overrides)


def check(f):
    return check_week_frame(f, COLUMNS, "data/raw/2022-01-16.parquet", WEEK)


def test_valid_frame_is_normalised():
    out = check(frame(income=[1, 2, 3]))
    assert out["income"].dtype == "float64"
    assert out["job"].tolist() == ["x", None, "y"]
    assert out["label"].tolist() == ["bad", "good", "good"]


def test_integer_labels_match_string_classes():
    cols = {**COLUMNS, "classes": [0, 1]}
    out = check_week_frame(frame(label=[0, 1, 1]), cols, "f.parquet", WEEK)
    assert out["label"].tolist() == ["0", "1", "1"]


@pytest.mark.parametrize(
    "bad, words",
    [
        (frame().iloc[0:0], ["no rows"]),
        (frame().drop(columns=["income"]), ["missing column", "'income'"]),
        (frame(extra=1), ["unexpected column", "'extra'"]),
        (frame(income=["1", "2", "3"]), ["'income'", "dtype", "numeric"]),
        (frame(date=["2022-01-16"] * 3), ["'date'", "dtype"]),
        (frame(date=pd.to_datetime(["2022-01-16", "2022-01-23", "2022-01-17"])), ["'date'", "outside the week"]),
        (frame(label=["bad", "excellent", "good"]), ["'label'", "unknown class label", "excellent"]),
        (frame(label=["bad", None, "good"]), ["'label'", "missing label"]),
        (frame(id=["a", "a", "c"]), ["'id'", "duplicate"]),
    ],
)
def test_bad_input_names_file_week_and_column(bad, words):
    with pytest.raises(DataError) as err:
        check(bad)
    message = str(err.value)
    assert "data/raw/2022-01-16.parquet" in message and "week 2022-01-16" in message
    for word in words:
        assert word in message


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="missing week file"):
        read_week(tmp_path / "2022-01-16.parquet", WEEK, COLUMNS)
    broken = tmp_path / "2022-01-16.parquet"
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match=r"2022-01-16\.parquet \(week 2022-01-16\): unreadable"):
        read_week(broken, WEEK, COLUMNS)


def test_read_week_round_trip(tmp_path):
    path = tmp_path / "w.parquet"
    frame().to_parquet(path)
    assert len(read_week(path, WEEK, COLUMNS)) == 3


def test_split_by_week_aligns_on_start():
    table = pd.DataFrame({"date": ["2022-01-10", "2022-01-16", "2022-01-22", "2022-01-23"], "v": [1, 2, 3, 4]})
    parts = split_by_week(table, "date", WEEK)
    assert list(parts) == ["2022-01-09", "2022-01-16", "2022-01-23"]
    assert parts["2022-01-16"]["v"].tolist() == [2, 3]
    assert pd.api.types.is_datetime64_any_dtype(parts["2022-01-16"]["date"])


def test_categorical_values_are_strings_with_none_for_missing():
    from weekly.data import categorical_values

    values = pd.Series(["a", None, np.nan, 3, pd.NA], dtype=object)
    assert categorical_values(values).tolist() == ["a", None, None, "3", None]
