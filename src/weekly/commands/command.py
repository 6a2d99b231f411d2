"""`weekly`: ask the chain questions, score applications, import a table, compare policies,
run several portfolios, redraw the lifecycle page, show a registered version's model card.

Run it in the project folder (where params.yaml is). Each subcommand has --help; --json
prints one JSON document instead of text. An error is one line on stderr and exit status
1 (2 for a wrong command line). `status` and `explain` read the chain's JSON files only
and import no heavy library.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from weekly.errors import WeeklyError

EXAMPLES = """examples:
  weekly status                          where the chain stands, what the next week's decision looks at
  weekly explain 2023-03-12              who served that week, why, with which figures
  weekly score new.csv --out scored.csv  score applications with the serving model
  weekly import loans.csv                a table of applications (and outcomes) -> weekly raw files
  weekly policies                        backfill the policies of policies.yaml side by side
  weekly portfolios --profile profiles/slurm   the portfolios of portfolios.yaml, one SLURM job each
  weekly lifecycle                       rebuild reports/lifecycle.html from the chain's files
  weekly card champion --open            the serving version's model card, in the browser
  weekly step train --week 2023-03-12 --algo catboost   run one job of the chain again, by hand
"""


def _params(args: argparse.Namespace) -> dict:
    from weekly.config import load_params

    return load_params(args.params)


def _f(value: Any, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _trigger_lines(triggers: dict) -> list[str]:
    from weekly.lifecycle.decision import reading

    return [f"  {name:<12} {reading(name, trigger)}" for name, trigger in triggers.items()]


def _serving_line(serving: dict) -> str:
    return (f"{serving['model_type']} version {serving['model_version']} ({serving['model_uri']}, alias "
            f"{serving['model_alias']}), serving since {serving['since']}, validation macro F1 "
            f"{_f(serving['macro_f1_score'])}")


def _notes(lines: list[str]) -> list[str]:
    return [f"note: {line}" for line in lines]


def _figure(f: dict | None) -> str:
    if not f or f.get("value") is None:
        return "n/a"
    return f"{f['value']:.3f} [{f['low']:.3f}, {f['high']:.3f}]"


def _estimate_lines(estimates: dict) -> list[str]:
    """The pending weeks' estimated performance, labelled as estimated."""
    lines = []
    for week, e in estimates.items():
        if e is None:
            continue
        level = f"{e['confidence']:.0%} " if e.get("confidence") else ""
        lines.append(f"  {week} ESTIMATED (outcomes pending, from calibrated probabilities; {level}interval): "
                     f"macro F1 {_figure(e['macro_f1'])}, AUC {_figure(e['auc'])} on {e['rows']} scored rows, "
                     f"version {e['model_version']}")
    return lines


def status_text(answer: dict) -> str:
    """`weekly status` as a person reads it."""
    lines = [f"chain {answer['start']} .. {answer['end']}: {answer['done']} of {answer['weeks']} weeks done"]
    lines += _notes(answer.get("not_from_params") or [])
    if answer["pending"]:
        lines.append(f"pending: {len(answer['pending'])} weeks, {answer['pending'][0]} .. {answer['pending'][-1]}")
    if answer["awaiting_outcomes"]:
        lines.append(f"awaiting outcomes: {', '.join(answer['awaiting_outcomes'])}")
        lines += _estimate_lines(answer.get("estimates") or {})
    if answer["serving"] is None:
        lines.append("nothing has run yet: `snakemake --cores all all_weeks` backfills the chain")
        return "\n".join(lines)
    lines.append(f"serving after {answer['last_done']}: {_serving_line(answer['serving'])}")
    lines.append(f"retrainings so far: {answer['retrainings']}")
    nxt = answer["next_week"]
    where = "" if nxt["in_chain"] else " (after end: move `end` in params.yaml to run it)"
    verdict = f"retrain ({', '.join(nxt['reasons'])})" if nxt["retrain"] else "keep the serving model"
    lines.append(f"next week {nxt['week']}{where}: as things stand, {verdict}")
    lines.append(f"  it sees the evaluations of {', '.join(nxt['evaluations_it_sees']) or 'no week'}"
                 f" (known now: {', '.join(nxt['evaluations_known']) or 'none'}); a retraining would learn from "
                 f"{nxt['training_window']['first']} .. {nxt['training_window']['last']}")
    lines += _trigger_lines(nxt["triggers"])
    return "\n".join(lines)


def _what_the_week_did(answer: dict) -> str:
    from weekly.commands import queries

    serving, outcome = answer["serving"], answer["outcome"]
    kept = f"version {serving['model_version']} ({serving['model_type']}) kept, serving since {serving['since']}"
    if outcome == queries.RETRAINED:
        return f"retrained: version {serving['model_version']} ({serving['model_type']}) serves from this week"
    if outcome == queries.QUIET:
        return f"kept the serving model (no retraining due): {kept}"
    why = "the challenger was kept out" if outcome == queries.KEPT_OUT else answer["kept_because"] or "no new model"
    return f"retraining due ({', '.join(answer['reasons'])}), no new model promoted: {why}; {kept}"


def explain_text(answer: dict) -> str:
    """`weekly explain WEEK` as a person reads it."""
    if answer["retrain"]:
        decided = f"retrain ({', '.join(answer['reasons'])})"
    elif answer["reasons"]:
        decided = f"retraining due ({', '.join(answer['reasons'])}) but blocked: {answer['blocked'] or 'see the guard'}"
    else:
        decided = "no retraining"
    lines = [f"week {answer['week']}: {_what_the_week_did(answer)}", *_notes(answer.get("not_from_params") or []),
             f"decision: {decided}; newest evaluation it saw: {answer['evaluation_seen'] or 'none'}"]
    lines += _trigger_lines(answer["triggers"])
    lines.append(f"served by {_serving_line(answer['serving'])}")
    selection = answer["selection"]
    if selection:
        scores = ", ".join(f"{algo} {_f(score)}" for algo, score in selection["scores"].items())
        excluded = "; ".join(f"{algo}: {why}" for algo, why in (selection.get("excluded") or {}).items())
        lines.append(f"selection: {scores} -> {selection['winner'] or 'none may serve'}"
                     + (f" (excluded: {excluded})" if excluded else ""))
        gate = selection.get("gate")
        if gate:
            lines.append(f"challenger gate: {'passed' if gate['passed'] else 'kept out'}: {gate['why']}")
    elif answer["reasons"]:
        lines.append("selection: no candidate was trained this week")
    ev = answer["evaluation"]
    if ev is None:
        lines.append("outcomes: not known yet")
    else:
        small = " (too small to judge)" if ev["too_small"] else ""
        lines.append(f"outcomes: macro F1 {_f(ev['macro_f1'])}, AUC {_f(ev['auc'])}, accuracy {_f(ev['accuracy'])}, "
                     f"Brier {_f(ev['brier'])}, log loss {_f(ev['log_loss'])} on {ev['rows']} rows{small}")
        pooled = ev.get("pooled")
        if pooled and pooled["judged"]:
            f1, auc = pooled["macro_f1"], pooled["auc"]
            lines.append(f"evidence window {pooled['first_week']}..{pooled['last_week']} ({pooled['weeks']} week(s), "
                         f"{pooled['rows']} rows): macro F1 {_f(f1['value'])} [{_f(f1['low'])}, {_f(f1['high'])}], "
                         f"AUC {_f(auc['value'])} [{_f(auc['low'])}, {_f(auc['high'])}]"
                         + (" - predicts a single class" if pooled["single_class"] else ""))
        elif pooled:
            lines.append(f"evidence window: not judged ({pooled['why_not']})")
    drift = answer["drift"]
    top = ", ".join(f"{name} {_f(value, 3)}" for name, value in drift["top_features"].items())
    lines.append(f"PSI of the week alone ({drift['rows']} applications; noisy when small) against the serving "
                 f"model's training rows: score {_f(drift['score_psi'], 3)}; {top}")
    pooled = drift["pooled"]
    if pooled and pooled["judged"]:
        moved = ", ".join(f"{name} {_f(value, 3)}" for name, value in pooled["moved"].items()) or "none"
        lines.append(f"drift test over {pooled['weeks']} week(s), {pooled['rows']} applications: moved {moved}"
                     + ("; the score moved" if pooled["score_moved"] else "")
                     + (f"; turned missing: {', '.join(pooled['turned_missing'])}" if pooled["turned_missing"] else ""))
    elif pooled:
        lines.append(f"drift test: not judged ({pooled['why_not']})")
    return "\n".join(lines)


def _status(args: argparse.Namespace) -> tuple[dict, str]:
    from weekly.commands import queries

    answer = queries.status(_params(args))
    return answer, status_text(answer)


def _explain(args: argparse.Namespace) -> tuple[dict, str]:
    from weekly.commands import queries

    answer = queries.explain(_params(args), args.week)
    return answer, explain_text(answer)


def serving_tracker(params: dict, week: str | None, project: Path) -> tuple[str, dict]:
    """The tracker whose model `weekly score` uses, checked before any model file is opened:
    `week` must be a week of the chain (weeks/<week>/tracker.json; None: the latest,
    models/last_retraining_date.json); its model must lie inside the project's models/
    folder, and the tracker must record its sha256 (which models.load checks before it
    builds the model). Returns the tracker's path and content."""
    from weekly import paths
    from weekly.lifecycle import weeks as calendar

    if week is not None and week not in calendar.chain(params["start"], params["end"]):
        raise WeeklyError(f"--week {week!r} is not a week of the chain: a date YYYY-MM-DD every 7 days from "
                          f"{params['start']} to {params['end']} (params.yaml)")
    where = paths.TRACKER.format(week=week) if week else paths.LATEST_TRACKER
    path = project / where
    if not path.exists():
        whose, target = (f"week {week}", where) if week else ("the chain", "all_weeks")
        raise WeeklyError(f"{whose} has no serving model yet ({where} is missing): "
                          f"`snakemake --cores all {target}` runs the chain")
    redo = (f"the tracker was edited or comes from an older version; re-run the week: delete {where} and run "
            "`snakemake --cores all all_weeks`")
    try:
        tracker = json.loads(path.read_text())
        model, expected = Path(tracker["model_path"]), tracker.get("model_sha256")
    except (ValueError, KeyError, TypeError) as exc:
        raise WeeklyError(f"{where} is not a tracker the chain wrote ({exc.__class__.__name__}: {exc}): "
                          f"{redo}") from None
    resolved = (project / model).resolve()
    if not resolved.is_relative_to((project / "models").resolve()):
        raise WeeklyError(f"{where}: model_path {str(model)!r} is outside the project's models/ folder: {redo}")
    if not isinstance(expected, str) or not expected:
        raise WeeklyError(f"{where} records no model_sha256 for {model}: {redo}")
    if not resolved.is_file():
        raise WeeklyError(f"{model}, the model serving {where}, is missing: `snakemake --cores all all_weeks` "
                          "makes it again")
    return where, tracker  # models.load checks the file's bytes against model_sha256 before it builds the model


def _score(args: argparse.Namespace) -> tuple[dict, str]:
    import os

    params = _params(args)
    # the tracker and the digest of its model are checked before the model is loaded
    tracker, _ = serving_tracker(params, args.week, Path.cwd())
    from weekly.workflow.steps.predict import score_batch as score_batch_step

    reasons = params["score"]["reasons"] if args.reasons is None else args.reasons
    scored = score_batch_step(table=args.table, tracker=tracker, out=args.out, columns=params["data"]["columns"],
                              reasons=reasons, sep=args.sep, threads=os.cpu_count() or 1)
    answer = {"scored": len(scored), "model": scored.attrs["model"], "out": args.out}
    return answer, f"scored {len(scored)} applications with {scored.attrs['model']} -> {args.out}"


def _import(args: argparse.Namespace) -> tuple[dict, str]:
    import os

    from weekly.commands import queries
    from weekly.workflow.steps.import_table import import_table as import_table_step

    params = _params(args)
    raw_dir = args.out or params["data"]["raw_dir"]
    # asked before the import rewrites the raw files the answer reads
    into_chain = os.path.abspath(raw_dir) == os.path.abspath(params["data"]["raw_dir"])
    generated = into_chain and queries.generated_chain(params)
    written = import_table_step(
        table=args.table, raw_dir=raw_dir, columns=params["data"]["columns"],
        start=params["start"], generate=params["data"]["generate"], date_format=args.date_format, sep=args.sep,
        drop=args.drop,
    )
    empty = written["empty_weeks"]
    text = (f"wrote {len(written['applications'])} weeks of applications and {len(written['outcomes'])} of outcomes"
            + (f"; {len(empty)} empty week(s): {', '.join(empty)}" if empty else ""))
    outputs = [name for name in ("weeks/", "models/", "reports/") if os.path.isdir(name)]
    if generated and outputs:
        text += (f"\nthe chain's files here ({', '.join(outputs)}) come from the embedded synthetic data: the next "
                 "`snakemake --cores all all_weeks` replaces them with this data's")
    return {**{key: written[key] for key in ("applications", "outcomes", "empty_weeks")},
            "replaces_generated": bool(generated and outputs)}, text


def _only(chosen: dict, args: argparse.Namespace, source: str, kind: str) -> dict:
    """The chains of a grid that `--only` names (all of them without it); a name the file
    does not hold is an error."""
    unknown = sorted(set(args.only or []) - set(chosen))
    if unknown:
        raise WeeklyError(f"{source}: no {kind} named {', '.join(unknown)}")
    return {name: overrides for name, overrides in chosen.items() if not args.only or name in args.only}


def _policies(args: argparse.Namespace) -> tuple[dict, str]:
    import time

    from weekly.commands import policies
    from weekly.io import write_csv

    params = _params(args)
    chosen = policies.read_policies(args.policies)
    project = Path.cwd()
    started = time.perf_counter()
    policies.backfill(project, _only(chosen, args, args.policies, "policy"), cores=args.cores, parallel=args.parallel,
                      profile=args.profile, say=(lambda line: None) if args.json else print)
    seconds = time.perf_counter() - started
    table = policies.compare(params, chosen, project / policies.FOLDER)
    write_csv(args.table, table)
    policies.plot(table, {n: policies.weekly_table(project / policies.FOLDER / n) for n in chosen},
                  params["retrain"]["performance"]["floor"], args.plot)
    text = (policies.table_text(table)
            + f"\n{len(chosen)} policies in {seconds:.1f} s -> {args.table}, {args.plot}")
    page = lifecycle_page(params)  # the project's page shows the comparison too
    text += f"\nlifecycle page with the comparison -> {page}" if page else ""
    return {"seconds": round(seconds, 1), "table": args.table, "plot": args.plot, "lifecycle": page,
            "policies": json.loads(table.to_json(orient="records"))}, text


def _portfolios(args: argparse.Namespace) -> tuple[dict, str]:
    import time

    from weekly.commands import portfolios
    from weekly.io import write_csv

    params = _params(args)
    chosen = portfolios.read_portfolios(args.portfolios)
    selected = _only(chosen, args, args.portfolios, "portfolio")
    project = Path.cwd()
    if args.prepare:
        root = portfolios.prepare(project, selected)
        return {"prepared": [str(root / name / "params.yaml") for name in selected]}, \
            "\n".join(f"{name}: {root / name / 'params.yaml'}" for name in selected)
    started = time.perf_counter()
    portfolios.backfill(project, selected, cores=args.cores, parallel=args.parallel, profile=args.profile,
                        say=(lambda line: None) if args.json else print)
    seconds = time.perf_counter() - started
    table = portfolios.summarise(params, chosen, project / portfolios.FOLDER)
    write_csv(args.table, table)
    text = (table.drop(columns=["raw_dir"]).to_string(index=False)
            + f"\n{len(chosen)} portfolios in {seconds:.1f} s -> {args.table}")
    return {"seconds": round(seconds, 1), "table": args.table,
            "portfolios": json.loads(table.to_json(orient="records"))}, text


def lifecycle_page(params: dict) -> str | None:
    """Rebuild the lifecycle page (reports/lifecycle.html) from the chain's files in the
    working folder: Snakemake runs the rule lifecycle_report's one job, which adds the
    policy comparison (reports/policies.csv and .svg) when it exists. Returns the page's
    path, or None when the chain has not made the page's inputs yet."""
    import os

    from weekly import paths
    from weekly.lifecycle import weeks as calendar
    from weekly.workflow import by_hand

    chain = calendar.chain(params["start"], params["end"])
    weekly = [pattern.format(week=w) for w in chain for pattern in (paths.DECISION, paths.TRACKER, paths.DRIFT)]
    if not all(map(os.path.exists, [paths.SUMMARY, *weekly])):
        return None
    status = by_hand.by_snakemake("lifecycle_report", params["data"]["raw_dir"])
    if status:
        raise WeeklyError(f"Snakemake could not rebuild the page (exit status {status}): see its lines above")
    return paths.LIFECYCLE_REPORT


def _step(args: argparse.Namespace) -> tuple[dict, str]:
    from weekly.workflow import by_hand

    given = {"week": args.week, "algo": args.algo}
    if args.outside:
        by_hand.outside(args.step, threads=args.cores, **given)
        return {"step": args.step, **given, "outside": True}, f"{args.step} ran here: see {by_hand.job_log(args.step, **given)}"
    status = by_hand.by_snakemake(args.step, _params(args)["data"]["raw_dir"], args.cores, **given)
    if status:
        raise WeeklyError(f"Snakemake could not run the job (exit status {status}): see its lines above")
    return {"step": args.step, **given, "outside": False}, f"{args.step} done: see {by_hand.job_log(args.step, **given)}"


def _lifecycle(args: argparse.Namespace) -> tuple[dict, str]:
    page = lifecycle_page(_params(args))
    if page is None:
        raise WeeklyError("the chain's files are not all there yet (every week's decision, tracker and drift, "
                          "reports/summary.json): run `snakemake --cores all all_weeks` first")
    return {"lifecycle": page}, f"lifecycle page -> {page}"




def card_folder(project: Path, version: str) -> tuple[str, str, Path]:
    """Where the model card of `version` (a registered version's number, or `champion`: the
    newest week's) lies: the folder of the model its trackers (weeks/<week>/tracker.json)
    name. Returns the version, the week it registered (the first week it served) and the
    folder, relative to the project as the trackers write it."""
    import re

    from weekly import paths

    if version != "champion" and not version.isdigit():
        raise WeeklyError(f"{version!r} is not a version: give a registered version's number, or champion")
    pattern = paths.TRACKER.format(week="*")
    found = sorted(p for p in project.glob(pattern) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.parent.name))
    if not found:
        raise WeeklyError(f"no week has run here (no {pattern} under {project}): "
                          "`snakemake --cores all all_weeks` runs the chain")
    trackers = []
    for path in found:
        where = path.relative_to(project)
        try:
            tracker = json.loads(path.read_text())
            trackers.append((str(tracker["model_version"]), tracker.get("week") or path.parent.name,
                             Path(tracker["model_path"]), bool(tracker.get("retrained"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise WeeklyError(f"{where} is not a tracker the chain wrote ({exc.__class__.__name__}: {exc}): re-run "
                              f"the week: delete {where} and run `snakemake --cores all all_weeks`") from None
    version = trackers[-1][0] if version == "champion" else str(int(version))
    served = [t for t in trackers if t[0] == version]
    if not served:
        known = ", ".join(sorted({t[0] for t in trackers}, key=lambda v: (len(v), v)))
        raise WeeklyError(f"no week's tracker names version {version} (versions here: {known})")
    # the week it registered: the one that retrained to it, else the first it served
    _, week, model, _ = next((t for t in served if t[3]), served[0])
    if not (project / model).resolve().is_relative_to((project / "models").resolve()):
        raise WeeklyError(f"the trackers of version {version} name a model outside the project's models/ folder "
                          f"({model}): re-run its week {week}")
    return version, week, model.parent


def _card(args: argparse.Namespace) -> tuple[dict, str]:
    from weekly import paths
    from weekly.reporting import card as cards

    project = Path.cwd()
    version, week, folder = card_folder(project, args.version)
    card_file, page = folder / paths.CARD_JSON, folder / paths.CARD_HTML
    if not (project / card_file).is_file():
        raise WeeklyError(f"version {version} has no model card ({card_file} is missing): cards are written when a "
                          f"version registers; a store made before model cards: re-run week {week} to write it")
    try:
        card = json.loads((project / card_file).read_text())
        if not isinstance(card, dict):
            raise TypeError(f"a {type(card).__name__}, not an object")
    except (ValueError, TypeError) as exc:
        raise WeeklyError(f"{card_file} is not a card the registration wrote ({exc.__class__.__name__}: {exc}): "
                          f"re-run week {week}") from None
    if str(card.get("version")) != version:
        raise WeeklyError(f"{card_file} is the card of version {card.get('version')}, not of version {version} "
                          f"whose model lies beside it: re-run week {week}")
    answer = {"version": version, "week": week, "card_json": str(card_file), "card_html": str(page), "card": card}
    if not (args.html or args.open):
        return answer, cards.text(card)
    if not (project / page).is_file():
        raise WeeklyError(f"{page} is missing (its {paths.CARD_JSON} is there): re-run week {week}, or read the card "
                          f"as text: `weekly card {version}`")
    if args.open:
        import webbrowser

        answer["opened"] = bool(webbrowser.open((project / page).resolve().as_uri()))
        if not answer["opened"]:
            return answer, f"{page}\nnote: no browser could be started here: open the file above by hand"
    return answer, str(page)


def parser() -> argparse.ArgumentParser:
    """The command line of `weekly` and its subcommands."""
    from weekly import paths

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml", help="parameters file (default: %(default)s)")
    common.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p = argparse.ArgumentParser(prog="weekly", description=__doc__, epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable, help: str) -> argparse.ArgumentParser:
        one = sub.add_parser(name, parents=[common], help=help, description=help)
        one.set_defaults(run=run)
        return one

    command("status", _status, "weeks done and pending, the serving model, what the next week's decision looks at")
    explain = command("explain", _explain, "who served a week and why: triggers, selection, the week's metrics")
    explain.add_argument("week", help="the week, by its first day (YYYY-MM-DD)")
    score = command("score", _score, "score a CSV or Parquet table of applications with a week's serving model")
    score.add_argument("table", help="CSV or Parquet file: id, date, feature columns and carried segment columns "
                       "(a label column is ignored)")
    score.add_argument("--week", help="whose serving model: a week of the chain, YYYY-MM-DD, its tracker "
                                      "weeks/<week>/tracker.json (default: the latest week's)")
    score.add_argument("--out", default="scored.csv", help="predictions to write, .csv or .parquet (default: %(default)s)")
    score.add_argument("--sep", help="CSV separator (default: ,)")
    score.add_argument("--reasons", type=int, metavar="K",
                       help="reason codes per application: the K features that pushed its score most toward the "
                            "adverse class (default: params.yaml score.reasons; 0: none)")
    imp = command("import", _import, "split a table of applications (and outcomes) into the weekly raw files; "
                  "when the chain's files on disk (weeks/, models/, reports/) come from the embedded synthetic data, "
                  "says so: the next `snakemake --cores all all_weeks` replaces them")
    imp.add_argument("table", help="CSV or Parquet file with one row per application")
    imp.add_argument("--out", help="raw data folder (default: params.yaml data.raw_dir)")
    imp.add_argument("--sep", help="CSV separator (default: ,)")
    imp.add_argument("--date-format", help="strftime format of the date column, e.g. %%d/%%m/%%Y (default: ISO dates)")
    imp.add_argument("--drop", nargs="+", default=[], help="columns of the table to leave out")
    pol = command("policies", _policies, "backfill the retraining policies of a policies file side by side, compare them")
    pol.add_argument("--policies", default="policies.yaml", help="the policies file (default: %(default)s)")
    pol.add_argument("--only", nargs="+", metavar="NAME", help="backfill only these (the table lists every policy backfilled so far)")
    pol.add_argument("--table", default=paths.POLICIES_TABLE, help="table to write (default: %(default)s)")
    pol.add_argument("--plot", default=paths.POLICIES_PLOT, help="plot to write (default: %(default)s)")
    por = command("portfolios", _portfolios, "backfill the portfolios of a portfolios file, each on its own data; "
                  "one combined summary")
    por.add_argument("--portfolios", default="portfolios.yaml", help="the portfolios file (default: %(default)s)")
    por.add_argument("--only", nargs="+", metavar="NAME", help="backfill only these (the summary lists every portfolio backfilled so far)")
    por.add_argument("--table", default=paths.PORTFOLIOS_TABLE, help="summary to write (default: %(default)s)")
    por.add_argument("--prepare", action="store_true",
                     help="only write each portfolio's params.yaml (portfolios/<name>/), e.g. to import its data with it")
    for grid_command in (pol, por):
        grid_command.add_argument("--cores", type=int, default=2,
                                  help="cores of each chain (each SLURM job's threads) (default: %(default)s)")
        grid_command.add_argument("--parallel", type=int, default=2,
                                  help="chains backfilled at once here, without --profile (default: %(default)s)")
        grid_command.add_argument("--profile", metavar="FOLDER",
                                  help="a Snakemake profile to run the chains with, e.g. profiles/slurm: one SLURM "
                                       "job per chain (default: here, --parallel at a time)")
    from weekly.workflow import by_hand

    step = command("step", _step, "run one step of the chain by hand, by its rule's name and wildcards: Snakemake "
                   "runs that one job (its inputs must be there), or --outside runs it here with the arguments "
                   "its job was last given")
    step.add_argument("step", choices=list(by_hand.RULES), help="the rule")
    step.add_argument("--week", help="the job's week (YYYY-MM-DD), for the rules of a week")
    step.add_argument("--algo", help="the candidate algorithm, for rule train")
    by_hand.add_options(step)
    command("lifecycle", _lifecycle, "rebuild reports/lifecycle.html, the weeks at a glance, from the chain's files")
    card = command("card", _card, "a registered version's model card (the validation document written beside its "
                   "model when it registered): as text, or its HTML page")
    card.add_argument("version", help="a registered model version's number, or champion: the newest week's")
    card.add_argument("--html", action="store_true", help="print the path of the card's HTML page instead")
    card.add_argument("--open", action="store_true", help="open the HTML page in the default browser, print its path")
    return p


def _one_line(exc: BaseException) -> str:
    from weekly.secrets import redact

    return redact(" ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or exc.__class__.__name__)


def _quiet_steps() -> None:
    """The steps `weekly` calls log their failure to their job log, and with no handler
    Python's last resort would print it to stderr before the command's own error line: the
    package's warnings still reach stderr, its failure records do not (main says why)."""
    from weekly.logs import CAPTURED, Redacting

    package = logging.getLogger(CAPTURED[0])
    if not any(isinstance(h, _Stderr) for h in package.handlers):
        handler = _Stderr()
        handler.setFormatter(Redacting())
        handler.setLevel(logging.WARNING)
        handler.addFilter(lambda record: record.name != "weekly.job")
        package.addHandler(handler)


class _Stderr(logging.StreamHandler):
    # sys.stderr as it is when a record comes (a test may have replaced it since)
    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    """Run `weekly`; returns the exit status. A failure is one line on stderr, `weekly
    COMMAND: error: ...`, and status 1."""
    args = parser().parse_args(argv)
    _quiet_steps()
    try:
        answer, text = args.run(args)
    except (WeeklyError, RuntimeError, OSError) as exc:
        print(f"weekly {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2, default=str) if args.json else text)
    return 0


def step_script(rule: str, doc: str, argv: list[str] | None = None) -> int:
    """The command line of scripts/<rule>.py: the rule's wildcards, --outside, --cores."""
    from weekly.workflow import by_hand

    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in by_hand.RULES[rule][1]:
        p.add_argument(f"--{name}", required=True, help="the job's week (YYYY-MM-DD)" if name == "week"
                       else "the candidate algorithm (params.yaml train.models)")
    by_hand.add_options(p)
    p.add_argument("--params", default="params.yaml", help="parameters file (default: %(default)s)")
    args = p.parse_args(argv)
    return main(["step", rule, *(f"--{n}={getattr(args, n)}" for n in by_hand.RULES[rule][1]),
            *(["--outside"] if args.outside else []), f"--cores={args.cores}", f"--params={args.params}"])


def table_script(command: str, argv: list[str]) -> int:
    """The command line of scripts/score_batch.py and scripts/import_table.py: `weekly
    COMMAND`'s, with the table given as --table instead of first."""
    argv = list(argv)
    if "--table" in argv:
        at = argv.index("--table")
        argv = [*argv[at + 1:at + 2], *argv[:at], *argv[at + 2:]]
    return main([command, *argv])


def main_exit() -> None:
    """The console entry point: `weekly ...`."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `weekly status | head`: the reader had enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    main_exit()
