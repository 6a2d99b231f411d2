"""Evaluate the serving model on one week's labels (rule evaluate).

Compares the week's predictions with its labels and writes eval.json: macro F1, accuracy,
per-class precision, recall, F1 and support, the confusion matrix, rows, model version.
"""
from weekly import steps
from weekly.cli import parser
from weekly.config import load_params


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--preds", required=True, help="the week's preds.parquet")
    p.add_argument("--raw", required=True, help="the week's raw file (with labels)")
    p.add_argument("--out", required=True, help="eval.json to write")
    args = p.parse_args(argv)
    params = load_params(args.params)
    steps.evaluate(args.week, args.preds, args.raw, args.out, params["data"]["columns"], args.log)


if __name__ == "__main__":
    main()
