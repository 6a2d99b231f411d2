"""What several steps share: a training window read once per process, a fitted model's folder, the serving model checked against its digest before it is loaded."""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weekly.errors import StateError, StepError
from weekly.paths import REFERENCE
from weekly.inputs.data import (
    adverse_index,
    labels,
    read_training_window,
    segment_edges,
    segment_names,
)
from weekly.io import atomic_dir, read_json, write_json, write_parquet
from weekly.lifecycle import drift as stability
from weekly.lifecycle import fairness, gains
from weekly.modelling import models

log = logging.getLogger(__name__)

EXAMPLE_ROWS = 5



def window_files(files: list[str], weeks: list[str], what: str) -> list[str]:
    """The files of `weeks` (oldest first) among `files` (named <week>.parquet), in that
    order: a training window takes its weeks out of the longest window the rule lists."""
    by_week = {Path(p).stem: p for p in files}
    missing = [w for w in weeks if w not in by_week]
    if missing:
        raise StepError(f"no {what} file given for week(s) {', '.join(missing)} of the training window")
    return [by_week[w] for w in weeks]


_window_lock = threading.Lock()
_windows: dict[tuple, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = {}  # the newest window read


def _stamp(path: str) -> tuple:
    """What changes when a file is replaced or rewritten."""
    st = os.stat(path)
    return path, st.st_ino, st.st_mtime_ns, st.st_size


def window_parts(applications: list[str], outcomes: list[str], weeks: dict,
                  columns: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A training window's training part, validation part and newest week, read once per
    process: a week's trainers (threads of one Snakemake, or the loop) and its refit share
    them, read-only, instead of reading and checking the same files three times (three
    times 3 million rows at portfolio scale). The files' inodes, sizes and times are part
    of the key, so a corrected file is read again; only the newest window is kept."""
    try:
        stamps = tuple(_stamp(p) for p in [*applications, *outcomes])
    except OSError:  # a missing file: the read says which, in one line
        stamps = None
    key = (stamps, tuple(weeks["weeks"]), tuple(weeks["valid_weeks"]), json.dumps(columns, sort_keys=True))
    with _window_lock:
        if stamps is None or key not in _windows:
            _windows.clear()  # the week before's window goes before this one is read
            frame = read_training_window(applications, outcomes, weeks["weeks"], columns)
            train_part, valid_part = models.split_window(frame, columns["date"], weeks["weeks"], weeks["valid_weeks"])
            _windows[key] = (train_part, valid_part, valid_part)  # the newest weeks: the validation part
        return _windows[key]


def save_model(algo: str, fitted: Any, newest: pd.DataFrame, train_part: pd.DataFrame, weeks: dict, columns: dict,
               folder: str, fit_metrics: dict, example: pd.DataFrame, bands: int,
               validation_bands: dict | None = None) -> dict:
    """Put a fitted model in `folder` (in one rename): its native file, metrics, input example
    and reference distributions (its training rows' bins, what drift.json compares with),
    with its score bands (score_bands). Returns how far the `newest` week it learned from
    had moved from its training rows."""
    rows = stability.reference_rows(train_part)
    raw = models.predict_proba(algo, fitted, rows, columns)
    ref = stability.reference(rows, columns, raw[:, 0])
    newest_raw = models.predict_proba(algo, fitted, newest, columns)
    newest_score = newest_raw[:, 0]
    newest_psi = stability.stability(ref, newest, newest_score)
    # the newest weeks it learned from (the validation weeks) in its reference's bins: what
    # had already moved when it was trained (the drift trigger does not count it again)
    ref["newest"] = {"weeks": weeks["valid_weeks"], **stability.counts(ref, newest, newest_score)}
    ref["bands"] = score_bands(rows, raw, newest, newest_raw, columns, bands, validation_bands)
    with atomic_dir(folder) as tmp:
        models.save(algo, fitted, tmp)
        write_json(tmp / "metrics.json", fit_metrics)
        write_json(tmp / REFERENCE, ref)
        write_parquet(tmp / "input_example.parquet", example)
    return {"week": weeks["weeks"][-1], "features": newest_psi["features"], "score": newest_psi["score"]}


def score_bands(rows: pd.DataFrame, raw: np.ndarray, valid: pd.DataFrame, valid_raw: np.ndarray, columns: dict,
                bands: int, validation: dict | None = None) -> dict:
    """A model's score bands, fixed with it (weekly.lifecycle.gains): `edges` at the
    quantiles of its training `rows`' probability of the adverse class (`raw`: its raw
    probabilities), the rows and events of each band on its `valid` rows (or the given
    `validation`: a refit's are its candidate's, rows it had not learned from), and each
    segment group's training rows per band (its PSI's reference)."""
    classes = labels(columns)
    edges = gains.band_edges(models.risk_score(raw, classes), bands)
    n = len(edges) + 1
    if validation is None:
        adverse = classes[adverse_index(classes)]
        validation = gains.band_counts(gains.assign(models.risk_score(valid_raw, classes), edges),
                                       valid[columns["target"]].astype(str).eq(adverse).to_numpy(), n)
    training = gains.assign(models.risk_score(raw, classes), edges)
    segments = {}
    for column in segment_names(columns):
        groups = fairness.groups(rows[column], segment_edges(columns, column))
        segments[column] = {g: np.bincount(training[(groups == g).to_numpy()], minlength=n).tolist()
                            for g in sorted(groups.unique())}
    return {"edges": edges, "validation": validation, "segments": segments}


@functools.lru_cache(maxsize=4)
def _cached_model(algo: str, path: str, sha256: str, mtime_ns: int) -> Any:
    # Weeks that do not retrain reuse the model loaded (and checked against the digest) for the week before.
    return models.load(algo, path, sha256)


def serving_model(state: dict, whose: str) -> Any:
    """The native model a tracker names, checked against the tracker's digest before it is
    loaded; a missing file, a tracker without `model_sha256`, or a file whose bytes are not
    those the tracker registered, is a clear error (`whose`: which week's)."""
    path = state["model_path"]
    if not os.path.exists(path):
        raise StepError(f"{path}, the model serving {whose}, is missing: `snakemake all_weeks` rebuilds it")
    expected = state.get("model_sha256")
    if not expected:
        raise StateError(
            f"the tracker of {whose} records no model_sha256 for {path}, so the model cannot be checked before it "
            f"is loaded: the tracker predates the check or was edited; delete the week's folders under weeks/ and "
            f"models/ and run `snakemake all_weeks` to make them again"
        )
    try:
        return _cached_model(state["model_type"], path, expected, os.stat(path).st_mtime_ns)
    except models.DigestMismatch as exc:
        raise StateError(
            f"{path}, the model serving {whose}, is not the file registered as version {state['model_version']} "
            f"(sha256 {exc.digest[:12]}... instead of {exc.expected[:12]}...): the file was replaced or the tracker "
            f"edited; delete the week's folder under models/ and run `snakemake all_weeks` to make it again"
        ) from None


def read_optional(path: str | None) -> dict | None:
    return read_json(path) if path else None
