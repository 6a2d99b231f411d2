"""Log the chain's monitoring run to MLflow (rule monitoring): the weekly figures and the
serving history, replacing the chain's previous run; reports/monitoring.json names it.

Give the weeks' trackers and evaluations in week order.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--trackers", nargs="+", required=True, help="weeks/<week>/tracker.json, in week order")
    p.add_argument("--drifts", nargs="+", required=True, help="weeks/<week>/drift.json, same order")
    p.add_argument("--evaluations", nargs="*", default=[], help="weeks/<week>/eval.json of the weeks evaluated so far")
    p.add_argument("--monitoring", required=True, help="JSON to write, naming the run")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.monitoring, trackers=args.trackers, drifts=args.drifts, evaluations=args.evaluations,
        monitoring=args.monitoring, registry=params["registry"], log=args.log,
    )


if __name__ == "__main__":
    main()
