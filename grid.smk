"""A grid of chains: many backfills of the weekly lifecycle side by side.

A chain (a retraining policy, a portfolio) is a folder `<grid>/<chain>/` holding its own
params.yaml. Each is backfilled whole by the project's Snakefile in ONE job of this
workflow, so that on SLURM (`--profile profiles/slurm`) a chain is one allocation and its
~1,100 weekly steps run inside it, not one submission each. The chain is sequential; the
grid spreads: its wall time is close to its longest chain's.

`weekly policies` and `weekly portfolios` write the folders' params.yaml, then run it:
  snakemake -s grid.smk --workflow-profile none --forceall --cores 4 \
      --config grid=policies 'chains=["every-60d", "every-90d"]' fit_cache=policies/.fit-cache
--forceall re-runs every chain's job: the chain's own Snakemake then does only what is out
of date.
"""
import os
import sys

GRID = config["grid"]          # the folder of the chains: policies or portfolios
CHAINS = config["chains"]      # the chains to backfill, by folder name
FIT_CACHE = config["fit_cache"]  # fits shared between the chains (weekly.modelling.fit_cache)


wildcard_constraints:
    grid=r"[a-z0-9][a-z0-9_-]*",
    chain=r"[a-z0-9][a-z0-9_-]*",


rule all_chains:
    default_target: True
    input:
        done=expand("{grid}/{chain}/backfill.done", grid=GRID, chain=CHAINS),


# The chain's Snakemake runs inside the job (the allocation) with the job's threads: the
# two trainers of a retraining week run side by side there. (`run:` rather than `shell:`:
# the chain runs in this environment, not a conda env or container of its own.)
rule backfill_chain:
    input:
        params="{grid}/{chain}/params.yaml",
    output:
        done=touch("{grid}/{chain}/backfill.done"),
    params:
        python=sys.executable,
        snakefile=os.path.join(workflow.basedir, "Snakefile"),
        profile=os.path.join(workflow.basedir, "profiles", "default"),
        fit_cache=os.path.abspath(FIT_CACHE),
    log:
        "{grid}/{chain}/backfill.log",
    benchmark:
        "{grid}/{chain}/backfill.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    run:
        shell(
            "WEEKLY_FIT_CACHE={params.fit_cache:q} {params.python:q} -m snakemake --snakefile {params.snakefile:q} "
            "--workflow-profile {params.profile:q} --directory {wildcards.grid}/{wildcards.chain} "
            "--cores {threads} all_weeks > {log:q} 2>&1"
        )
