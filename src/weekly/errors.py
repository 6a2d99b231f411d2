"""Expected failures: stated in one line that names the file, the week and what is wrong.

A job log records these as their message; any other exception is a bug and is logged
with its traceback.
"""
from __future__ import annotations


class WeeklyError(ValueError):
    """An expected failure of a step (bad input, a broken precondition)."""


class StepError(WeeklyError):
    """A step's inputs do not fit together (window files, predictions against labels, ...)."""


class StateError(WeeklyError):
    """A file the chain wrote earlier is unreadable or inconsistent: the message names it and
    says what to do."""
