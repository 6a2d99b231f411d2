# Week arithmetic and input functions shared by the rules.
# Imported as a module: bare names like `chain` would shadow Snakemake's own globals.
from weekly import weeks as week_calendar

WEEKS = week_calendar.chain(config["start"], config["end"])
RAW = config["data"]["raw_dir"]


def raw_file(week):
    return f"{RAW}/{week}.parquet"


def week_dir(week):
    return f"weeks/{week}"


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
    prev = week_dir(week_calendar.previous(week))
    return {"tracker": f"{prev}/tracker.json", "evaluation": f"{prev}/eval.json"}


def previous_tracker(wildcards):
    """The previous week's tracker; none for the first week."""
    state = previous_week_state(wildcards)
    return {"previous_tracker": state["tracker"]} if state else {}


def training_window(wildcards):
    """Raw files of the N weeks before the week, oldest first (never the week itself)."""
    return [raw_file(w) for w in week_calendar.window(chain_week(wildcards), config["train"]["window_weeks"])]


def week_raw_file(wildcards):
    return raw_file(chain_week(wildcards))


def candidate_records(wildcards):
    return [f"{week_dir(chain_week(wildcards))}/candidates/{algo}.json" for algo in config["train"]["models"]]


def all_week_files():
    files = ("decision.json", "tracker.json", "preds.parquet", "eval.json")
    return [f"{week_dir(week)}/{name}" for week in WEEKS for name in files]
