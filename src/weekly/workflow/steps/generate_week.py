"""Step generate_week: one week of the embedded synthetic data (applications and outcomes)."""
from __future__ import annotations

import logging

from weekly.inputs.data import (
    application_columns,
    labels,
    outcome_columns,
)
from weekly.io import write_parquet
from weekly.lifecycle.weeks import parse_week

log = logging.getLogger(__name__)




def generate_week(*, week: str, applications: str, outcomes: str, rows: int, seed: int, columns: dict,
                  generator: dict | None = None) -> None:
    """Write the embedded default data of one week: its applications and their outcomes.
    `generator` (params.yaml data.generator): stationary or drifting, three classes or a
    binary rare-event portfolio, labelled with columns.classes."""
    from weekly.inputs.generate import generate_week as generate

    shape = generator or {"drift": True, "event_rate": None}
    frame = generate(parse_week(week), rows, seed, drift=shape["drift"], event_rate=shape["event_rate"],
                     classes=labels(columns))
    write_parquet(applications, frame[application_columns(columns)])
    write_parquet(outcomes, frame[outcome_columns(columns)])
    log.info("generated %d applications and outcomes for week %s (seed %d)", len(frame), week, seed)
