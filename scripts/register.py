"""Select, register and promote one week's model (rule register).

When the week retrains: picks the candidate with the best validation figure
(train.selection.metric), puts it through the challenger gate (a paired bootstrap on rows
neither model learned from), refits it on the whole window (train.refit) into --winner-model,
logs one MLflow run per candidate, registers the winner as a new model version and moves
the alias to it. Otherwise the previous week's tracker carries over. Writes tracker.json.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--decision", required=True, help="the week's decision.json")
    p.add_argument("--candidates", nargs="+", required=True, help="the week's candidate records, in params.yaml train.models order (it breaks ties)")
    p.add_argument("--previous-tracker", help="the previous week's tracker.json (omit for the first week)")
    p.add_argument("--window-applications", nargs="+", required=True,
                   help="applications of the longest training window, oldest first (the challenger gate, the refit)")
    p.add_argument("--window-outcomes", nargs="+", required=True, help="outcomes of the longest training window, same order")
    p.add_argument("--out", required=True, help="tracker.json to write")
    p.add_argument("--winner-model", required=True, help="folder for the promoted winner's model (models/<week>/winner)")
    p.add_argument("--threads", type=int, default=1, help="threads of the refit (default: %(default)s)")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.register, week=args.week, decision=args.decision, candidates=args.candidates,
        previous_tracker=args.previous_tracker, tracker=args.out, winner_model=args.winner_model,
        threads=args.threads, registry=params["registry"],
        columns=params["data"]["columns"], challenger=params["train"]["challenger"], minimums=params["evaluate"],
        selection_metric=params["train"]["selection"]["metric"], seed=params["seed"],
        window_applications=args.window_applications, window_outcomes=args.window_outcomes, log=args.log,
    )


if __name__ == "__main__":
    main()
