"""Write the backfill's reports (rule report): reports/weekly.csv and reports/summary.json.

Give the weeks' trackers and evaluations in week order.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--trackers", nargs="+", required=True, help="weeks/<week>/tracker.json, in week order")
    p.add_argument("--drifts", nargs="+", required=True, help="weeks/<week>/drift.json, same order")
    p.add_argument("--evaluations", nargs="*", default=[], help="weeks/<week>/eval.json of the weeks evaluated so far")
    p.add_argument("--weekly", required=True, help="weekly CSV to write")
    p.add_argument("--summary", required=True, help="summary JSON to write")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.report, trackers=args.trackers, drifts=args.drifts, evaluations=args.evaluations,
        weekly=args.weekly, summary=args.summary,
        registry=params["registry"], models=params["train"]["models"], log=args.log,
    )


if __name__ == "__main__":
    main()
