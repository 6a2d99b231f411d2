"""Train one candidate algorithm for one week (rule train).

Reads the week's decision; when it says retrain, fits on the training window (all weeks
before the week, the last ones held out for validation) and writes the native model,
its metrics and an input example to its model folder, then the candidate record.
Hyperparameters and seed come from params.yaml (train.<algo>, seed).

By hand, with the rule's name and wildcards only (the same as `weekly step train`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/train.py --week 2023-03-12 --algo catboost
  python scripts/train.py --week 2023-03-12 --algo catboost --outside
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("train", __doc__))
