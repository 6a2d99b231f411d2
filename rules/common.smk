# Week arithmetic and input functions shared by the rules. The path patterns (with the
# {week} and {algo} wildcards) come from weekly/paths.py, where each is written once.
# Imported as modules: bare names like `chain` would shadow Snakemake's own globals.
import os

from weekly import paths
from weekly.lifecycle import weeks as week_calendar
from weekly.workflow import provenance
from weekly.workflow.jobs import run_step

WEEKS = week_calendar.chain(config["start"], config["end"])
LABEL_DELAY = config["data"]["label_delay_weeks"]
APPLICATIONS = paths.applications(config["data"]["raw_dir"])
OUTCOMES = paths.outcomes(config["data"]["raw_dir"])
DECISION = paths.DECISION
TRACKER = paths.TRACKER
PREDS = paths.PREDS
EVALUATION = paths.EVALUATION


def step_code(step):
    """A rule's parameter `code`: the digest of its step's module and of what that imports
    (weekly.workflow.provenance), so that a change of the code a step runs makes that
    rule's jobs out of date, and only those. Not passed on to the step."""
    return provenance.code_of(f"weekly.workflow.steps.{step}")


def chain_week(wildcards):
    """The wildcard's week, checked to be a week of the chain. Every job of a week depends
    on its decision, whose input functions check: the other rules take plain patterns."""
    if wildcards.week not in WEEKS:
        raise ValueError(
            f"{wildcards.week} is not a week of the chain: weeks run every 7 days "
            f"from start {config['start']} to end {config['end']} (params.yaml)"
        )
    return wildcards.week


def previous_week_state(wildcards):
    """What the decision of a week reads: the previous week's tracker and drift, and its
    estimate with retrain.performance.use_estimate (none for the first week), and the
    newest evaluation known at the start of the week (none before the first of the chain
    is known); it carries its pooled evidence window."""
    week = chain_week(wildcards)
    state = {}
    if week != WEEKS[0]:
        state["tracker"] = TRACKER.format(week=week_calendar.previous(week))
        state["drift"] = paths.DRIFT.format(week=week_calendar.previous(week))
        if config["retrain"]["performance"]["use_estimate"]:
            state["estimate"] = paths.ESTIMATE.format(week=week_calendar.previous(week))
    newest = week_calendar.newest_labelled(week, LABEL_DELAY)
    state["evaluations"] = [EVALUATION.format(week=newest)] if newest >= WEEKS[0] else []
    return state


def previous_scoring(wildcards):
    """The previous week's drift and estimate, whose pools this week's drift test and
    estimate extend; none for the first week."""
    week = wildcards.week
    if week == WEEKS[0]:
        return {}
    previous = week_calendar.previous(week)
    return {"previous_drift": paths.DRIFT.format(week=previous), "previous_estimate": paths.ESTIMATE.format(week=previous)}


def previous_evidence(wildcards):
    """The previous week's evidence window, which this week's extends; none for the first week."""
    week = wildcards.week
    return {"previous_evidence": paths.EVIDENCE.format(week=week_calendar.previous(week))} if week != WEEKS[0] else {}


def previous_tracker(wildcards):
    """The previous week's tracker; none for the first week."""
    week = chain_week(wildcards)
    return {"previous_tracker": TRACKER.format(week=week_calendar.previous(week))} if week != WEEKS[0] else {}


def _window_of(week):
    """The longest training window of `week` (train.max_window_weeks): a retraining takes
    its window out of these weeks (decision.fitted_window), back to the first raw file."""
    weeks = week_calendar.labelled_window(week, config["train"]["max_window_weeks"], LABEL_DELAY)
    return [w for w in weeks if w >= HISTORY[0]]


def _window(wildcards):
    return _window_of(chain_week(wildcards))


def new_window_files(wildcards):
    """The raw files of the longest training window that the week before's did not hold
    (all of them for the first week of the chain), applications then outcomes."""
    week = chain_week(wildcards)
    weeks = _window_of(week)
    if week != WEEKS[0]:
        before = set(_window_of(week_calendar.previous(week)))
        weeks = [w for w in weeks if w not in before]
    return [APPLICATIONS.format(week=w) for w in weeks] + [OUTCOMES.format(week=w) for w in weeks]


def window_applications(wildcards):
    """Applications of the longest training window, oldest first: the newest weeks with known outcomes."""
    return [APPLICATIONS.format(week=w) for w in _window(wildcards)]


def window_outcomes(wildcards):
    """Outcomes of the longest training window, oldest first."""
    return [OUTCOMES.format(week=w) for w in _window(wildcards)]


def hyperparameters(wildcards):
    return config["train"][wildcards.algo]


# The week's candidate records, in params.yaml train.models order (it breaks ties).
CANDIDATES = expand(paths.CANDIDATE, algo=config["train"]["models"], allow_missing=True)


def evaluated_weeks():
    """The weeks whose outcomes are known by the end of the chain. With your own data, the
    last of them waits (unevaluated) until its outcomes file is there; every earlier one is
    needed by a decision."""
    weeks = week_calendar.evaluated_weeks(config["start"], config["end"], LABEL_DELAY)
    if weeks and not config["data"]["generate"] and not os.path.exists(OUTCOMES.format(week=weeks[-1])):
        return weeks[:-1]
    return weeks


EVALUATED = evaluated_weeks()
AWAITING = sorted(set(WEEKS) - set(EVALUATED))  # scored weeks whose outcomes are not known yet


def history_weeks():
    """The weeks before start that the chain reads: train.window_weeks (+ the label delay)
    always; further back, to train.max_window_weeks, the embedded data generates them and
    your own files are used where they are there (a small portfolio's first window
    extends back into them)."""
    needed = week_calendar.window(config["start"], config["train"]["window_weeks"] + LABEL_DELAY)
    longest = week_calendar.window(config["start"], max(config["train"]["max_window_weeks"], config["train"]["window_weeks"]) + LABEL_DELAY)
    if config["data"]["generate"]:
        return longest
    older = [w for w in longest if w < needed[0]]
    present = [w for w in older if os.path.exists(APPLICATIONS.format(week=w)) and os.path.exists(OUTCOMES.format(week=w))]
    # only an unbroken run of weeks back from the needed ones
    kept = []
    for w in reversed(older):
        if w not in present:
            break
        kept.append(w)
    return kept[::-1] + needed


HISTORY = history_weeks()


def every_raw_file():
    """Every raw file the chain reads: applications of the training history before start
    and of every week, outcomes of the history and of the weeks evaluated."""
    return [APPLICATIONS.format(week=w) for w in HISTORY + WEEKS] + [
        OUTCOMES.format(week=w) for w in HISTORY + EVALUATED
    ]


def every_week(pattern, **fields):
    return [pattern.format(week=week, **fields) for week in WEEKS]


def policy_comparison(wildcards):
    """The policy comparison's table and plot (`weekly policies`), for the lifecycle page, when they exist."""
    files = {"policies_table": paths.POLICIES_TABLE, "policies_plot": paths.POLICIES_PLOT}
    return {name: path for name, path in files.items() if os.path.exists(path)}


def every_model_dir():
    """The model folder of every candidate and week, and of every week's promoted winner
    (empty on weeks that did not retrain)."""
    return [path for algo in config["train"]["models"] for path in every_week(paths.MODEL_DIR, algo=algo)] + every_week(
        paths.WINNER_DIR
    )


def fitting_settings():
    """How a candidate is fitted and validated: recency weights, the refit, the decision
    threshold of a binary problem (train.threshold), the bootstrap resamples of its
    validation score's standard error (evaluate.resamples) and its score bands (score.bands)."""
    train = config["train"]
    return {"recency_half_life_weeks": train["recency_half_life_weeks"], "refit": train["refit"],
            "threshold": train["threshold"], "resamples": config["evaluate"]["resamples"],
            "bands": config["score"]["bands"]}
