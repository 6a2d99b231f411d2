"""What a reviewer reads of an evidence window beyond its pooled figures: the gains table of
the serving model's score bands, each segment's groups, and the protected attribute's
comparison (weekly.lifecycle.gains, weekly.lifecycle.fairness). Read by the evaluate step
for every window and by the register step for a new version's validation rows (its card).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from weekly.inputs.data import adverse_index, segment_edges, segment_names
from weekly.lifecycle import fairness, gains


def window_groups(window: pd.DataFrame, reference: dict, columns: dict, classes: list[str], pooling: dict,
                  scoring: dict, fairness_band: list[float], seed: list[int], psi_floor: float = 0.0) -> dict:
    """What the evidence `window` (rows: outcome, prediction, proba_<class>, score_band and
    the segment columns) says beyond the pooled figures: its gains table (the serving
    model's score bands, `reference`: its reference.json, against its validation rows),
    each segment's groups (fairness.segment_figures) and the protected attribute's
    comparison (fairness.compare, against `fairness_band`); a segment's PSI moves beyond
    chance and `psi_floor`."""
    bands = reference["bands"]
    n = len(bands["edges"]) + 1
    adverse = adverse_index(classes)
    index = {c: i for i, c in enumerate(classes)}
    y = window["outcome"].map(index).to_numpy(dtype=np.int64)
    pred = window["prediction"].map(index).to_numpy(dtype=np.int64)
    band = gains.band_index(window["score_band"].to_numpy(dtype=np.int64), n)
    counts = gains.band_counts(band, y == adverse, n)
    found = {"gains": gains.table(counts, bands["edges"], bands["validation"], pooling["confidence"], scoring["alpha"]),
             "segments": {}, "fairness": None}
    proba = window[[f"proba_{c}" for c in classes]].to_numpy(dtype=float)
    for column in segment_names(columns):
        groups = fairness.groups(window[column], segment_edges(columns, column))
        found["segments"][column] = fairness.segment_figures(
            groups, y, pred, proba, classes, adverse, band, bands["segments"].get(column), pooling["confidence"],
            pooling["resamples"], scoring["alpha"], seed, psi_floor)
        if column == columns.get("protected"):
            found["fairness"] = {"column": column, **fairness.compare(groups, y == adverse, pred == adverse,
                                                                      pooling["confidence"], tuple(fairness_band))}
    return found
