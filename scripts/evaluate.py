"""Evaluate the serving model on one week's outcomes (rule evaluate), once they are known.

Compares the week's predictions with its outcomes and writes eval.json: macro F1 over the
classes present, accuracy, per-class precision, recall, F1 and support, the confusion
matrix, labelled rows and applications, too_small, model version and type; and the same
over the week's evidence window (the newest outcomes pooled back until enough to judge),
with intervals.

By hand, with the rule's name and wildcards only (the same as `weekly step evaluate`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/evaluate.py --week 2023-03-12
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("evaluate", __doc__))
