"""Command-line plumbing shared by the scripts in `scripts/` (each step also runs by hand)."""
from __future__ import annotations

import argparse

from weekly import steps
from weekly.config import load_params


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the options every step takes."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml", help="parameters file (default: %(default)s)")
    p.add_argument("--log", help="log file to write (default: none)")
    return p


def train_main(algo: str, doc: str, argv: list[str] | None = None) -> None:
    """Command line of train_lightgbm / train_catboost."""
    p = parser(doc)
    p.add_argument("--week", required=True, help="the week to train for (YYYY-MM-DD)")
    p.add_argument("--decision", required=True, help="the week's decision.json")
    p.add_argument("--window", nargs="+", required=True, help="raw files of the training window, oldest first")
    p.add_argument("--model-dir", required=True, help=f"folder for the native model, e.g. models/<week>/{algo}")
    p.add_argument("--out", required=True, help=f"candidate record to write, e.g. weeks/<week>/candidates/{algo}.json")
    p.add_argument("--threads", type=int, default=1, help="training threads (default: %(default)s)")
    args = p.parse_args(argv)
    params = load_params(args.params)
    steps.train(
        algo, args.week, args.decision, args.window, args.model_dir, args.out,
        params["data"]["columns"], params["train"][algo], params["seed"], args.threads, args.log,
    )
