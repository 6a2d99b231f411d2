"""Generate one week of the embedded synthetic credit applications (rule generate_week).

Deterministic in (week, rows, seed): each week is drawn from its own seeded stream, so
adding weeks never changes earlier ones.

By hand, with the rule's name and wildcards only (the same as `weekly step generate_week`): Snakemake
runs that one job with the arguments the rule gives; --outside runs the step in this
process with the arguments the job was last given (its log's first record).

Example:
  python scripts/generate_week.py --week 2023-03-12
"""
import sys

from weekly.commands.command import step_script

if __name__ == "__main__":
    sys.exit(step_script("generate_week", __doc__))
