"""Generate one week of the embedded synthetic credit applications (rule generate_week).

Deterministic in (week, rows, seed): each week is drawn from its own seeded stream, so
adding weeks never changes earlier ones.
"""
from weekly import steps
from weekly.cli import parser
from weekly.config import load_params


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--week", required=True, help="the week (YYYY-MM-DD)")
    p.add_argument("--out", required=True, help="raw file to write, e.g. data/raw/<week>.parquet")
    args = p.parse_args(argv)
    params = load_params(args.params)
    steps.generate_week(args.week, params["data"]["rows_per_week"], params["seed"], args.out, args.log)


if __name__ == "__main__":
    main()
