"""Score one week's applications with the model that serves the week (rule predict).

Loads the serving model's native file named in the week's tracker and writes one row per
application: id, date, predicted class, one probability column per class, model version.

By hand, with the rule's name and wildcards only (the same as `weekly step predict`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/predict.py --week 2023-03-12
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("predict", __doc__))
