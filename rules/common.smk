# Week arithmetic and input functions shared by the rules. The path patterns (with the
# {week} and {algo} wildcards) come from weekly/paths.py, where each is written once.
# Imported as modules: bare names like `chain` would shadow Snakemake's own globals.
from weekly import paths, provenance
from weekly import weeks as week_calendar

WEEKS = week_calendar.chain(config["start"], config["end"])
RAW = paths.raw(config["data"]["raw_dir"])
DECISION = paths.DECISION
TRACKER = paths.TRACKER
PREDS = paths.PREDS
EVALUATION = paths.EVALUATION
# A rule parameter: a change of the package's code makes the chain's jobs out of date.
CODE = provenance.code_digest()


def chain_week(wildcards):
    """The wildcard's week, checked to be a week of the chain."""
    if wildcards.week not in WEEKS:
        raise ValueError(
            f"{wildcards.week} is not a week of the chain: weeks run every 7 days "
            f"from start {config['start']} to end {config['end']} (params.yaml)"
        )
    return wildcards.week


def previous_week_state(wildcards):
    """The previous week's tracker and evaluation; none for the first week."""
    week = chain_week(wildcards)
    if week == WEEKS[0]:
        return {}
    prev = week_calendar.previous(week)
    return {"tracker": TRACKER.format(week=prev), "evaluation": EVALUATION.format(week=prev)}


def previous_tracker(wildcards):
    """The previous week's tracker; none for the first week."""
    state = previous_week_state(wildcards)
    return {"previous_tracker": state["tracker"]} if state else {}


def training_window(wildcards):
    """Raw files of the N weeks before the week, oldest first (never the week itself)."""
    weeks = week_calendar.window(chain_week(wildcards), config["train"]["window_weeks"])
    return [RAW.format(week=w) for w in weeks]


def week_raw_file(wildcards):
    return RAW.format(week=chain_week(wildcards))


def hyperparameters(wildcards):
    return config["train"][wildcards.algo]


def candidate_records(wildcards):
    """The week's candidate records, in params.yaml train.models order (it breaks ties)."""
    week = chain_week(wildcards)
    return [paths.CANDIDATE.format(week=week, algo=algo) for algo in config["train"]["models"]]


def every_week(pattern):
    return [pattern.format(week=week) for week in WEEKS]
