"""Raw weekly files: their column roles and the checks that turn bad input into one clear message."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from weekly.errors import WeeklyError
from weekly.weeks import WEEK, parse_week, week_of


class DataError(WeeklyError):
    """Bad input data: the message names the file, the week and the column."""


def labels(columns: dict) -> list[str]:
    """Class labels as strings, in the configured order (binary and multi-class alike)."""
    return [str(c) for c in columns["classes"]]


def feature_names(columns: dict) -> list[str]:
    """Every feature column, numeric first."""
    return [*columns["numeric"], *columns["categorical"]]


def categorical_values(values: pd.Series) -> pd.Series:
    """A categorical column as strings, every kind of missing value (None, NaN, NA) as None.

    The form both trainers are fed, whether the rows come from a raw file or, at serving
    time, through a JSON round trip.
    """
    values = values.astype(object)
    return values.astype(str).astype(object).where(values.notna(), None)


def expected_columns(columns: dict) -> list[str]:
    """The columns a raw weekly file must have, no more, no less."""
    return [columns["id"], columns["date"], *feature_names(columns), columns["target"]]


def check_week_frame(frame: pd.DataFrame, columns: dict, source: str, week: str) -> pd.DataFrame:
    """Validate one raw week and return a copy with normalised dtypes.

    Numeric features become float64, categorical features strings (missing kept as None),
    the target a string. Raises DataError on an empty week, a missing or extra column, a
    wrong dtype, a row dated outside the week or an unknown class label.
    """
    where = f"{source} (week {week})"
    if frame.empty:
        raise DataError(f"{where}: the file has no rows")
    expected = expected_columns(columns)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(map(repr, missing))}")
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        raise DataError(f"{where}: unexpected column(s) {', '.join(map(repr, extra))} (not in params.yaml data.columns)")

    out = frame[expected].copy()
    date_col = columns["date"]
    if not pd.api.types.is_datetime64_any_dtype(out[date_col]):
        raise DataError(f"{where}: column '{date_col}' has dtype {out[date_col].dtype}, expected a date/datetime")
    first = pd.Timestamp(parse_week(week))
    dates = out[date_col].dt.tz_localize(None) if out[date_col].dt.tz is not None else out[date_col]
    outside = (dates < first) | (dates >= first + pd.Timedelta(WEEK)) | dates.isna()
    if outside.any():
        bad = dates[outside].iloc[0]
        raise DataError(
            f"{where}: column '{date_col}' has {int(outside.sum())} row(s) dated outside the week, e.g. {bad}"
        )
    out[date_col] = dates.astype("datetime64[ns]")

    for col in columns["numeric"]:
        dtype = out[col].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
            raise DataError(f"{where}: column '{col}' has dtype {dtype}, expected a numeric dtype")
        out[col] = out[col].astype("float64")
    for col in columns["categorical"]:
        out[col] = categorical_values(out[col])

    target = columns["target"]
    if out[target].isna().any():
        raise DataError(f"{where}: column '{target}' has {int(out[target].isna().sum())} missing label(s)")
    out[target] = out[target].astype(str)
    unknown = sorted(set(out[target]) - set(labels(columns)))
    if unknown:
        raise DataError(
            f"{where}: column '{target}' has unknown class label(s) {unknown}; "
            f"params.yaml data.columns.classes is {labels(columns)}"
        )
    if out[columns["id"]].duplicated().any():
        raise DataError(f"{where}: column '{columns['id']}' has duplicate ids")
    return out.reset_index(drop=True)


def read_week(path: str | Path, week: str, columns: dict) -> pd.DataFrame:
    """Read and validate the raw file of `week`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} (week {week}): missing week file")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path} (week {week}): unreadable parquet file: {exc}") from None
    return check_week_frame(frame, columns, str(path), week)


def read_weeks(paths: list[str], weeks: list[str], columns: dict) -> pd.DataFrame:
    """Read and validate several weeks into one time-ordered frame."""
    frames = [read_week(p, w, columns) for p, w in zip(paths, weeks, strict=True)]
    return pd.concat(frames, ignore_index=True)


def split_by_week(table: pd.DataFrame, date_column: str, start: str) -> dict[str, pd.DataFrame]:
    """Split one table into weekly frames, weeks aligned on `start` (7-day bins)."""
    dates = pd.to_datetime(table[date_column], errors="raise")
    table = table.assign(**{date_column: dates})
    keys = dates.dt.date.map(lambda d: week_of(d, start))
    return {week: part.sort_values(date_column).reset_index(drop=True) for week, part in table.groupby(keys)}
