"""Step lifecycle_report: the lifecycle page, reports/lifecycle.html, from the chain's week files."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from weekly.errors import StepError
from weekly.inputs.data import (
    labels,
)
from weekly.io import read_json
from weekly.lifecycle.metrics import class_mix

log = logging.getLogger(__name__)




def lifecycle_report(
    *,
    decisions: list[str],
    trackers: list[str],
    drifts: list[str],
    evaluations: list[str],
    summary: str,
    lifecycle: str,
    columns: dict,
    awaiting: list[str] = (),
    estimates: list[str] = (),
    policies_table: str | None = None,
    policies_plot: str | None = None,
) -> str:
    """Draw the lifecycle page, `lifecycle` (self-contained HTML), from every week's
    decision, tracker and drift (in week order), the evaluations made so far and the
    `summary`; the predictions of the weeks awaiting outcomes (`awaiting`, in week order)
    give their class mix, and their estimate.json (`estimates`) their estimated
    performance. The policy comparison's table and plot join it when given."""
    from weekly.io import write_text
    from weekly.reporting import page as lifecycle_page

    classes = labels(columns)
    states = [read_json(p) for p in trackers]
    evaluated = {e["week"]: e for e in map(read_json, evaluations)}
    waiting = [s["week"] for s in states if s["week"] not in evaluated]
    if len(waiting) != len(awaiting):
        raise StepError(f"{len(awaiting)} prediction files given for the {len(waiting)} weeks awaiting outcomes")
    mixes = {week: class_mix(pd.read_parquet(path, columns=["prediction"])["prediction"].astype(str).tolist(), classes)
             for week, path in zip(waiting, awaiting)}
    html = lifecycle_page.page(
        trackers=states,
        decisions=[read_json(p) for p in decisions],
        evaluations=evaluated,
        drifts=[read_json(p) for p in drifts],
        summary=read_json(summary),
        classes=classes,
        predicted_mix=mixes,
        estimates={e["week"]: e for e in map(read_json, estimates)},
        policies=pd.read_csv(policies_table) if policies_table else None,
        policies_svg=Path(policies_plot).read_text() if policies_plot else None,
    )
    write_text(lifecycle, html)
    log.info("lifecycle page of %d weeks (%d evaluated) -> %s (%d kB)", len(trackers), len(evaluations), lifecycle,
             len(html) // 1024)
    return html
