"""Command-line plumbing shared by the scripts in `scripts/` (each step also runs by hand).

A script parses its options, then calls its step by keyword through `run`, which shows
the step's log lines on the console and turns a failure into exit status 1 after the
step has said why.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

from weekly.config import ConfigError, load_params
from weekly.logs import to_console


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the options every step takes."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml", help="parameters file (default: %(default)s)")
    p.add_argument("--log", help="log file to write, besides the console (default: none)")
    return p


def params(args: argparse.Namespace) -> dict:
    """The validated params.yaml named by --params; a bad file ends the command with its message."""
    try:
        return load_params(args.params)
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from None


def run(step: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a step by keyword with its log on the console."""
    to_console()
    try:
        return step(**kwargs)
    except Exception:
        raise SystemExit(1) from None  # the step has logged why, with the traceback if unexpected
