"""Take one week's retraining decision (rule decide).

Reads the previous week's tracker and drift (none for the first week, which takes the
initial-training path) and the newest evaluations known at the start of the week, and
writes decision.json: retrain or not, and each trigger's inputs, threshold and verdict.
When a trigger fires, the training window is chosen from the outcomes (extended back while
too small) and counted against train.min_rows and train.min_class_rows: too few keeps the
serving model.

By hand, with the rule's name and wildcards only (the same as `weekly step decide`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/decide.py --week 2023-03-12
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("decide", __doc__))
