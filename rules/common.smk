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
# A parameter of the chain's rules, so that a change of the package's code makes their
# jobs out of date. Not passed on to the steps.
CODE = provenance.code_digest()


def step_arguments(wildcards, input, output, params, log):
    """A step's keyword arguments: the names the rule gives its wildcards, input, output and
    params (but `code`), and its log. The wiring of a step is these names, written once."""
    arguments = {"log": log[0]}
    for group in (wildcards, input, output, params):
        for name, value in group.items():
            if name == "code":
                continue
            if name in arguments:
                raise ValueError(f"'{name}' names two things of one rule")
            arguments[name] = list(value) if isinstance(value, list) else value
    return arguments


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


def every_raw_file():
    """The raw file of every week the chain reads: the training history before start, then start..end."""
    weeks = week_calendar.raw_weeks(config["start"], config["end"], config["train"]["window_weeks"])
    return [RAW.format(week=week) for week in weeks]


def every_week(pattern, **fields):
    return [pattern.format(week=week, **fields) for week in WEEKS]


def every_model_dir():
    """The model folder of every candidate and week (empty on weeks that did not retrain)."""
    return [path for algo in config["train"]["models"] for path in every_week(paths.MODEL_DIR, algo=algo)]
