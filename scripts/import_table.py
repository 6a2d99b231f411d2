"""Turn one CSV or Parquet table of applications into weekly raw files.

Rows are put into 7-day weeks aligned on params.yaml `start` (weeks before it form the
training history) and written as <out>/<week>.parquet after the same checks as any raw
file. Column roles come from params.yaml data.columns. Then set data.generate: false.

Example:
  python scripts/import_table.py --table applications.csv --out data/raw
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--table", required=True, help="CSV or Parquet file with one row per application")
    p.add_argument("--out", help="folder of weekly files (default: params.yaml data.raw_dir)")
    args = p.parse_args(argv)
    params = cli.params(args)
    written = cli.run(
        steps.import_table, table=args.table, out_dir=args.out or params["data"]["raw_dir"],
        columns=params["data"]["columns"], start=params["start"], log=args.log,
    )
    print(f"wrote {len(written)} weekly files")


if __name__ == "__main__":
    main()
