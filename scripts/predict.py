"""Score one week's applications with the model that serves the week (rule predict).

Loads the serving model's native file named in the week's tracker and writes one row per
application: id, date, predicted class, one probability column per class, model version.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--tracker", required=True, help="the week's tracker.json")
    p.add_argument("--applications", required=True, help="the week's applications file (no outcome needed)")
    p.add_argument("--out", required=True, help="preds.parquet to write")
    p.add_argument("--drift", required=True, help="drift.json to write (PSI against the model's training rows, the pooled test)")
    p.add_argument("--previous-drift", help="the previous week's drift.json, whose pool this week's extends (omit for the first week)")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.predict, week=args.week, tracker=args.tracker, applications=args.applications, preds=args.out,
        drift=args.drift, previous_drift=args.previous_drift, columns=params["data"]["columns"],
        drift_policy=params["retrain"]["drift"], max_weeks=params["evaluate"]["max_weeks"], seed=params["seed"],
        log=args.log,
    )


if __name__ == "__main__":
    main()
