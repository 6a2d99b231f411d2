"""Train one candidate algorithm for one week (rule train).

Reads the week's decision; when it says retrain, fits on the training window (all weeks
before the week, the last ones held out for validation) and writes the native model,
its metrics and an input example to --model-dir, then the candidate record to --out.
Hyperparameters and seed come from params.yaml (train.<algo>, seed).

Example:
  python scripts/train.py --algo lightgbm --week 2022-01-16 \\
      --decision weeks/2022-01-16/decision.json \\
      --window-applications data/raw/applications/2021-08-29.parquet ... data/raw/applications/2022-01-09.parquet \\
      --window-outcomes data/raw/outcomes/2021-08-29.parquet ... data/raw/outcomes/2022-01-09.parquet \\
      --model-dir models/2022-01-16/lightgbm --out weeks/2022-01-16/candidates/lightgbm.json
"""
from weekly import cli, steps
from weekly.algorithms import ALGORITHMS


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--algo", required=True, choices=list(ALGORITHMS), help="the candidate algorithm")
    p.add_argument("--week", required=True, help="the week to train for (YYYY-MM-DD)")
    p.add_argument("--decision", required=True, help="the week's decision.json")
    p.add_argument("--window-applications", nargs="+", required=True,
                   help="applications of the training window (or a longer one: the decision's weeks are taken), oldest first")
    p.add_argument("--window-outcomes", nargs="+", required=True, help="outcomes of the training window, same order")
    p.add_argument("--model-dir", required=True, help="folder for the native model, e.g. models/<week>/<algo>")
    p.add_argument("--out", required=True, help="candidate record to write, e.g. weeks/<week>/candidates/<algo>.json")
    p.add_argument("--threads", type=int, default=1, help="training threads (default: %(default)s)")
    args = p.parse_args(argv)
    params = cli.params(args)
    cli.run(
        steps.train, algo=args.algo, week=args.week, decision=args.decision,
        window_applications=args.window_applications, window_outcomes=args.window_outcomes,
        candidate=args.out, model=args.model_dir, columns=params["data"]["columns"],
        hyper=params["train"][args.algo],
        fitting={"recency_half_life_weeks": params["train"]["recency_half_life_weeks"], "refit": params["train"]["refit"],
                 "threshold": params["train"]["threshold"], "resamples": params["evaluate"]["resamples"]},
        seed=params["seed"], threads=args.threads, log=args.log,
    )


if __name__ == "__main__":
    main()
