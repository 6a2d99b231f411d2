"""Take one week's retraining decision (rule decide).

Reads the previous week's tracker and evaluation (none for the first week, which takes
the initial-training path) and writes decision.json: retrain or not, and each trigger's
inputs, threshold and verdict.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week to decide for (YYYY-MM-DD)")
    p.add_argument("--tracker", help="the previous week's tracker.json (omit for the first week)")
    p.add_argument("--evaluation", help="the previous week's eval.json (omit for the first week)")
    p.add_argument("--out", required=True, help="decision.json to write")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.decide, week=args.week, tracker=args.tracker, evaluation=args.evaluation, decision=args.out,
        retrain=params["retrain"], window_weeks=params["train"]["window_weeks"],
        valid_weeks=params["train"]["valid_weeks"], log=args.log,
    )


if __name__ == "__main__":
    main()
