import numpy as np
import pandas as pd
import pytest

from weekly.inputs.data import (
    DataError,
    application_columns,
    check_applications,
    check_outcomes,
    check_raw_folder,
    outcome_columns,
    read_applications,
    read_labelled_weeks,
    read_outcomes,
    read_training_window,
)

COLUMNS = {
    "id": "id",
    "date": "date",
    "target": "label",
    "classes": ["bad", "good"],
    "numeric": ["income"],
    "categorical": ["job"],
}
WEEK = "2022-01-16"
SOURCE = "data/raw/applications/2022-01-16.parquet"


def frame(**overrides):
    base = pd.DataFrame({
        "id": ["a", "b", "c"],
        "date": pd.to_datetime(["2022-01-16", "2022-01-18", "2022-01-22T23:00"], format="ISO8601"),
        "income": [1.0, np.nan, 3],
        "job": ["x", None, "y"],
        "label": ["bad", "good", "good"],
    })
    return base.assign(**overrides)


def applications(**overrides):
    return frame(**overrides).drop(columns=["label"])


def outcomes(**overrides):
    return frame(**overrides)[["id", "label"]]


def test_valid_applications_are_normalised():
    out = check_applications(applications(income=[1, 2, 3]), COLUMNS, SOURCE, WEEK)
    assert out["income"].dtype == "float64"
    assert out["job"].tolist() == ["x", None, "y"]
    assert list(out.columns) == application_columns(COLUMNS)


def test_a_week_without_applications_is_legal():
    assert check_applications(applications().iloc[0:0], COLUMNS, SOURCE, WEEK).empty


@pytest.mark.parametrize("labels", [[0, 1, 1], [0.0, 1.0, 1.0], ["0", "1", "1"]])
def test_integer_labels_match_integer_classes(labels):
    cols = {**COLUMNS, "classes": [0, 1]}
    out = check_outcomes(outcomes(label=labels), cols, "f.parquet", WEEK)
    assert out["label"].tolist() == ["0", "1", "1"]


def test_integer_coded_categoricals_read_the_same_with_or_without_gaps():
    with_gap = check_applications(applications(job=[3.0, np.nan, 7.0]), COLUMNS, SOURCE, WEEK)
    ints = check_applications(applications(job=[3, 5, 7]), COLUMNS, SOURCE, WEEK)
    assert with_gap["job"].tolist() == ["3", None, "7"] and ints["job"].tolist() == ["3", "5", "7"]


@pytest.mark.parametrize(
    "bad, words",
    [
        (applications().drop(columns=["income"]), ["missing column", "'income'"]),
        (applications(extra=1), ["unexpected column", "'extra'"]),
        (frame(), ["unexpected column", "'label'"]),  # outcomes belong in their own file
        (applications(income=["1", "2", "3"]), ["'income'", "dtype", "numeric"]),
        (applications(date=["2022-01-16"] * 3), ["'date'", "dtype"]),
        (applications(date=pd.to_datetime(["2022-01-16", "2022-01-23", "2022-01-17"])), ["'date'", "outside the week"]),
        (applications(id=["a", "a", "c"]), ["'id'", "duplicate"]),
        # issue 23: once trained on, registered, or scored and then blamed on the outcomes
        (applications(income=[1.0, np.inf, 3]), ["row 2: column 'income' value inf is not a finite number"]),
        (applications(income=[-np.inf, 2.0, 3]), ["row 1: column 'income' value -inf is not a finite number"]),
        (applications(income=np.array([1, 2, np.inf], dtype="float32")), ["row 3: column 'income'", "finite"]),
        (applications(id=["a", None, "c"]), ["row 2: column 'id' is a missing or empty id (1 such row(s))"]),
        (applications(id=["a", "b", ""]), ["row 3: column 'id' is a missing or empty id"]),
        (applications(id=["a", "  ", "c"]), ["row 2: column 'id'", "missing or empty id"]),
        (applications(id=[1.0, np.nan, 3.0]), ["row 2: column 'id' is a missing or empty id"]),
        (applications(id=pd.array(["a", pd.NA, "c"], dtype="string")), ["row 2: column 'id'", "missing or empty"]),
        (applications(id=[7, 7, 8]), ["row 2: column 'id' value '7' is a duplicate id (1 such row(s))"]),
        (applications(id=[3, "3", 4]), ["row 2: column 'id' value '3' is a duplicate id"]),  # the same id as text
        (applications(income=[True, False, True]), ["'income'", "dtype bool", "expected a numeric dtype"]),
        (applications(income=["1", None, "3"]), ["'income'", "expected a numeric dtype"]),
        (applications(date=pd.to_datetime(["2022-01-16", None, "2022-01-17"])), ["'date'", "outside the week"]),
        (applications(job=[1, 2, 3]).drop(columns=["job"]).assign(job2="x"), ["missing column", "'job'"]),
    ],
)
def test_bad_applications_name_file_week_and_column(bad, words):
    with pytest.raises(DataError) as err:
        check_applications(bad, COLUMNS, SOURCE, WEEK)
    message = str(err.value)
    assert SOURCE in message and "week 2022-01-16" in message and "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    "bad, words",
    [
        (outcomes(label=["bad", "excellent", "good"]), ["'label'", "unknown class label", "excellent"]),
        (outcomes(label=["bad", None, "good"]), ["'label'", "missing label"]),
        (outcomes(id=["a", "a", "c"]), ["'id'", "duplicate"]),
        (outcomes().drop(columns=["label"]), ["missing column", "'label'"]),
        (outcomes(id=["a", None, "c"]), ["row 2: column 'id' is a missing or empty id"]),
        (outcomes(id=["", "b", "c"]), ["row 1: column 'id' is a missing or empty id"]),
        (outcomes(label=["bad", "good", 2]), ["'label'", "unknown class label", "'2'"]),
        (outcomes().assign(extra=1), ["unexpected column", "'extra'"]),
    ],
)
def test_bad_outcomes_name_file_week_and_column(bad, words):
    with pytest.raises(DataError) as err:
        check_outcomes(bad, COLUMNS, "outcomes.parquet", WEEK)
    assert "\n" not in str(err.value)
    for word in ["outcomes.parquet", "week 2022-01-16", *words]:
        assert word in str(err.value)


def test_implausible_but_finite_values_are_legal_data_and_range_findings():
    # 1e300 and a negative age are numbers: refusing them would stop a week on one odd row.
    # Outside a configured range (params.yaml data.ranges) they are data-quality findings.
    from weekly.inputs.data import range_findings

    rows = check_applications(applications(income=[-5.0, 1e300, np.nan]), COLUMNS, SOURCE, WEEK)
    assert rows["income"].tolist()[:2] == [-5.0, 1e300]
    assert range_findings(rows, {}) == []
    assert range_findings(rows, {"income": {"min": 0, "max": 1e9}}) == [{
        "column": "income", "rows": 2, "share": 2 / 3, "first_row": 1, "min_seen": -5.0, "max_seen": 1e300,
        "min": 0, "max": 1e9,
    }]
    assert [f["rows"] for f in range_findings(rows, {"income": {"min": 0}})] == [1]  # one bound alone
    assert range_findings(rows, {"income": {"max": 1e301}}) == []  # every value inside: no finding
    assert range_findings(rows, {"age": {"min": 18}}) == []  # a column the frame lacks
    assert range_findings(rows.iloc[0:0], {"income": {"min": 0}}) == []  # an empty week
    assert range_findings(pd.DataFrame({"income": [np.nan, np.nan]}), {"income": {"min": 0}}) == []


def test_range_findings_leave_their_frame_alone():
    from weekly.inputs.data import range_findings

    rows = pd.DataFrame({"age": [17.0, 30.0, 130.0], "income": [1.0, 2.0, 3.0]})
    before = rows.copy()
    findings = range_findings(rows, {"age": {"min": 18, "max": 100}, "income": {"min": 0}})
    assert [(f["column"], f["rows"], f["first_row"]) for f in findings] == [("age", 2, 1)]
    pd.testing.assert_frame_equal(rows, before)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="missing week file"):
        read_applications(tmp_path / "2022-01-16.parquet", WEEK, COLUMNS)
    broken = tmp_path / "2022-01-16.parquet"
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match=r"2022-01-16\.parquet \(week 2022-01-16\): unreadable"):
        read_outcomes(broken, WEEK, COLUMNS)


def test_labelled_weeks_join_outcomes_to_applications(tmp_path):
    apps, outs = tmp_path / "a.parquet", tmp_path / "o.parquet"
    applications().to_parquet(apps)
    outcomes().iloc[[2, 0]].to_parquet(outs)  # outcomes may come late for some rows, in any order
    joined = read_labelled_weeks([str(apps)], [str(outs)], [WEEK], COLUMNS)
    assert joined["id"].tolist() == ["a", "c"] and joined["label"].tolist() == ["bad", "good"]
    outcomes(id=["a", "b", "zz"]).to_parquet(outs)
    with pytest.raises(DataError, match="1 outcome\\(s\\) for no application of the week, e.g. id 'zz'"):
        read_labelled_weeks([str(apps)], [str(outs)], [WEEK], COLUMNS)


def test_a_training_window_holds_the_same_rows_as_categories_without_ids(tmp_path):
    # weeks whose categoricals differ (one only in the second week, integer codes in a
    # third), missing values, and an empty week: the same values as read_labelled_weeks
    weeks = ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06"]
    kinds = [frame(), frame(job=["z", "x", None], id=["d", "e", "f"]), frame(job=[3, 3.0, None], id=["g", "h", "i"]),
             frame().iloc[:0]]
    paths = []
    for i, (week, rows) in enumerate(zip(weeks, kinds)):
        rows = rows.assign(date=rows["date"] + pd.Timedelta(days=7 * i))
        apps, outs = tmp_path / f"a{i}.parquet", tmp_path / f"o{i}.parquet"
        rows.drop(columns=["label"]).to_parquet(apps)
        rows[["id", "label"]].to_parquet(outs)
        paths.append((str(apps), str(outs)))
    args = ([a for a, _ in paths], [o for _, o in paths], weeks, COLUMNS)
    plain, compact = read_labelled_weeks(*args), read_training_window(*args)
    assert "id" not in compact.columns and len(compact) == len(plain) == 9
    for col in ("job", "label"):
        assert isinstance(compact[col].dtype, pd.CategoricalDtype)
        assert compact[col].astype(object).where(compact[col].notna(), None).tolist() == plain[col].tolist()
    assert list(compact["job"].cat.categories) == ["3", "x", "y", "z"]
    pd.testing.assert_frame_equal(compact[["date", "income"]], plain[["date", "income"]])


def test_categorical_values_are_strings_with_none_for_missing():
    from weekly.inputs.data import categorical_values

    values = pd.Series(["a", None, np.nan, 3, pd.NA], dtype=object)
    assert categorical_values(values).tolist() == ["a", None, None, "3", None]
    # a string column (Parquet's, CSV's) takes a shorter way to the same answer
    for dtype in ("str", "string", "string[pyarrow]"):
        text = pd.Series(["a", None, "3"], dtype=dtype)
        assert categorical_values(text).tolist() == ["a", None, "3"], dtype
        assert categorical_values(text).dtype == object, dtype


def test_the_raw_folder_of_the_former_layout_is_refused(tmp_path):
    (tmp_path / "2022-01-16.parquet").write_bytes(b"")
    with pytest.raises(DataError, match="one-file-per-week layout"):
        check_raw_folder(str(tmp_path), COLUMNS, generate=False)


def test_generating_beside_own_files_is_refused(tmp_path):
    (tmp_path / "applications").mkdir()
    applications().assign(extra=1).to_parquet(tmp_path / "applications" / f"{WEEK}.parquet")
    with pytest.raises(DataError, match="data.generate is true"):
        check_raw_folder(str(tmp_path), COLUMNS, generate=True)
    check_raw_folder(str(tmp_path), COLUMNS, generate=False)
    assert outcome_columns(COLUMNS) == ["id", "label"]
