"""How the Snakemake process runs the chain's in-process jobs: with the garbage collector spared
what lives to the end of the run (the real Snakemake), and memory handed back after a fit."""
from __future__ import annotations

import sys

import pytest

from helpers import run

def recorded(tmp_path, head: str, value: str) -> str:
    """What `value` (a Python expression) is inside a job of a one-rule Snakefile that starts
    with `head`, run by the real Snakemake with in-process jobs."""
    (tmp_path / "Snakefile").write_text(
        f"{head}\nrule record:\n    output: 'value.txt'\n    run:\n        open(output[0], 'w').write(str({value}))\n"
    )
    run(["snakemake", "--cores", "1", "--force-use-threads"], tmp_path)
    return (tmp_path / "value.txt").read_text()


@pytest.mark.parametrize("head, spared", [("from weekly.workflow.runtime import spare_the_collector\nspare_the_collector()", True),
                                          ("", False)])
def test_what_the_snakefile_imported_is_out_of_the_collectors_passes(tmp_path, head, spared):
    frozen = int(recorded(tmp_path, f"import gc\n{head}", "gc.get_freeze_count()"))
    assert (frozen > 10_000) is spared, frozen  # Snakemake's modules and their objects


WITNESS = """
import sys
from weekly.workflow.runtime import spare_the_collector
if sys.argv[1] == "spare":
    spare_the_collector()
class Witness:
    def __del__(self):
        open(sys.argv[2], "w").write("collected")
witness = Witness()
witness.itself = witness  # a cycle: only the collector frees it
del witness
"""


@pytest.mark.parametrize("spare", [True, False])
def test_no_last_collection_at_exit(tmp_path, spare):
    """What is alive at exit is left to the operating system: Python's last pass over it
    (half a second after a no-op all_weeks) is skipped."""
    witness = tmp_path / "collected.txt"
    run([sys.executable, "-c", WITNESS, "spare" if spare else "keep", str(witness)], tmp_path)
    assert witness.exists() is not spare


CHURN = """
import threading
from weekly.workflow.runtime import hand_back_memory

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

kept = []

def fit_like():  # a trainer thread allocates ~400 MiB in blocks of malloc's size and frees them
    blocks = [bytes(2000) + bytes([i % 256]) for i in range(200_000)]
    kept.append(blocks[-1])  # but its result, the newest block: glibc keeps the arena's memory below it
    del blocks

before = rss_mib()
thread = threading.Thread(target=fit_like)
thread.start()
thread.join()
hand_back_memory()
print(before, rss_mib())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_a_trainer_thread_freed_goes_back_to_the_system(tmp_path):
    before, after = map(int, run([sys.executable, "-c", CHURN], tmp_path).stdout.split())
    assert after < before + 100, (before, after)
