"""Step import_table (`weekly import`): one table of your own split into weekly raw files."""
from __future__ import annotations

import logging
from pathlib import Path

from weekly import paths
from weekly.inputs.data import (
    read_outcomes,
)
from weekly.io import write_parquet

log = logging.getLogger(__name__)




def import_table(
    *,
    table: str,
    raw_dir: str,
    columns: dict,
    start: str,
    generate: bool,
    date_format: str | None = None,
    sep: str | None = None,
    drop: tuple = (),
) -> dict:
    """Split one CSV or Parquet table into weekly files under `raw_dir`: applications/<week>.parquet
    for every week from the table's first to its last (empty weeks included), and
    outcomes/<week>.parquet for the labelled rows when the table has the target column.

    Weeks are 7-day bins aligned on `start`. The whole table is checked first: an error
    leaves `raw_dir` as it was.
    """
    from weekly.inputs.data import DataError
    from weekly.inputs.importing import merge_outcomes, read_table, split_table

    path = Path(table)
    if generate:
        raise DataError(
            f"{path}: params.yaml data.generate is true: set it to false before importing your own data, "
            "or synthetic weeks would be generated beside yours"
        )
    frame = read_table(path, columns, sep)
    if columns["date"] not in frame.columns:
        hint = " (is the separator right? --sep ';')" if len(frame.columns) == 1 else ""
        raise DataError(f"{path}: missing date column '{columns['date']}'{hint}; columns: {list(frame.columns)}")
    applications, outcomes, empty = split_table(frame, columns, start, str(path), date_format, tuple(drop))
    # Outcomes arrive in batches: a week's new ones join those already there (checked first,
    # so that an error leaves every file as it was).
    outcome_file = paths.outcomes(raw_dir)
    for week, part in outcomes.items():
        if Path(outcome_file.format(week=week)).exists():
            before = read_outcomes(outcome_file.format(week=week), week, columns)
            outcomes[week] = merge_outcomes(before, part, columns, str(path), week)
    written = {}
    for kind, weeks, pattern in (("applications", applications, paths.applications(raw_dir)),
                                 ("outcomes", outcomes, outcome_file)):
        for week, part in weeks.items():
            write_parquet(pattern.format(week=week), part)
        written[kind] = sorted(weeks)
    log.info(
        "%s: %d rows into %d weeks of applications and %d of outcomes under %s; empty weeks: %s",
        path, len(frame), len(applications), len(outcomes), raw_dir, ", ".join(empty) or "none",
    )
    return {**written, "empty_weeks": empty}
