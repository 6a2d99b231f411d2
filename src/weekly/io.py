"""Atomic file writes: a reader never sees half a file, a failed step leaves nothing behind."""
from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from weekly.errors import StateError


def _sibling(path: Path) -> Path:
    # Not tempfile.mkstemp/mkdtemp: their 0600/0700 modes would outlive the rename.
    # A write cut by kill -9 leaves its temporary sibling; the job that writes the same path
    # again (the resumed run) removes it.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)  # no space left on the device, or the user's quota is used up


def _name_full_disk(exc: OSError, path: Path) -> None:
    # A write that fails on a full disk when its buffer is flushed (at close: Python's,
    # pyarrow's) names no file: it names the one being written, for the job's one line.
    if exc.errno in FULL_DISK and exc.filename is None:
        exc.filename = str(path)


@contextmanager
def _atomic_path(path: str | Path) -> Iterator[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _name_full_disk(exc, path)
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    with _atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8), atomically."""
    with _atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a corrupt one (a write cut short, a hand edit, binary garbage) is a
    StateError naming it."""
    data = Path(path).read_bytes()
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg}, line {exc.lineno}"
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text: byte {exc.start}"
    raise StateError(
        f"{path}: not valid JSON ({problem}): the file was cut short or edited; "
        "delete it and run the chain again to remake it"
    )


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    """Write `frame` as Parquet, atomically: the bytes of `frame.to_parquet(index=False)`,
    converted on one thread (pandas' conversion starts a thread pool per call: 5 ms of
    each week's 30 ms of scoring)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False, nthreads=1), tmp)


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    """Write `frame` as CSV, atomically."""
    with _atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Fill a temporary sibling folder, then put it in place of `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path)
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as exc:
        _name_full_disk(exc, path)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def copy_files(source: str | Path, target: str | Path, leave_out: tuple[str, ...] = ()) -> None:
    """Copy the files of folder `source` into folder `target`, but hidden ones (Snakemake's
    marks) and `leave_out`."""
    for path in Path(source).iterdir():
        if not path.name.startswith(".") and path.name not in leave_out:
            shutil.copy2(path, Path(target) / path.name)
