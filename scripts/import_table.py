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
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--table", required=True, help="CSV or Parquet file with one row per application")
    p.add_argument("--out", help="raw data folder (default: params.yaml data.raw_dir)")
    p.add_argument("--sep", help="CSV separator (default: ,)")
    p.add_argument("--date-format", help="strftime format of the date column, e.g. %%d/%%m/%%Y (default: ISO dates)")
    p.add_argument("--drop", nargs="+", default=[], help="columns of the table to leave out")
    args = p.parse_args(argv)
    params = cli.params(args)
    written = cli.run(
        steps.import_table, table=args.table, raw_dir=args.out or params["data"]["raw_dir"],
        columns=params["data"]["columns"], start=params["start"], generate=params["data"]["generate"],
        date_format=args.date_format, sep=args.sep, drop=args.drop, log=args.log,
    )
    empty = written["empty_weeks"]
    print(f"wrote {len(written['applications'])} weeks of applications and {len(written['outcomes'])} of outcomes"
          + (f"; {len(empty)} empty week(s): {', '.join(empty)}" if empty else ""))


if __name__ == "__main__":
    main()
