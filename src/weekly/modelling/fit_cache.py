"""Fits shared between chains: a folder of trained models keyed by their fingerprint.

Two chains that retrain on the same week with the same settings and data (two retraining
policies, say) make the same model: the fingerprint (weekly.workflow.provenance.fingerprint) says
so before anything is fitted. With a cache folder named in the environment variable
WEEKLY_FIT_CACHE (the policy comparison sets it), a trainer copies such a fit instead of
fitting again. A fit is a machine's shortcut, not an experiment parameter: the copied
files are the bytes the fit would have written, so no output depends on the cache.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from weekly.io import atomic_dir, copy_files, read_json, write_json

ENVIRONMENT = "WEEKLY_FIT_CACHE"
RECORD = "candidate.json"  # the trainer's record, beside the model folder's files
PATH_FIELDS = ("model_path", "metrics_path", "example_path")  # a record's files, inside its model folder


def folder() -> Path | None:
    """The cache folder named by WEEKLY_FIT_CACHE, or None (no cache)."""
    value = os.environ.get(ENVIRONMENT)
    return Path(value) if value else None


@contextmanager
def claimed(cache: Path | None, fingerprint: str) -> Iterator[Path | None]:
    """Hold the fingerprint's lock while the caller looks it up and, missing, fits and stores
    it: a second chain that needs the same fit at the same moment waits for it rather than
    fitting it twice. Yields the fit's cache entry (which may not exist yet), or None."""
    if cache is None:
        yield None
        return
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{fingerprint}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield cache / fingerprint
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def restore(entry: Path | None, model: str | Path) -> dict | None:
    """Copy a cached fit into the model folder `model` (in one rename); its record, with the
    paths pointing into `model`. None when there is no such fit."""
    if entry is None or not (entry / RECORD).exists():
        return None
    record = read_json(entry / RECORD)
    with atomic_dir(model) as tmp:
        copy_files(entry, tmp, leave_out=(RECORD,))
    return {**record, **{field: str(Path(model) / record[field]) for field in PATH_FIELDS}}


def store(entry: Path | None, model: str | Path, record: dict) -> None:
    """Keep the fit in the model folder `model` (and its record) under its fingerprint."""
    if entry is None:
        return
    with atomic_dir(entry) as tmp:
        copy_files(model, tmp)
        write_json(tmp / RECORD, {**record, **{field: Path(record[field]).name for field in PATH_FIELDS}})
