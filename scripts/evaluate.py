"""Evaluate the serving model on one week's outcomes (rule evaluate), once they are known.

Compares the week's predictions with its outcomes and writes eval.json: macro F1 over the
classes present, accuracy, per-class precision, recall, F1 and support, the confusion
matrix, labelled rows and applications, too_small, model version and type; and the same
over the week's evidence window (the newest outcomes pooled back until enough to judge),
with intervals.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--decision", required=True, help="the week's decision.json (for the console line)")
    p.add_argument("--preds", required=True, help="the week's preds.parquet")
    p.add_argument("--tracker", required=True, help="the week's tracker.json")
    p.add_argument("--outcomes", required=True, help="the week's outcomes file")
    p.add_argument("--drift", required=True, help="the week's drift.json")
    p.add_argument("--out", required=True, help="eval.json to write")
    p.add_argument("--evidence", required=True, help="evidence.parquet to write (the rows of the week's evidence window)")
    p.add_argument("--previous-evidence", help="the previous week's evidence.parquet (omit for the first week)")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.evaluate, week=args.week, decision=args.decision, preds=args.preds, tracker=args.tracker, drift=args.drift,
        outcomes=args.outcomes, evaluation=args.out, evidence=args.evidence, previous_evidence=args.previous_evidence,
        columns=params["data"]["columns"], pooling=params["evaluate"], seed=params["seed"], log=args.log,
    )


if __name__ == "__main__":
    main()
