"""Tests for the synthetic weekly credit-application generator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from weekly.generate import DEFAULT_COLUMNS, RATE_SHOCK_DATE, generate_week

ROWS = 1500
SEED = 42
WEEK = dt.date(2022, 7, 3)  # a Sunday, like all week starts used here
ID, DATE, TARGET = DEFAULT_COLUMNS["id"], DEFAULT_COLUMNS["date"], DEFAULT_COLUMNS["target"]
CLASSES: list[str] = DEFAULT_COLUMNS["classes"]
NUMERIC: list[str] = DEFAULT_COLUMNS["numeric"]
CATEGORICAL: list[str] = DEFAULT_COLUMNS["categorical"]
FEATURES = NUMERIC + CATEGORICAL


# --------------------------------------------------------------------------- API


def test_default_columns_roles() -> None:
    assert ID == "application_id"
    assert DATE == "application_date"
    assert TARGET == "credit_score"
    assert CLASSES == ["Poor", "Standard", "Good"]
    assert not set(NUMERIC) & set(CATEGORICAL)
    assert 18 <= len(FEATURES) <= 24
    expected = {
        "age", "occupation", "annual_income", "monthly_inhand_salary", "num_bank_accounts",
        "num_credit_cards", "interest_rate", "num_of_loan", "delay_from_due_date",
        "num_of_delayed_payment", "num_credit_inquiries", "credit_mix", "outstanding_debt",
        "credit_utilization_ratio", "credit_history_age", "payment_of_min_amount",
        "total_emi_per_month", "amount_invested_monthly", "payment_behaviour", "monthly_balance",
    }
    assert set(FEATURES) == expected


def test_columns_and_dtypes_match_default_columns() -> None:
    df = generate_week(WEEK, ROWS, SEED)
    assert len(df) == ROWS
    assert set(df.columns) == {ID, DATE, TARGET, *FEATURES}
    assert len(df.columns) == len(set(df.columns))
    assert pd.api.types.is_datetime64_dtype(df[DATE])
    for name in NUMERIC:
        assert df[name].dtype == np.float64, name
    for name in [ID, TARGET, *CATEGORICAL]:
        assert pd.api.types.is_string_dtype(df[name]) or df[name].dtype == object, name
        assert not isinstance(df[name].dtype, pd.CategoricalDtype), name
        assert df[name].dropna().map(type).eq(str).all(), name


def test_empty_week_has_same_schema() -> None:
    empty = generate_week(WEEK, 0, SEED)
    full = generate_week(WEEK, 5, SEED)
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert pd.api.types.is_datetime64_dtype(empty[DATE])
    assert all(empty[name].dtype == np.float64 for name in NUMERIC)


def test_negative_rows_rejected() -> None:
    with pytest.raises(ValueError):
        generate_week(WEEK, -1, SEED)


# ------------------------------------------------------------------ determinism


def test_deterministic_for_same_arguments() -> None:
    first, second = generate_week(WEEK, ROWS, SEED), generate_week(WEEK, ROWS, SEED)
    pd.testing.assert_frame_equal(first, second)


def test_datetime_argument_equivalent_to_date() -> None:
    as_datetime = dt.datetime(WEEK.year, WEEK.month, WEEK.day, 13, 30)
    pd.testing.assert_frame_equal(
        generate_week(as_datetime, 200, SEED), generate_week(WEEK, 200, SEED)
    )


def test_different_weeks_and_seeds_differ() -> None:
    base = generate_week(WEEK, ROWS, SEED)
    next_week = generate_week(WEEK + dt.timedelta(days=7), ROWS, SEED)
    other_seed = generate_week(WEEK, ROWS, SEED + 1)
    for other in (next_week, other_seed):
        assert not np.allclose(base["annual_income"], other["annual_income"])
        assert not base[TARGET].equals(other[TARGET])
    assert not set(base[ID]) & set(next_week[ID])


def test_week_independent_of_generation_history() -> None:
    week_b = WEEK + dt.timedelta(days=28)
    alone = generate_week(week_b, ROWS, SEED)
    for week in (WEEK, WEEK + dt.timedelta(days=7), week_b + dt.timedelta(days=7)):
        generate_week(week, ROWS, SEED)
    after_others = generate_week(week_b, ROWS, SEED)
    pd.testing.assert_frame_equal(alone, after_others)


def test_global_numpy_random_state_untouched() -> None:
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    generate_week(WEEK, 100, SEED)
    np.testing.assert_array_equal(np.random.random(3), expected)


# ------------------------------------------------------------------- contents


@pytest.mark.parametrize(
    "week",
    [dt.date(2022, 1, 2), WEEK, RATE_SHOCK_DATE - dt.timedelta(days=3), dt.date(2024, 12, 29)],
)
def test_dates_inside_week_and_sorted(week: dt.date) -> None:
    df = generate_week(week, ROWS, SEED)
    dates = df[DATE]
    assert (dates >= pd.Timestamp(week)).all()
    assert (dates < pd.Timestamp(week + dt.timedelta(days=7))).all()
    assert dates.is_monotonic_increasing
    assert (dates == dates.dt.normalize()).all()
    assert dates.dt.date.nunique() == 7


def test_ids_unique_and_formatted() -> None:
    df = generate_week(WEEK, ROWS, SEED)
    assert df[ID].is_unique
    assert df[ID].iloc[0] == "20220703-00000"
    assert df[ID].str.fullmatch(r"20220703-\d{5}").all()


def test_only_three_labels_and_no_missing_labels() -> None:
    weeks = _weeks(dt.date(2023, 6, 4), 4)
    labels = pd.concat([generate_week(w, ROWS, SEED)[TARGET] for w in weeks])
    assert labels.notna().all()
    assert set(labels) == set(CLASSES)


@pytest.mark.parametrize(
    "week",
    [dt.date(2022, 1, 2), dt.date(2022, 10, 2), dt.date(2023, 3, 5), dt.date(2023, 9, 3),
     dt.date(2024, 6, 2), dt.date(2024, 12, 29)],
)
def test_class_shares_sensible(week: dt.date) -> None:
    shares = generate_week(week, 4000, SEED)[TARGET].value_counts(normalize=True)
    assert 0.40 <= shares["Standard"] <= 0.60
    assert 0.15 <= shares["Poor"] <= 0.45
    assert 0.08 <= shares["Good"] <= 0.35


def test_class_shares_on_average() -> None:
    labels = pd.concat(
        [generate_week(dt.date(2022, 1, 2) + dt.timedelta(weeks=k), 500, SEED)[TARGET]
         for k in range(0, 156, 4)]
    )
    shares = labels.value_counts(normalize=True)
    assert shares["Standard"] == pytest.approx(0.50, abs=0.05)
    assert shares["Poor"] == pytest.approx(0.30, abs=0.06)
    assert shares["Good"] == pytest.approx(0.20, abs=0.05)


def test_missing_values_present_but_few() -> None:
    df = generate_week(WEEK, ROWS, SEED)
    rates = df.isna().mean()
    numeric_missing = [c for c in NUMERIC if rates[c] > 0]
    categorical_missing = [c for c in CATEGORICAL if rates[c] > 0]
    assert len(numeric_missing) >= 3
    assert len(categorical_missing) >= 2
    assert rates.max() < 0.10
    assert rates[[ID, DATE, TARGET]].eq(0).all()


def test_feature_ranges_plausible() -> None:
    df = generate_week(WEEK, ROWS, SEED)
    assert df["age"].between(18, 75).all()
    assert (df["age"] == df["age"].round()).all()
    assert (df["annual_income"] > 0).all()
    salary = df["monthly_inhand_salary"]
    assert (salary[salary.notna()] < df.loc[salary.notna(), "annual_income"] / 12).all()
    assert (df["delay_from_due_date"] >= 0).all()
    assert df["credit_utilization_ratio"].between(0, 100).all()
    assert (df["total_emi_per_month"] >= 0).all()
    assert df["occupation"].nunique() == 12
    assert set(df["credit_mix"].dropna()) == {"Bad", "Standard", "Good"}
    assert set(df["payment_of_min_amount"].dropna()) == {"Yes", "No", "NM"}
    assert df["payment_behaviour"].nunique() == 6


def test_features_correlated_with_label() -> None:
    df = generate_week(WEEK, 4000, SEED)
    y = df[TARGET].map({c: i for i, c in enumerate(CLASSES)})
    assert df["delay_from_due_date"].corr(y) < -0.2
    assert df["credit_utilization_ratio"].corr(y) < -0.05


def test_income_inflates_over_time() -> None:
    early = generate_week(dt.date(2022, 1, 2), 5000, SEED)["annual_income"].median()
    late = generate_week(dt.date(2024, 12, 29), 5000, SEED)["annual_income"].median()
    assert 1.03 < late / early < 1.16


def test_rate_shock_raises_interest_rates() -> None:
    before = generate_week(RATE_SHOCK_DATE - dt.timedelta(days=7), 3000, SEED)
    after = generate_week(RATE_SHOCK_DATE, 3000, SEED)
    assert after["interest_rate"].median() - before["interest_rate"].median() > 3.0


def test_default_columns_match_params_yaml_and_schema(repo_root) -> None:
    from weekly.config import load_params, validate_params

    assert load_params(repo_root / "params.yaml")["data"]["columns"] == dict(DEFAULT_COLUMNS)
    assert validate_params({})["data"]["columns"] == dict(DEFAULT_COLUMNS)


def test_generated_week_passes_the_raw_file_checks() -> None:
    from weekly.data import application_columns, check_applications, check_outcomes, outcome_columns

    columns = dict(DEFAULT_COLUMNS)
    week = generate_week(WEEK, ROWS, SEED)
    assert len(check_applications(week[application_columns(columns)], columns, "generated", WEEK.isoformat())) == ROWS
    assert len(check_outcomes(week[outcome_columns(columns)], columns, "generated", WEEK.isoformat())) == ROWS


# ------------------------------------------------------------------------ drift


def _weeks(end: dt.date, count: int) -> list[dt.date]:
    """The `count` weekly starts strictly before `end`, oldest first."""
    return [end - dt.timedelta(weeks=k) for k in range(count, 0, -1)]


def _xy(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    x = df[FEATURES].copy()
    for name in CATEGORICAL:
        x[name] = x[name].astype("category")
    y = df[TARGET].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    return x, y


@pytest.fixture(scope="module")
def week_data() -> Callable[[dt.date], pd.DataFrame]:
    cache: dict[dt.date, pd.DataFrame] = {}

    def get(week: dt.date) -> pd.DataFrame:
        if week not in cache:
            cache[week] = generate_week(week, ROWS, SEED)
        return cache[week]

    return get


def _train(get: Callable[[dt.date], pd.DataFrame], end: dt.date) -> lgb.Booster:
    """LightGBM on the 20 weeks before `end`."""
    x, y = _xy(pd.concat([get(w) for w in _weeks(end, 20)], ignore_index=True))
    params = {"objective": "multiclass", "num_class": 3, "num_threads": 1, "verbose": -1, "seed": 0}
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=100)


def _macro_f1(model: lgb.Booster, df: pd.DataFrame) -> float:
    x, y = _xy(df)
    return float(f1_score(y, model.predict(x).argmax(axis=1), average="macro"))


@pytest.mark.parametrize(
    "train_end, later",
    [
        (dt.date(2022, 7, 3), dt.date(2023, 1, 1)),  # gradual drift only
        (dt.date(2023, 1, 29), dt.date(2023, 7, 30)),  # across the rate shock
    ],
    ids=["gradual", "rate-shock"],
)
def test_frozen_model_degrades_and_retraining_recovers(
    week_data: Callable[[dt.date], pd.DataFrame], train_end: dt.date, later: dt.date
) -> None:
    assert (later - train_end).days == 26 * 7
    frozen = _train(week_data, train_end)
    fresh_f1 = _macro_f1(frozen, week_data(train_end))
    frozen_f1 = _macro_f1(frozen, week_data(later))
    retrained_f1 = _macro_f1(_train(week_data, later), week_data(later))

    labels = week_data(train_end)[TARGET]
    majority_f1 = f1_score(labels, [labels.mode()[0]] * len(labels), average="macro")
    assert 0.65 <= fresh_f1 <= 0.90
    assert fresh_f1 > majority_f1 + 0.3
    assert fresh_f1 - frozen_f1 >= 0.05, (fresh_f1, frozen_f1)
    assert retrained_f1 - frozen_f1 >= 0.05, (retrained_f1, frozen_f1)
    assert retrained_f1 >= 0.65
