"""The long-lived Snakemake process that runs the chain's jobs as threads: the garbage
collector spared what lives to the end, and memory handed back after each fit.

Python's cyclic garbage collector walks every live object on each full pass, and once more
when the process exits. Snakemake's imports, the package's and the DAG (~1,100 jobs) are
alive for the whole run: walking them cost a third of a no-op `all_weeks`.

A fit at portfolio scale allocates and frees gigabytes in the trainers' threads. glibc keeps
what they free in per-thread arenas for the next allocation, so the process grew by the
leftovers of every retraining.
"""
from __future__ import annotations

import atexit
import ctypes
import functools
import gc


def spare_the_collector() -> None:
    """Keep the objects alive now out of the garbage collector's passes (gc.freeze): call it
    once the imports are done and again once the DAG is built. They stay alive to the end
    of the run, and at exit the operating system takes the memory back without a last
    walk over them. Reference counting still frees everything else as it goes; but an
    object in a reference cycle alive at exit is never finalized, so nothing may rely on a
    finalizer (`__del__`, an unclosed file) to finish its work."""
    gc.freeze()
    _freeze_at_exit()


@functools.cache
def _freeze_at_exit() -> None:
    atexit.register(gc.freeze)  # before the last pass Python makes as it exits


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except AttributeError:  # not glibc (macOS, musl): nothing to hand back this way
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def hand_back_memory() -> bool:
    """Return the free memory of every malloc arena to the operating system (glibc's
    malloc_trim; after a fit, whose gigabytes the next step does not reuse). True when
    some was returned."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
