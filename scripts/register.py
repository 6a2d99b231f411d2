"""Select, register and promote one week's model (rule register).

When the week retrains: picks the candidate with the best validation figure
(train.selection.metric), puts it through the challenger gate (a paired bootstrap on rows
neither model learned from), refits it on the whole window (train.refit) into the week's winner folder,
logs one MLflow run per candidate, registers the winner as a new model version and moves
the alias to it. Otherwise the previous week's tracker carries over. Writes tracker.json.

By hand, with the rule's name and wildcards only (the same as `weekly step register`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/register.py --week 2023-03-12
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("register", __doc__))
