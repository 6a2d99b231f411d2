"""Publish the last week's tracker as models/last_retraining_date.json (rule publish_tracker).

By hand, with the rule's name and wildcards only (the same as `weekly step publish_tracker`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/publish_tracker.py
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("publish_tracker", __doc__))
