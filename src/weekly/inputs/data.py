"""Raw weekly files and the checks that turn bad input into one clear message.

Each week has two files: its applications (id, date, features: what is known when the
week is scored) and, later, its outcomes (id, label: known `label_delay_weeks` after).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from weekly.errors import WeeklyError
from weekly.lifecycle.weeks import WEEK, parse_week


class DataError(WeeklyError):
    """Bad input data: the message names the file, the week and the column."""


def labels(columns: dict) -> list[str]:
    """Class labels as strings, in the configured order (binary and multi-class alike)."""
    return [str(c) for c in columns["classes"]]


def adverse_index(classes: list[str]) -> int:
    """The adverse class's index among the classes: the event of a binary problem (its
    second class, a default), else the first class (`Poor`). Reason codes push toward it,
    score bands rank by it, approval is its absence."""
    return 1 if len(classes) == 2 else 0


def feature_names(columns: dict) -> list[str]:
    """Every feature column, numeric first."""
    return [*columns["numeric"], *columns["categorical"]]


def segment_names(columns: dict) -> list[str]:
    """The segment columns (data.columns.segments, then the protected attribute when it is
    not one of them): their groups get their own figures (weekly.lifecycle.fairness)."""
    names = list(columns.get("segments") or {})
    protected = columns.get("protected")
    return names + ([protected] if protected and protected not in names else [])


def segment_edges(columns: dict, name: str) -> list[float] | None:
    """A segment column's band edges (a numeric column), or None: one group per value."""
    return (columns.get("segments") or {}).get(name)


def carried_names(columns: dict) -> list[str]:
    """The segment columns that are no feature: carried in the applications to be grouped
    by, never learned from (a protected attribute, a product, a region)."""
    features = set(feature_names(columns))
    return [c for c in segment_names(columns) if c not in features]


def carried_values(values: pd.Series, edges: list[float] | None) -> pd.Series:
    """A carried segment column as the weekly files hold it: numbers (banded by `edges`) as
    floats, other groups as strings (as categorical features)."""
    if edges is not None:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return categorical_values(values)


def _whole_numbers_as_integers(values: pd.Series) -> pd.Series:
    # A column of integer codes with a gap is read as floats: 3.0 must read "3", as 3 does.
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        return values.astype("Int64")
    return values


def categorical_values(values: pd.Series) -> pd.Series:
    """A categorical column as strings, every kind of missing value (None, NaN, NA) as None.

    The form every trainer is fed, whether the rows come from a raw file or, at serving
    time, through a JSON round trip. Integer codes read the same whether the column holds
    integers or floats (a code column with a gap is a float column): 3 and 3.0 are "3".
    """
    if isinstance(values.dtype, pd.StringDtype):  # text already (a Parquet or CSV string column)
        return values.astype(object).where(values.notna(), None)
    values = _whole_numbers_as_integers(values).astype(object)
    return values.astype(str).astype(object).where(values.notna(), None)


def application_columns(columns: dict) -> list[str]:
    """The columns of a week's applications file, no more, no less: id, date, the features
    and the carried segment columns."""
    return [columns["id"], columns["date"], *feature_names(columns), *carried_names(columns)]


def outcome_columns(columns: dict) -> list[str]:
    """The columns of a week's outcomes file: the application id and its label."""
    return [columns["id"], columns["target"]]


def missing_columns(missing: list[str], columns: dict) -> str:
    """The words of missing columns, saying which are segments (data.columns.segments,
    protected): the example params.yaml names the embedded data's, not yours."""
    carried = [c for c in missing if c in carried_names(columns)]
    said = f"missing column(s) {', '.join(map(repr, missing))}"
    if carried:
        said += (f" ({', '.join(map(repr, carried))}: segment columns of params.yaml data.columns.segments or "
                 "protected; name your own there, or leave segments {} and protected empty)")
    return said


def _exact_columns(frame: pd.DataFrame, expected: list[str], where: str, columns: dict) -> None:
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: {missing_columns(missing, columns)}")
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        raise DataError(f"{where}: unexpected column(s) {', '.join(map(repr, extra))} (not in params.yaml data.columns)")


def _first_bad_row(mask: pd.Series, values: pd.Series | None, column: str, where: str, what: str) -> None:
    # The row counts from 1 in the file's order, as a Parquet viewer shows it; no `values`, no value shown.
    if mask.any():
        at = int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])
        shown = ""
        if values is not None:
            value = values.iloc[at]
            shown = f" value {value.item() if isinstance(value, np.generic) else value!r}"
        raise DataError(f"{where}: row {at + 1}: column '{column}'{shown} {what} ({int(mask.sum())} such row(s))")


def missing_ids(values: pd.Series) -> pd.Series:
    """Which ids are missing (None, NaN, NA) or empty text: a row nobody could match to its outcome."""
    missing = values.isna().to_numpy(dtype=bool)
    if not pd.api.types.is_numeric_dtype(values):
        missing = missing | values.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return pd.Series(missing, index=values.index)


def _ids(values: pd.Series, id_column: str, where: str) -> pd.Series:
    # Missing ids are found before id_values, which writes them as text ("None", "nan").
    _first_bad_row(missing_ids(values), None, id_column, where, "is a missing or empty id")
    ids = id_values(values)
    _first_bad_row(ids.duplicated(), ids, id_column, where, "is a duplicate id")
    return ids


def check_applications(frame: pd.DataFrame, columns: dict, source: str, week: str) -> pd.DataFrame:
    """Validate one week's applications and return a copy with normalised dtypes.

    Numeric features become float64, categorical features strings (missing kept as None).
    A week with no rows is legal; so is a missing feature value. Raises DataError on a
    missing or extra column, a wrong dtype, a row dated outside the week, an infinite
    number, or a missing, empty or duplicate id (naming the first such row).
    """
    where = f"{source} (week {week})"
    _exact_columns(frame, application_columns(columns), where, columns)
    out = frame[application_columns(columns)].copy()
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
        if dtype != "float64":
            out[col] = out[col].astype("float64")
        _first_bad_row(pd.Series(np.isinf(out[col].to_numpy())), out[col], col, where, "is not a finite number")
    for col in columns["categorical"]:
        out[col] = categorical_values(out[col])
    for col in carried_names(columns):
        out[col] = carried_values(out[col], segment_edges(columns, col))
    out[columns["id"]] = _ids(out[columns["id"]], columns["id"], where)
    return out.reset_index(drop=True)


def check_outcomes(frame: pd.DataFrame, columns: dict, source: str, week: str) -> pd.DataFrame:
    """Validate one week's outcomes (id, label) and return a copy with the label as a string.

    Raises DataError on a missing or extra column, a missing or unknown label or a missing,
    empty or duplicate id.
    """
    where = f"{source} (week {week})"
    _exact_columns(frame, outcome_columns(columns), where, columns)
    out = frame[outcome_columns(columns)].copy()
    target = columns["target"]
    if out[target].isna().any():
        raise DataError(f"{where}: column '{target}' has {int(out[target].isna().sum())} missing label(s)")
    out[target] = label_values(out[target])
    unknown = sorted(set(out[target]) - set(labels(columns)))
    if unknown:
        raise DataError(
            f"{where}: column '{target}' has unknown class label(s) {unknown}; "
            f"params.yaml data.columns.classes is {labels(columns)}"
        )
    out[columns["id"]] = _ids(out[columns["id"]], columns["id"], where)
    return out.reset_index(drop=True)


def range_findings(frame: pd.DataFrame, ranges: dict) -> list[dict]:
    """Numeric features with values outside their plausible range (params.yaml data.ranges,
    feature -> {min, max}, either bound optional): data-quality findings, not errors.

    One finding per such column, in the order of `ranges`: the rows outside, their share of
    the frame's rows, the first of them (counted from 1), the smallest and largest value
    seen in the column, and the range. A missing value is never outside; a column the frame
    does not hold is skipped.
    """
    findings = []
    for column, bounds in ranges.items():
        if column not in frame.columns:
            continue
        values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
        low, high = bounds.get("min"), bounds.get("max")
        outside = np.zeros(len(values), dtype=bool)
        if low is not None:
            outside |= values < low
        if high is not None:
            outside |= values > high
        if not outside.any():
            continue
        seen = values[~np.isnan(values)]
        findings.append({
            "column": column,
            "rows": int(outside.sum()),
            "share": float(outside.sum() / len(values)),
            "first_row": int(np.flatnonzero(outside)[0]) + 1,
            "min_seen": float(seen.min()),
            "max_seen": float(seen.max()),
            "min": low,
            "max": high,
        })
    return findings


def id_values(values: pd.Series) -> pd.Series:
    """Ids as strings, so that a CSV's and a Parquet file's ids of one application match."""
    return label_values(values).astype(object)


def label_values(values: pd.Series) -> pd.Series:
    """Labels as strings; integer labels stored as floats (1.0) read as integers ("1")."""
    return _whole_numbers_as_integers(values).astype(str)


def _read(path: str | Path, week: str, check, columns: dict) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} (week {week}): missing week file")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path} (week {week}): unreadable parquet file: {exc}") from None
    return check(frame, columns, str(path), week)


def read_applications(path: str | Path, week: str, columns: dict) -> pd.DataFrame:
    """Read and validate the applications of `week`."""
    return _read(path, week, check_applications, columns)


def read_outcomes(path: str | Path, week: str, columns: dict) -> pd.DataFrame:
    """Read and validate the outcomes of `week`."""
    return _read(path, week, check_outcomes, columns)


def with_outcomes(applications: pd.DataFrame, outcomes: pd.DataFrame, columns: dict, source: str) -> pd.DataFrame:
    """The applications that have an outcome, with their label; an outcome of no application is an error."""
    ids = columns["id"]
    orphans = ~outcomes[ids].isin(applications[ids])
    if orphans.any():
        raise DataError(
            f"{source}: {int(orphans.sum())} outcome(s) for no application of the week, "
            f"e.g. {columns['id']} {outcomes.loc[orphans, ids].iloc[0]!r}"
        )
    return applications.merge(outcomes, on=ids, how="inner", validate="one_to_one")


def read_labelled_weeks(
    application_paths: list[str], outcome_paths: list[str], weeks: list[str], columns: dict
) -> pd.DataFrame:
    """Several weeks' applications joined with their outcomes, in one time-ordered frame."""
    return pd.concat(list(_labelled_weeks(application_paths, outcome_paths, weeks, columns)), ignore_index=True)


def _labelled_weeks(application_paths: list[str], outcome_paths: list[str], weeks: list[str], columns: dict):
    """Each week's applications joined with their outcomes, one frame a week."""
    for a, o, w in zip(application_paths, outcome_paths, weeks, strict=True):
        yield with_outcomes(read_applications(a, w, columns), read_outcomes(o, w, columns), columns, o)


def read_training_window(
    application_paths: list[str], outcome_paths: list[str], weeks: list[str], columns: dict
) -> pd.DataFrame:
    """read_labelled_weeks in the compact form a fit takes: categorical features and labels
    as pandas categories (the same values: a byte per row instead of a string object), no
    ids. A window of 20 weeks of 150,000 applications is 3 million rows: as strings it took
    ~1.5 GiB per trainer, and two trainers run at once."""
    compact = [*columns["categorical"], columns["target"]]
    frames = [week.drop(columns=[columns["id"]]).astype({col: "category" for col in compact})
              for week in _labelled_weeks(application_paths, outcome_paths, weeks, columns)]
    for col in compact:  # one set of categories, so that the weeks concatenate as categories
        union = sorted(set().union(*(frame[col].cat.categories for frame in frames)))
        for frame in frames:
            frame[col] = frame[col].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


def check_raw_folder(raw_dir: str, columns: dict, generate: bool) -> None:
    """Refuse a raw folder the workflow would misread: weekly files of the former
    one-file-per-week layout, or, when data.generate is true, files of another schema
    than the generator's (your own data would be mixed with synthetic weeks)."""
    root = Path(raw_dir)
    flat = sorted(root.glob("*.parquet"))
    if flat:
        raise DataError(
            f"{root}: holds {flat[0].name} and other files of the one-file-per-week layout; a week's files are now "
            f"{root}/applications/<week>.parquet and {root}/outcomes/<week>.parquet: import your table again "
            "(python scripts/import_table.py) or, for the generated data, delete the folder"
        )
    if not generate:
        return
    import pyarrow.parquet as pq

    first = next(iter(sorted((root / "applications").glob("*.parquet"))), None)
    if first is not None and pq.read_schema(first).names != application_columns(columns):
        raise DataError(
            f"{first}: params.yaml data.generate is true, but this file's columns are not the generator's: "
            "set data.generate: false to use your own files, or move them away to generate the default data"
        )
