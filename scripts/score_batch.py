"""Score a table of applications with the model serving a given week (default: the latest).

Reads a CSV or Parquet table with the applications' id, date and feature columns
(params.yaml data.columns; a label column, if any, is ignored), loads the serving model's
native file named in the week's tracker, and writes one row per application: id, date,
predicted class, one probability column per class, model version and type, score band,
segment columns and the top reason codes (params.yaml score.reasons, or --reasons K).

Examples:
  python scripts/score_batch.py --table new_applications.csv --out scored.csv
  python scripts/score_batch.py --table new_applications.parquet --week 2023-03-05 --out scored.parquet
"""
import sys

from weekly.commands.command import table_script

if __name__ == "__main__":
    sys.exit(table_script("score", sys.argv[1:]))
