"""Take one week's retraining decision (rule decide).

Reads the previous week's tracker and drift (none for the first week, which takes the
initial-training path) and the newest evaluations known at the start of the week, and
writes decision.json: retrain or not, and each trigger's inputs, threshold and verdict.
When a trigger fires, the training window is chosen from the outcomes (extended back while
too small) and counted against train.min_rows and train.min_class_rows: too few keeps the
serving model.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week to decide for (YYYY-MM-DD)")
    p.add_argument("--tracker", help="the previous week's tracker.json (omit for the first week)")
    p.add_argument("--evaluations", nargs="*", default=[],
                   help="the newest eval.json known at the start of the week (none at first): it carries its evidence window")
    p.add_argument("--drift", help="the previous week's drift.json (omit for the first week)")
    p.add_argument("--window-outcomes", nargs="+", required=True,
                   help="outcome files of the longest training window (train.max_window_weeks), oldest first")
    p.add_argument("--out", required=True, help="decision.json to write")
    args = p.parse_args(argv)
    params = cli.params(args)
    train = params["train"]
    cli.run(
        steps.decide, week=args.week, tracker=args.tracker, evaluations=args.evaluations, drift=args.drift,
        window_outcomes=args.window_outcomes, decision=args.out, retrain=params["retrain"],
        window_weeks=train["window_weeks"], valid_weeks=train["valid_weeks"],
        label_delay_weeks=params["data"]["label_delay_weeks"],
        guard={key: train[key] for key in ("min_rows", "min_class_rows")}, minimums=params["evaluate"],
        columns=params["data"]["columns"], log=args.log,
    )


if __name__ == "__main__":
    main()
