"""Backfill several retraining policies side by side on the same data and compare them:
the same as `weekly policies` (see `weekly policies --help`).

Each policy of the policies file (params.yaml with a few retrain.* / train.* overrides) is
backfilled in policies/<name>/ by the project's Snakefile, registering under its own alias
(champion-policy-<name>). Fits two policies have in common are made once (a fit cache keyed
by the model's fingerprint). Writes the table (mean and worst weekly macro F1 and AUC, weeks
under the floor, retrainings, fits, training seconds) and its plot. The policies run as a
grid of chains (grid.smk): here two at a time, or one SLURM job each with
`--profile profiles/slurm`.
"""
import sys

from weekly.commands.command import main

if __name__ == "__main__":
    sys.exit(main(["policies", *sys.argv[1:]]))
