"""Evaluate the serving model on one week's labels (rule evaluate).

Compares the week's predictions with its labels and writes eval.json: macro F1, accuracy,
per-class precision, recall, F1 and support, the confusion matrix, rows, model version.
"""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--decision", required=True, help="the week's decision.json (for the console line)")
    p.add_argument("--preds", required=True, help="the week's preds.parquet")
    p.add_argument("--raw", required=True, help="the week's raw file (with labels)")
    p.add_argument("--out", required=True, help="eval.json to write")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.evaluate, week=args.week, decision=args.decision, preds=args.preds, raw=args.raw,
        evaluation=args.out, columns=params["data"]["columns"], log=args.log,
    )


if __name__ == "__main__":
    main()
