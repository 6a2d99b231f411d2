"""Turning one table of applications (with or without outcomes) into weekly raw files.

The whole table is checked before anything is written; every error names the row (the
line of a CSV file), the value, the column and the week the row belongs to.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from weekly.inputs.data import (
    DataError,
    application_columns,
    carried_names,
    carried_values,
    segment_edges,
    categorical_values,
    check_applications,
    check_outcomes,
    label_values,
    labels,
    missing_columns,
    missing_ids,
    outcome_columns,
)
from weekly.lifecycle.weeks import chain, week_of


def _row(index: int) -> str:
    return f"row {index + 2}"  # the line in a CSV file with a header


def _first_bad(mask: pd.Series, values: pd.Series | None, weeks: pd.Series | None, column: str, source: str,
               what: str) -> None:
    # No `values`: the value is not worth showing (a missing one).
    if mask.any():
        i = mask[mask].index[0]
        week = f" (week {weeks[i]})" if weeks is not None else ""
        shown = ""
        if values is not None:
            value = values[i].item() if isinstance(values[i], np.generic) else values[i]  # inf, not np.float64(inf)
            shown = f" value {value!r}"
        raise DataError(f"{source}: {_row(i)}{week}: column '{column}'{shown} {what} ({int(mask.sum())} such row(s))")


def read_table(path: str | Path, columns: dict, sep: str | None = None) -> pd.DataFrame:
    """A CSV (separator `sep`, default ",") or Parquet table; ids read as text."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=sep or ",", dtype={columns["id"]: str})
    except Exception as exc:
        raise DataError(f"{path}: unreadable table: {exc}") from None


def features(table: pd.DataFrame, columns: dict, source: str, weeks: pd.Series | None = None) -> pd.DataFrame:
    """The feature columns of a table as the weekly files hold them: numbers as floats (a
    value that is not one, or an infinite one, is an error naming its row, and its week when
    `weeks` is given), categoricals as strings."""
    out = pd.DataFrame(index=table.index)
    for col in columns["numeric"]:
        values = pd.to_numeric(table[col], errors="coerce")
        _first_bad(values.isna() & table[col].notna(), table[col], weeks, col, source, "is not a number")
        values = values.astype("float64")
        _first_bad(pd.Series(np.isinf(values.to_numpy()), index=values.index), table[col], weeks, col, source,
                   "is not a finite number")
        out[col] = values
    for col in columns["categorical"]:
        out[col] = categorical_values(table[col])
    for col in carried_names(columns):
        out[col] = carried_values(table[col], segment_edges(columns, col))
    return out


def split_table(
    table: pd.DataFrame, columns: dict, start: str, source: str, date_format: str | None = None, drop: tuple = ()
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], list[str]]:
    """Weekly applications and outcomes of one table, every week from its first to its last
    (weeks with no row included, empty), and the list of those empty weeks.

    Outcomes come from the rows with a label when the table has the target column; a
    table of id, date and label only gives outcomes only.
    """
    table = table.drop(columns=[c for c in drop if c in table.columns]).reset_index(drop=True)
    target = columns["target"]
    feature_columns = [c for c in application_columns(columns) if c not in (columns["id"], columns["date"])]
    # A table of outcomes only (id, date, label): the applications came before.
    outcomes_only = target in table.columns and not any(c in table.columns for c in feature_columns)
    needed = [columns["id"], columns["date"]] if outcomes_only else application_columns(columns)
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(f"{source}: {missing_columns(missing, columns)} (columns: {list(table.columns)})")
    extra = [c for c in table.columns if c not in [*needed, target]]
    if extra:
        raise DataError(f"{source}: unexpected column(s) {', '.join(map(repr, extra))}: leave them out with --drop")

    date_col = columns["date"]
    raw_dates = table[date_col]
    textual = raw_dates.dtype == object or pd.api.types.is_string_dtype(raw_dates)
    if date_format is None and textual and raw_dates.astype(str).str.contains("/").any():
        raise DataError(
            f"{source}: column '{date_col}' holds dates like {raw_dates.iloc[0]!r}, which read day-first or "
            "month-first: give the format, e.g. --date-format %d/%m/%Y"
        )
    dates = pd.to_datetime(raw_dates, format=date_format, errors="coerce")
    _first_bad(dates.isna(), raw_dates, None, date_col, source,
               f"is not a date{f' of format {date_format}' if date_format else ''}")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    weeks = dates.dt.date.map(lambda d: week_of(d, start))

    out = pd.DataFrame({columns["id"]: table[columns["id"]], date_col: dates.astype("datetime64[ns]")})
    if not outcomes_only:
        out = out.join(features(table, columns, source, weeks))
    has_outcomes = target in table.columns
    if has_outcomes:
        known = table[target].notna()
        as_text = label_values(table[target].where(known, 0)).where(known, None)
        _first_bad(known & ~as_text.isin(labels(columns)), table[target], weeks, target, source,
                   f"is not one of the classes {labels(columns)} (params.yaml data.columns.classes)")
        out[target] = as_text
    _first_bad(missing_ids(out[columns["id"]]), None, weeks, columns["id"], source, "is a missing or empty id")
    duplicated = out[columns["id"]].duplicated()
    _first_bad(duplicated, out[columns["id"]], weeks, columns["id"], source, "is a duplicate id")

    applications, outcomes, empty = {}, {}, []
    every_week = chain(weeks.min(), weeks.max()) if len(out) else []
    for week in every_week:
        rows = out[weeks == week].sort_values(date_col, kind="stable")
        where = f"{source}, the rows of week {week}"
        if not outcomes_only:
            applications[week] = check_applications(rows[application_columns(columns)], columns, where, week)
        labelled = rows[rows[target].notna()] if has_outcomes else rows.iloc[0:0]
        # A week gets an outcomes file once some of its outcomes are known (or it has no
        # application at all): a week without a label yet keeps waiting for them.
        if has_outcomes and (len(labelled) or rows.empty):
            outcomes[week] = check_outcomes(labelled[outcome_columns(columns)], columns, where, week)
        if rows.empty:
            empty.append(week)
    return applications, outcomes, empty


def merge_outcomes(existing: pd.DataFrame, new: pd.DataFrame, columns: dict, source: str, week: str) -> pd.DataFrame:
    """The outcomes of a week known so far: those already there and the newly arrived ones.

    An outcome that changes (the same id with another label) is an error, not an update.
    """
    ids, target = columns["id"], columns["target"]
    both = existing.merge(new, on=ids, suffixes=("_before", "_now"))
    changed = both[both[f"{target}_before"] != both[f"{target}_now"]]
    if len(changed):
        row = changed.iloc[0]
        raise DataError(
            f"{source} (week {week}): the outcome of {ids} {row[ids]!r} changes from {row[f'{target}_before']!r} "
            f"to {row[f'{target}_now']!r} ({len(changed)} such outcome(s)); outcomes are not revised"
        )
    merged = pd.concat([existing, new[~new[ids].isin(existing[ids])]], ignore_index=True)
    return check_outcomes(merged, columns, source, week)
