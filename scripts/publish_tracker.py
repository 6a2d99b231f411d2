"""Publish the last week's tracker as models/last_retraining_date.json (rule publish_tracker)."""
from weekly import steps
from weekly.cli import parser


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--tracker", required=True, help="the last week's tracker.json")
    p.add_argument("--out", required=True, help="file to write, e.g. models/last_retraining_date.json")
    args = p.parse_args(argv)
    steps.publish_tracker(args.tracker, args.out, args.log)


if __name__ == "__main__":
    main()
