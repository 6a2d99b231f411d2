"""Deterministic generator of synthetic weekly credit applications.

Generative model, one week at a time (``rng = default_rng([seed, week.toordinal()])``,
so every week is independent of every other week):

1. Applicants first: a latent risk ``r ~ N(0, 1)`` (shifted by occupation), two
   independent traits (payment discipline, appetite for revolving credit), age,
   occupation and a lognormal income (occupation multiplier, lowered by risk,
   inflated ~3 %/year). Accounts, cards, loans, payment delays, inquiries, debt,
   utilisation, history age, EMI (36-month annuity at the applicant's rate),
   investments, balance and the categorical habits are drawn from these, so the
   features are correlated.
2. Label: a latent score, linear in standardised summaries of the features (past
   delays, utilisation, debt burden = EMI / salary, debt cost = debt x rate / income,
   inquiries, history age, credit mix, paying only the minimum) with date-dependent
   coefficients, plus Gaussian noise, cut by fixed thresholds into
   Poor / Standard / Good (about 30 / 50 / 20 %).
3. Gradual drift: income inflation; over 2022-2024 the weights rotate from past
   delays to utilisation and from history age to inquiries; a two-year credit
   cycle moves the score level (loosest in spring 2022 and 2024, tightest in
   spring 2023).
4. Abrupt drift on ``RATE_SHOCK_DATE`` (2023-03-05): base interest rates jump by
   ``RATE_SHOCK_POINTS`` and the debt burden and debt cost become strong drivers of
   the label while past delays lose most of their weight: P(y | x) changes, not
   only P(x).
5. After labelling, a few percent of the values in four numeric and two
   categorical columns are blanked (NaN / None).

Modes (keyword arguments of ``generate_week``; the defaults give the data above,
unchanged for every (week, rows, seed)):

- ``drift=True`` (default): drifting data as above, to check that the monitoring
  detects drift and that retraining helps.
- ``drift=False``: stationary data, to measure how often the retraining triggers
  fire when nothing changes (false alarms). Time is frozen at the epoch
  (2022-01-01) for everything time-dependent: no inflation, no coefficient
  rotation, no credit cycle, no rate shock, base rate as at the epoch. Every week
  is drawn from the same distribution; the week only seeds the random generator
  (same draws as with ``drift=True``) and names the dates (still inside the week)
  and ids.
- ``event_rate=p`` with p in (0, 0.5]: binary rare-event label, for monitoring on
  imbalanced problems (e.g. defaults). ``classes`` then names the two labels, no
  event first (e.g. ``("No", "Yes")``); the event is bad credit: a latent score
  below ``event_cutoff(p)``, the p-quantile of the latent score at the epoch
  (estimated once from a fixed simulated sample of 1,000,000 applicants, cached).
  The cut-off ignores the week's own sample, so a week's event share varies by
  sampling around p with ``drift=False``. With ``drift=True`` the cut-off stays
  fixed and the event share follows the drift of the score: for p = 3 % it is
  ~3 % in early 2022 and spring 2024 (loosest credit) and rises to ~8 % early in
  2023, ~6.5 % after the shock. Features are the same as in the three-class mode
  for the same arguments; only the label is cut differently.
- ``classes``: in the three-class mode, names for Poor / Standard / Good (in that
  order). The two options above combine: ``drift=False, event_rate=0.03`` is a
  stationary rare-event portfolio.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_COLUMNS",
    "RATE_SHOCK_DATE",
    "RATE_SHOCK_POINTS",
    "event_cutoff",
    "generate_week",
]

RATE_SHOCK_DATE: datetime.date = datetime.date(2023, 3, 5)
"""Day on which base interest rates jump and the label mechanism changes."""

RATE_SHOCK_POINTS: float = 6.0
"""Size of the base interest rate jump, in percentage points."""

_EPOCH = datetime.date(2022, 1, 1)
_DRIFT_YEARS = 3.0  # the slow coefficient rotation completes over 2022-2024
_INFLATION = 0.03

_OCCUPATIONS: tuple[str, ...] = (
    "Scientist", "Teacher", "Engineer", "Entrepreneur", "Developer", "Lawyer",
    "Media_Manager", "Doctor", "Journalist", "Manager", "Accountant", "Mechanic",
)
# Per occupation: income multiplier and shift of the latent risk (read-only arrays).
_OCC_INCOME = np.array([1.25, 0.75, 1.2, 1.1, 1.3, 1.5, 1.0, 1.6, 0.8, 1.15, 1.0, 0.65])
_OCC_RISK = np.array([-0.2, -0.1, -0.1, 0.4, 0.0, -0.2, 0.2, -0.3, 0.2, 0.0, -0.1, 0.3])
_OCC_INCOME.flags.writeable = False
_OCC_RISK.flags.writeable = False

_CREDIT_MIX: tuple[str, ...] = ("Bad", "Standard", "Good")
_MIN_AMOUNT: tuple[str, ...] = ("Yes", "No", "NM")
_PAYMENT_BEHAVIOUR: tuple[str, ...] = (
    "Low_spent_Small_value_payments",
    "Low_spent_Medium_value_payments",
    "Low_spent_Large_value_payments",
    "High_spent_Small_value_payments",
    "High_spent_Medium_value_payments",
    "High_spent_Large_value_payments",
)

_ID, _DATE, _TARGET = "application_id", "application_date", "credit_score"
_CLASSES: tuple[str, ...] = ("Poor", "Standard", "Good")
_NUMERIC: tuple[str, ...] = (
    "age",
    "annual_income",
    "monthly_inhand_salary",
    "num_bank_accounts",
    "num_credit_cards",
    "interest_rate",
    "num_of_loan",
    "delay_from_due_date",
    "num_of_delayed_payment",
    "num_credit_inquiries",
    "outstanding_debt",
    "credit_utilization_ratio",
    "credit_history_age",
    "total_emi_per_month",
    "amount_invested_monthly",
    "monthly_balance",
)
_CATEGORICAL: tuple[str, ...] = (
    "occupation",
    "credit_mix",
    "payment_of_min_amount",
    "payment_behaviour",
)
# Output column order: id, date, features in a natural order, target.
_COLUMN_ORDER: tuple[str, ...] = (
    _ID,
    _DATE,
    "age",
    "occupation",
    "annual_income",
    "monthly_inhand_salary",
    "num_bank_accounts",
    "num_credit_cards",
    "interest_rate",
    "num_of_loan",
    "delay_from_due_date",
    "num_of_delayed_payment",
    "num_credit_inquiries",
    "credit_mix",
    "outstanding_debt",
    "credit_utilization_ratio",
    "credit_history_age",
    "payment_of_min_amount",
    "total_emi_per_month",
    "amount_invested_monthly",
    "payment_behaviour",
    "monthly_balance",
    _TARGET,
)

DEFAULT_COLUMNS: dict[str, Any] = {
    "id": _ID,
    "date": _DATE,
    "target": _TARGET,
    "classes": list(_CLASSES),
    "numeric": list(_NUMERIC),
    "categorical": list(_CATEGORICAL),
}
"""Column roles of the generated data (a copy: the generator never reads it)."""

# Missing-value rates applied after the label is drawn.
_MISSING: Mapping[str, float] = MappingProxyType(
    {
        "monthly_inhand_salary": 0.05,
        "num_of_delayed_payment": 0.04,
        "num_credit_inquiries": 0.02,
        "amount_invested_monthly": 0.04,
        "credit_mix": 0.03,
        "payment_behaviour": 0.05,
    }
)

# Fixed thresholds on the latent score: below the first is Poor, above the second Good.
_THRESHOLDS = (-1.5, 2.8)
_BURDEN_MU, _BURDEN_SD = -2.22, 1.24  # mean / sd of log(EMI / salary + 0.01) in 2022

# Score weights. rotate_a / rotate_b: size of the two slowly rotating pairs
# (delays -> utilisation, history age -> inquiries); *_shock: added after the shock;
# *_cut: relative weight removed after the shock.
_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "rotate_a": 2.2,
        "rotate_b": 1.2,
        "delay_cut": 0.75,
        "util_cut": 0.3,
        "burden": 0.25,
        "burden_shock": 0.7,
        "debt_cost": 0.2,
        "debt_cost_shock": 0.3,
        "intercept": 0.15,
        "intercept_shock": 0.3,
        "credit_mix": 0.3,
        "min_amount_yes": 0.25,
        "noise": 0.9,
        "cycle_amp": 0.6,
        "cycle_period": 2.0,
        "cycle_peak": 0.25,
    }
)


def _years_since_epoch(days: np.ndarray) -> np.ndarray:
    """Fractional years since 2022-01-01 for day ordinals."""
    return (days - _EPOCH.toordinal()) / 365.25


def _coefficients(years: np.ndarray, after_shock: np.ndarray) -> dict[str, np.ndarray]:
    """Score coefficients (per row) at the given times; higher score = better credit."""
    w = _WEIGHTS
    theta = 0.5 * np.pi * np.clip(years / _DRIFT_YEARS, 0.0, 1.0)
    shock = after_shock.astype(float)
    return {
        "delay": w["rotate_a"] * np.cos(theta) * (1.0 - w["delay_cut"] * shock),
        "util": w["rotate_a"] * np.sin(theta) * (1.0 - w["util_cut"] * shock),
        "history": w["rotate_b"] * np.cos(theta),
        "inquiries": w["rotate_b"] * np.sin(theta),
        "burden": w["burden"] + w["burden_shock"] * shock,
        "debt_cost": w["debt_cost"] + w["debt_cost_shock"] * shock,
        "intercept": w["intercept"]
        + w["intercept_shock"] * shock
        + w["cycle_amp"] * np.cos(2.0 * np.pi * (years - w["cycle_peak"]) / w["cycle_period"]),
    }


def _empty_frame() -> pd.DataFrame:
    """A zero-row frame with the generator's columns and dtypes."""
    def dtype(name: str) -> str:
        if name == _DATE:
            return "datetime64[ns]"
        return "float64" if name in _NUMERIC else "str"

    return pd.DataFrame({name: pd.Series([], dtype=dtype(name)) for name in _COLUMN_ORDER})


def _draw_applicants(
    rng: np.random.Generator, week: datetime.date, n: int, drift: bool = True
) -> dict[str, np.ndarray]:
    """Draw dates and features (complete, before missingness) for `n` applicants.

    With ``drift=False`` the clock is frozen at the epoch: every time-dependent
    quantity (inflation, base rate, score coefficients, credit cycle, rate shock)
    takes its 2022-01-01 value, whatever the dates. The random draws are the same
    as with ``drift=True`` (same calls, same order).
    """
    day_offset = np.sort(rng.integers(0, 7, size=n))
    ordinals = week.toordinal() + day_offset
    if drift:
        years = _years_since_epoch(ordinals.astype(float))
        after_shock = ordinals >= RATE_SHOCK_DATE.toordinal()
    else:
        years = np.zeros(n)
        after_shock = np.zeros(n, dtype=bool)
    inflation = (1.0 + _INFLATION) ** years
    base_rate = 7.0 + 0.4 * years + RATE_SHOCK_POINTS * after_shock

    occ = rng.integers(0, len(_OCCUPATIONS), size=n)
    risk = rng.standard_normal(n) + _OCC_RISK[occ]
    discipline = rng.standard_normal(n)  # payment lapses beyond overall risk
    leverage = rng.standard_normal(n)  # appetite for revolving credit
    age = np.clip(np.round(rng.normal(38.0, 10.0, n) - 2.5 * risk), 18, 75)
    annual_income = (
        42_000.0
        * _OCC_INCOME[occ]
        * np.exp(0.4 * rng.standard_normal(n) - 0.15 * risk)
        * inflation
    )
    monthly_inhand_salary = annual_income / 12.0 * rng.uniform(0.72, 0.86, n)
    num_bank_accounts = np.clip(rng.poisson(np.exp(1.2 + 0.25 * risk)), 0, 11).astype(float)
    num_credit_cards = np.clip(rng.poisson(np.exp(1.4 + 0.2 * risk)), 0, 12).astype(float)
    interest_rate = np.round(
        np.clip(base_rate + 3.0 * risk + rng.normal(0.0, 2.0, n), 1.0, 40.0), 1
    )
    num_of_loan = np.clip(rng.poisson(np.exp(0.9 + 0.3 * risk)), 0, 9).astype(float)
    delay_from_due_date = np.round(
        np.clip(14.0 + 5.0 * risk + 8.0 * discipline + rng.normal(0.0, 3.0, n), 0.0, None)
    )
    num_of_delayed_payment = rng.poisson(
        np.exp(2.0 + 0.2 * risk + 0.3 * discipline)
    ).astype(float)
    num_credit_inquiries = rng.poisson(
        np.exp(1.3 + 0.15 * risk + 0.5 * rng.standard_normal(n))
    ).astype(float)
    credit_mix_idx = np.digitize(-risk + rng.normal(0.0, 0.8, n), [-0.7, 0.7])
    loan_size = np.exp(rng.normal(8.4, 0.6, n) + 0.3 * risk) * inflation
    outstanding_debt = np.round(num_of_loan * loan_size + rng.uniform(0.0, 500.0, n), 2)
    credit_utilization_ratio = np.clip(
        32.0 + 2.0 * risk + 5.0 * leverage + rng.normal(0.0, 2.5, n), 15.0, 55.0
    )
    credit_history_age = np.round(
        np.clip((age - 18.0) * 12.0 * rng.uniform(0.3, 0.95, n) - 15.0 * risk, 1.0, None)
    )
    p_yes = 1.0 / (1.0 + np.exp(-(0.2 + 1.2 * risk)))
    nm = rng.uniform(0.0, 1.0, n) < 0.12
    min_amount_idx = np.where(nm, 2, np.where(rng.uniform(0.0, 1.0, n) < p_yes, 0, 1))
    monthly_rate = interest_rate / 1200.0
    annuity = monthly_rate / (1.0 - (1.0 + monthly_rate) ** -36)
    total_emi_per_month = np.round(outstanding_debt * annuity, 2)
    amount_invested_monthly = np.round(
        monthly_inhand_salary * rng.uniform(0.03, 0.18, n) * np.exp(-0.2 * risk), 2
    )
    monthly_balance = np.round(
        monthly_inhand_salary * rng.uniform(0.2, 0.45, n)
        - total_emi_per_month
        - amount_invested_monthly
        + rng.normal(0.0, 150.0, n),
        2,
    )
    spend_high = (rng.standard_normal(n) + 0.5 * risk) > 0.0
    value_latent = (
        np.log(monthly_inhand_salary / inflation) - 0.3 * risk + rng.normal(0.0, 0.4, n)
    )
    behaviour_idx = 3 * spend_high.astype(int) + np.digitize(value_latent, [7.75, 8.2])
    return {
        "day_offset": day_offset,
        "years": years,
        "after_shock": after_shock,
        "age": age,
        "occupation_idx": occ,
        "annual_income": np.round(annual_income, 2),
        "monthly_inhand_salary": np.round(monthly_inhand_salary, 2),
        "num_bank_accounts": num_bank_accounts,
        "num_credit_cards": num_credit_cards,
        "interest_rate": interest_rate,
        "num_of_loan": num_of_loan,
        "delay_from_due_date": delay_from_due_date,
        "num_of_delayed_payment": num_of_delayed_payment,
        "num_credit_inquiries": num_credit_inquiries,
        "credit_mix_idx": credit_mix_idx,
        "outstanding_debt": outstanding_debt,
        "credit_utilization_ratio": np.round(credit_utilization_ratio, 3),
        "credit_history_age": credit_history_age,
        "min_amount_idx": min_amount_idx,
        "total_emi_per_month": total_emi_per_month,
        "amount_invested_monthly": amount_invested_monthly,
        "behaviour_idx": behaviour_idx,
        "monthly_balance": monthly_balance,
    }


def _latent_score(f: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Latent credit score (higher is better) with date-dependent coefficients and noise."""
    z_delay = 0.5 * (f["delay_from_due_date"] - 14.4) / 9.3 + 0.5 * (
        np.log1p(f["num_of_delayed_payment"]) - 2.08
    ) / 0.49
    z_util = (f["credit_utilization_ratio"] - 32.0) / 6.0
    burden = f["total_emi_per_month"] / f["monthly_inhand_salary"]
    z_burden = (np.log(burden + 0.01) - _BURDEN_MU) / _BURDEN_SD
    debt_cost = f["outstanding_debt"] * f["interest_rate"] / 100.0 / f["annual_income"]
    z_debt = (np.log1p(100.0 * debt_cost) - 1.08) / 0.94
    z_inq = (np.log1p(f["num_credit_inquiries"]) - 1.47) / 0.6
    z_hist = (f["credit_history_age"] - 152.0) / 95.0
    c = _coefficients(f["years"], f["after_shock"])
    return (
        c["intercept"]
        - c["delay"] * z_delay
        - c["util"] * z_util
        - c["burden"] * z_burden
        - c["debt_cost"] * z_debt
        - c["inquiries"] * z_inq
        + c["history"] * z_hist
        + _WEIGHTS["credit_mix"] * (f["credit_mix_idx"] - 1)
        - _WEIGHTS["min_amount_yes"] * (f["min_amount_idx"] == 0)
        + rng.normal(0.0, _WEIGHTS["noise"], len(z_util))
    )


# Binary (rare-event) mode: the event cut-off is a quantile of the latent score at
# the epoch, estimated once per process from a fixed simulated sample.
_CUTOFF_ROWS = 1_000_000  # relative error of the rate ~ 1 / sqrt(_CUTOFF_ROWS * p)
_CUTOFF_CHUNK = 200_000
_CUTOFF_SEED = 20220101
_MAX_EVENT_RATE = 0.5


@functools.lru_cache(maxsize=1)
def _epoch_scores() -> np.ndarray:
    """Sorted latent scores of a large fixed sample drawn at the epoch (read-only)."""
    rng = np.random.default_rng(_CUTOFF_SEED)
    parts = []
    for _ in range(_CUTOFF_ROWS // _CUTOFF_CHUNK):
        f = _draw_applicants(rng, _EPOCH, _CUTOFF_CHUNK, drift=False)
        parts.append(_latent_score(f, rng))
    scores = np.sort(np.concatenate(parts))
    scores.flags.writeable = False
    return scores


@functools.lru_cache(maxsize=64)
def _cached_cutoff(event_rate: float) -> float:
    return float(np.quantile(_epoch_scores(), event_rate))


def _check_event_rate(event_rate: float) -> float:
    if isinstance(event_rate, bool):
        raise TypeError(f"event_rate must be a number, got {event_rate!r}")
    p = float(event_rate)
    if not 0.0 < p <= _MAX_EVENT_RATE:  # also rejects NaN
        raise ValueError(f"event_rate must be in (0, {_MAX_EVENT_RATE}], got {event_rate!r}")
    return p


def event_cutoff(event_rate: float) -> float:
    """Latent-score cut-off of the binary mode: scores below it are events.

    It is the `event_rate` quantile of the latent score at the epoch (time frozen
    at 2022-01-01, i.e. the distribution of every ``drift=False`` week), estimated
    from a fixed simulated sample of ``_CUTOFF_ROWS`` applicants and cached. It does
    not depend on any generated week, so a week's event share varies by sampling.
    """
    return _cached_cutoff(_check_event_rate(event_rate))


def _check_classes(classes: Sequence[str], expected: int, mode: str) -> tuple[str, ...]:
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise TypeError(f"classes must be a sequence of labels, got {classes!r}")
    labels = tuple(classes)
    if len(labels) != expected:
        hint = ', e.g. classes=("No", "Yes")' if expected == 2 else ""
        raise ValueError(
            f"{mode} mode needs {expected} class labels, got {len(labels)}: {labels!r}{hint}"
        )
    if not all(isinstance(label, str) and label for label in labels):
        raise ValueError(f"class labels must be non-empty strings, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"class labels must be distinct, got {labels!r}")
    return labels


def generate_week(
    week: datetime.date,
    rows: int,
    seed: int,
    *,
    drift: bool = True,
    event_rate: float | None = None,
    classes: Sequence[str] = _CLASSES,
) -> pd.DataFrame:
    """Applications of the week starting on `week` (7 days).

    Deterministic in (week, rows, seed, drift, event_rate, classes); the defaults
    give the original drifting three-class data, unchanged.

    drift: False freezes time at the epoch (stationary data: the week only seeds
        the random generator and names the dates and ids).
    event_rate: if given, in (0, 0.5]: binary label, ``classes[1]`` (the event, bad
        credit) when the latent score is below ``event_cutoff(event_rate)``, else
        ``classes[0]``. The expected event share is `event_rate` for stationary
        weeks; with drift it moves with the score (see the module docstring).
    classes: the label names: three (for Poor / Standard / Good, in this order) in
        the default mode, two (no event, event) in the binary mode.
    """
    week = datetime.date(week.year, week.month, week.day)
    rows = int(rows)
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    drift = bool(drift)
    if event_rate is None:
        labels = _check_classes(classes, 3, "three-class")
    else:
        event_rate = _check_event_rate(event_rate)
        labels = _check_classes(classes, 2, "binary (event_rate)")
    if rows == 0:
        return _empty_frame()
    rng = np.random.default_rng([int(seed), week.toordinal()])
    f = _draw_applicants(rng, week, rows, drift)
    score = _latent_score(f, rng)
    if event_rate is None:
        label_idx = np.digitize(score, _THRESHOLDS)
    else:  # low score = bad credit = the event (label index 1)
        label_idx = (score < _cached_cutoff(event_rate)).astype(np.intp)

    ids = np.char.add(f"{week:%Y%m%d}-", np.char.zfill(np.arange(rows).astype(str), 5))
    dates = np.datetime64(week, "D") + f["day_offset"].astype("timedelta64[D]")
    values: dict[str, np.ndarray] = {
        _ID: ids.astype(object),
        _DATE: dates.astype("datetime64[ns]"),
        "occupation": np.array(_OCCUPATIONS, dtype=object)[f["occupation_idx"]],
        "credit_mix": np.array(_CREDIT_MIX, dtype=object)[f["credit_mix_idx"]],
        "payment_of_min_amount": np.array(_MIN_AMOUNT, dtype=object)[f["min_amount_idx"]],
        "payment_behaviour": np.array(_PAYMENT_BEHAVIOUR, dtype=object)[f["behaviour_idx"]],
        _TARGET: np.array(labels, dtype=object)[label_idx],
    }
    for name in _NUMERIC:
        values[name] = f[name].astype(np.float64)
    for name, rate in _MISSING.items():  # drawn after the label, so it is uninformative
        mask = rng.uniform(0.0, 1.0, rows) < rate
        col = values[name].copy()
        col[mask] = None if col.dtype == object else np.nan
        values[name] = col

    frame = pd.DataFrame({name: values[name] for name in _COLUMN_ORDER})
    for name in (_ID, _TARGET, *_CATEGORICAL):
        frame[name] = frame[name].astype("str")
    return frame
