"""Publish the last week's tracker as models/last_retraining_date.json (rule publish_tracker)."""
from weekly import cli, steps


def main(argv=None):
    p = cli.parser(__doc__)
    p.add_argument("--tracker", required=True, help="the last week's tracker.json")
    p.add_argument("--out", required=True, help="file to write, e.g. models/last_retraining_date.json")
    args = p.parse_args(argv)
    cli.run(steps.publish_tracker, tracker=args.tracker, latest=args.out, log=args.log)


if __name__ == "__main__":
    main()
