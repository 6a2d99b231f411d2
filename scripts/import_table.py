"""Turn one CSV or Parquet table of applications into the weekly raw files.

Rows are put into 7-day weeks aligned on params.yaml `start` (weeks before it form the
training history) and written as <raw_dir>/applications/<week>.parquet, every week from
the table's first to its last (a week without a row gets an empty file). When the table
has the target column, the labelled rows also give <raw_dir>/outcomes/<week>.parquet.
Import applications now and a table of outcomes (id, date, target) later, or both at once.
Column roles come from params.yaml data.columns (set data.generate: false first).

The whole table is checked before anything is written: an error names the row, value,
column and week, and leaves the folder as it was.

Examples:
  python scripts/import_table.py --table applications.csv
  python scripts/import_table.py --table loans.csv --sep ';' --date-format %d/%m/%Y --drop notes
"""
import sys

from weekly.commands.command import table_script

if __name__ == "__main__":
    sys.exit(table_script("import", sys.argv[1:]))
