"""Score a table of applications with the model serving a given week (default: the latest).

Reads a CSV or Parquet table with the applications' id, date and feature columns
(params.yaml data.columns; a label column, if any, is ignored), loads the serving model's
native file named in the week's tracker, and writes one row per application: id, date,
predicted class, one probability column per class, model version and type.

Examples:
  python scripts/score_batch.py --table new_applications.csv --out scored.csv
  python scripts/score_batch.py --table new_applications.parquet --week 2023-03-05 --out scored.parquet
"""
import sys

from weekly.commands.command import main


def translate(argv: list[str]) -> list[str]:
    """This script's options as `weekly score`'s: the table is its first argument there."""
    argv = list(argv)
    if "--table" in argv:
        at = argv.index("--table")
        table = argv[at + 1]
        del argv[at:at + 2]
        return ["score", table, *argv]
    return ["score", *argv]


if __name__ == "__main__":
    sys.exit(main(translate(sys.argv[1:])))
