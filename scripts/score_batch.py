"""Score a table of applications with the model serving a given week (default: the latest).

Reads a CSV or Parquet table with the applications' id, date and feature columns
(params.yaml data.columns; a label column, if any, is ignored), loads the serving model's
native file named in the week's tracker, and writes one row per application: id, date,
predicted class, one probability column per class, model version and type.

Examples:
  python scripts/score_batch.py --table new_applications.csv --out scored.csv
  python scripts/score_batch.py --table new_applications.parquet --week 2023-03-05 --out scored.parquet
"""
from weekly import cli, paths, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--table", required=True, help="CSV or Parquet file with one row per application")
    p.add_argument("--week", help="the week whose serving model scores (default: the latest, "
                                  f"{paths.LATEST_TRACKER})")
    p.add_argument("--out", required=True, help="predictions to write (.csv or .parquet)")
    p.add_argument("--sep", help="CSV separator (default: ,)")
    args = p.parse_args(argv)
    params = cli.params(args)
    from pathlib import Path

    from weekly.command import serving_tracker
    from weekly.errors import WeeklyError

    try:  # a week of the chain, its model inside models/ with its digest: checked before anything is read
        tracker, _ = serving_tracker(params, args.week, Path.cwd())
    except WeeklyError as exc:
        raise SystemExit(f"error: {exc}") from None
    scored = cli.run(
        steps.score_batch, table=args.table, tracker=tracker, out=args.out, columns=params["data"]["columns"],
        sep=args.sep, log=args.log,
    )
    print(f"scored {len(scored)} applications with {scored.attrs['model']} -> {args.out}")


if __name__ == "__main__":
    main()
