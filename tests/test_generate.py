"""Tests for the synthetic weekly credit-application generator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from weekly.inputs.generate import DEFAULT_COLUMNS, RATE_SHOCK_DATE, generate_week

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

    # the column roles; the segments are a choice of the example params.yaml (the schema's default: none)
    roles = {k: v for k, v in load_params(repo_root / "params.yaml")["data"]["columns"].items()
             if k not in ("segments", "protected")}
    assert roles == dict(DEFAULT_COLUMNS)
    assert validate_params({})["data"]["columns"] == {**DEFAULT_COLUMNS, "segments": {}, "protected": None}


def test_generated_week_passes_the_raw_file_checks() -> None:
    from weekly.inputs.data import application_columns, check_applications, check_outcomes, outcome_columns

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


# ------------------------------------------------- modes: stationary, binary, classes

BINARY = ("No", "Yes")
FAR_WEEKS = (dt.date(2022, 1, 16), dt.date(2024, 12, 29))
BIG = 20_000


def test_default_mode_byte_identical_to_original() -> None:
    """Pinned before the modes were added: the default output must never change."""
    import hashlib

    csv = generate_week(dt.date(2023, 3, 5), 50, 7).to_csv()
    assert hashlib.sha256(csv.encode()).hexdigest() == (
        "28a592301a157145ab3aacdfaaf5dc0c587fa1665e0935caeceee6c882a5f9ad"
    )
    explicit = generate_week(
        dt.date(2023, 3, 5), 50, 7, drift=True, event_rate=None, classes=["Poor", "Standard", "Good"]
    )
    assert explicit.to_csv() == csv


@pytest.fixture(scope="module")
def far_weeks() -> dict[bool, tuple[pd.DataFrame, pd.DataFrame]]:
    return {drift: tuple(generate_week(w, BIG, SEED, drift=drift) for w in FAR_WEEKS) for drift in (False, True)}


def _mean_gap_in_se(a: pd.Series, b: pd.Series) -> float:
    """Difference of means in units of its standard error."""
    a, b = a.dropna(), b.dropna()
    return float(abs(a.mean() - b.mean()) / np.sqrt(a.var() / len(a) + b.var() / len(b)))


def test_stationary_far_weeks_have_same_feature_distributions(far_weeks) -> None:
    early, late = far_weeks[False]
    for name in ("interest_rate", "annual_income", "credit_utilization_ratio", "delay_from_due_date"):
        assert _mean_gap_in_se(early[name], late[name]) < 4.0, name
    # Contrast: with drift the same weeks differ far beyond sampling error.
    early_d, late_d = far_weeks[True]
    assert late_d["interest_rate"].mean() - early_d["interest_rate"].mean() > 6.0
    assert late_d["annual_income"].mean() / early_d["annual_income"].mean() > 1.05
    assert _mean_gap_in_se(early_d["interest_rate"], late_d["interest_rate"]) > 50


def test_stationary_far_weeks_have_same_label_shares(far_weeks) -> None:
    early, late = (df[TARGET].value_counts(normalize=True) for df in far_weeks[False])
    se = np.sqrt(2 * 0.25 / BIG)
    for label in CLASSES:
        assert abs(early[label] - late[label]) < 4 * se, label
    early_d, late_d = (df[TARGET].value_counts(normalize=True) for df in far_weeks[True])
    assert max(abs(early_d[c] - late_d[c]) for c in CLASSES) > 0.05


def test_stationary_has_no_rate_shock() -> None:
    before, after = RATE_SHOCK_DATE - dt.timedelta(days=7), RATE_SHOCK_DATE
    jump = {
        drift: generate_week(after, BIG, SEED, drift=drift)["interest_rate"].mean()
        - generate_week(before, BIG, SEED, drift=drift)["interest_rate"].mean()
        for drift in (False, True)
    }
    assert abs(jump[False]) < 0.15
    assert 5.0 < jump[True] < 7.0


def test_stationary_weeks_differ_by_sampling_and_keep_their_dates() -> None:
    week_a, week_b = dt.date(2022, 1, 16), dt.date(2022, 1, 23)
    a = generate_week(week_a, ROWS, SEED, drift=False)
    b = generate_week(week_b, ROWS, SEED, drift=False)
    assert not np.allclose(a["annual_income"], b["annual_income"])
    for week, df in ((week_a, a), (week_b, b)):
        assert df[DATE].between(pd.Timestamp(week), pd.Timestamp(week + dt.timedelta(days=6))).all()
        assert df[ID].str.startswith(f"{week:%Y%m%d}-").all()
    assert list(a.columns) == list(generate_week(week_a, 5, SEED).columns)


def test_binary_stationary_event_share_matches_event_rate() -> None:
    weeks = [dt.date(2022, 1, 2) + dt.timedelta(weeks=8 * k) for k in range(20)]
    frames = [generate_week(w, 5000, k, drift=False, event_rate=0.03, classes=BINARY) for k, w in enumerate(weeks)]
    labels = pd.concat([df[TARGET] for df in frames])
    assert len(labels) == 100_000
    assert set(labels) == set(BINARY)
    assert labels.eq("Yes").mean() == pytest.approx(0.03, abs=0.005)
    # The cut-off does not adapt to each week: weekly shares vary by sampling.
    weekly = [df[TARGET].eq("Yes").mean() for df in frames]
    assert len(set(weekly)) > 5
    assert all(0.015 < share < 0.045 for share in weekly)


def test_binary_labels_are_the_given_names_and_event_is_bad_credit() -> None:
    df = generate_week(WEEK, BIG, SEED, drift=False, event_rate=0.1, classes=("keep", "default"))
    assert set(df[TARGET]) == {"keep", "default"}
    assert df[TARGET].notna().all()
    event = df[TARGET] == "default"
    assert 0.08 < event.mean() < 0.12
    for name in ("delay_from_due_date", "interest_rate", "num_of_delayed_payment"):
        assert df.loc[event, name].mean() > df.loc[~event, name].mean(), name
    assert df.loc[event, "credit_history_age"].mean() < df.loc[~event, "credit_history_age"].mean()


@pytest.mark.parametrize("drift", [True, False])
def test_binary_relabels_the_same_applicants(drift: bool) -> None:
    three = generate_week(WEEK, ROWS, SEED, drift=drift)
    binary = generate_week(WEEK, ROWS, SEED, drift=drift, event_rate=0.03, classes=BINARY)
    pd.testing.assert_frame_equal(three.drop(columns=TARGET), binary.drop(columns=TARGET))
    # A 3 % event cut-off lies below the Poor threshold: every event is Poor.
    assert binary[TARGET].eq("Yes").any()
    assert three.loc[binary[TARGET].eq("Yes"), TARGET].eq("Poor").all()


def test_binary_with_drift_follows_the_drift() -> None:
    def share(week: dt.date) -> float:
        return generate_week(week, BIG, SEED, event_rate=0.03, classes=BINARY)[TARGET].eq("Yes").mean()

    assert share(dt.date(2022, 1, 2)) == pytest.approx(0.03, abs=0.006)  # epoch: as asked
    assert share(dt.date(2023, 2, 26)) > 0.05  # tightest point of the credit cycle


def test_event_cutoff_is_a_fixed_increasing_quantile() -> None:
    from weekly.inputs.generate import event_cutoff

    cuts = [event_cutoff(p) for p in (0.001, 0.01, 0.03, 0.1, 0.5)]
    assert cuts == sorted(cuts) and len(set(cuts)) == len(cuts)
    assert event_cutoff(0.03) == cuts[2]
    assert cuts[2] < -1.5  # below the Poor threshold
    with pytest.raises(ValueError):
        event_cutoff(0.6)


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 0.5000001, 1, float("nan")])
def test_event_rate_out_of_range_rejected(bad: float) -> None:
    with pytest.raises(ValueError):
        generate_week(WEEK, 10, SEED, event_rate=bad, classes=BINARY)


def test_event_rate_bounds_accepted() -> None:
    for p in (1e-4, 0.5):
        df = generate_week(WEEK, 50, SEED, event_rate=p, classes=BINARY)
        assert set(df[TARGET]) <= set(BINARY)


@pytest.mark.parametrize(
    "event_rate, classes",
    [(None, ("A", "B")), (None, ("A", "B", "C", "D")), (0.03, ("Poor", "Standard", "Good")),
     (0.03, ("Yes",)), (None, ("A", "A", "B")), (0.03, ("No", "No"))],
)
def test_wrong_number_of_classes_rejected(event_rate, classes) -> None:
    with pytest.raises(ValueError):
        generate_week(WEEK, 10, SEED, event_rate=event_rate, classes=classes)
    with pytest.raises(ValueError):  # also with rows=0
        generate_week(WEEK, 0, SEED, event_rate=event_rate, classes=classes)


def test_event_rate_needs_two_classes_by_default() -> None:
    with pytest.raises(ValueError):
        generate_week(WEEK, 10, SEED, event_rate=0.03)


def test_classes_rename_the_three_labels() -> None:
    default = generate_week(WEEK, ROWS, SEED)
    renamed = generate_week(WEEK, ROWS, SEED, classes=("C", "B", "A"))
    mapping = dict(zip(CLASSES, ("C", "B", "A")))
    pd.testing.assert_series_equal(renamed[TARGET], default[TARGET].map(mapping).astype(renamed[TARGET].dtype))
    pd.testing.assert_frame_equal(renamed.drop(columns=TARGET), default.drop(columns=TARGET))


MODES = [
    {},
    {"drift": False},
    {"event_rate": 0.03, "classes": BINARY},
    {"drift": False, "event_rate": 0.03, "classes": BINARY},
]
MODE_IDS = ["default", "stationary", "binary", "stationary-binary"]


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_modes_deterministic_and_seeded(mode: dict) -> None:
    first = generate_week(WEEK, ROWS, SEED, **mode)
    pd.testing.assert_frame_equal(first, generate_week(WEEK, ROWS, SEED, **mode))
    other = generate_week(WEEK, ROWS, SEED + 1, **mode)
    assert not np.allclose(first["annual_income"], other["annual_income"])


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_modes_small_and_empty_weeks(mode: dict) -> None:
    reference = generate_week(WEEK, ROWS, SEED)
    five = generate_week(WEEK, 5, SEED, **mode)
    assert len(five) == 5
    assert list(five.columns) == list(reference.columns)
    assert five.dtypes.equals(reference.dtypes)
    for rows in range(1, 21):
        df = generate_week(WEEK + dt.timedelta(weeks=rows), rows, SEED, **mode)
        assert len(df) == rows
        assert df[TARGET].notna().all()
    empty = generate_week(WEEK, 0, SEED, **mode)
    assert len(empty) == 0
    assert list(empty.columns) == list(reference.columns)
    assert pd.api.types.is_string_dtype(empty[TARGET])
    assert empty.dtypes.equals(generate_week(WEEK, 0, SEED).dtypes)
