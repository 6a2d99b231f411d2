"""Write the backfill's reports (rule report): reports/weekly.csv and reports/summary.json.

By hand, with the rule's name and wildcards only (the same as `weekly step report`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/report.py
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("report", __doc__))
