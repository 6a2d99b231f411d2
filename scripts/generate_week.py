"""Generate one week of the embedded synthetic credit applications (rule generate_week).

Deterministic in (week, rows, seed): each week is drawn from its own seeded stream, so
adding weeks never changes earlier ones.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--applications", required=True, help="file to write, e.g. data/raw/applications/<week>.parquet")
    p.add_argument("--outcomes", required=True, help="file to write, e.g. data/raw/outcomes/<week>.parquet")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.generate_week, week=args.week, rows=params["data"]["rows_per_week"], seed=params["seed"],
        applications=args.applications, outcomes=args.outcomes, columns=params["data"]["columns"],
        generator=params["data"]["generator"], log=args.log,
    )


if __name__ == "__main__":
    main()
