rule report:
    input:
        trackers=every_week(TRACKER),
        drifts=every_week(paths.DRIFT),
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
        # the estimated performance of the weeks still awaiting their outcomes
        estimates=[paths.ESTIMATE.format(week=week) for week in AWAITING],
    output:
        weekly=report(paths.WEEKLY_REPORT, caption="captions/weekly.rst", category="Lifecycle"),
        summary=report(paths.SUMMARY, caption="captions/summary.rst", category="Lifecycle"),
    params:
        registry=config["registry"],
        models=config["train"]["models"],
        made_with={key: config[key] for key in ("start", "seed", "data")},
        code=step_code("report"),
    log:
        paths.log("report"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)


rule publish_tracker:
    input:
        tracker=TRACKER.format(week=WEEKS[-1]),
    output:
        latest=paths.LATEST_TRACKER,
    params:
        code=step_code("publish_tracker"),
    log:
        paths.log("publish_tracker"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)


rule lifecycle_report:
    input:
        unpack(policy_comparison),
        decisions=every_week(DECISION),
        trackers=every_week(TRACKER),
        drifts=every_week(paths.DRIFT),
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
        # the class mix of the weeks still awaiting their outcomes
        awaiting=[PREDS.format(week=week) for week in AWAITING],
        estimates=[paths.ESTIMATE.format(week=week) for week in AWAITING],
        summary=paths.SUMMARY,
    output:
        lifecycle=report(paths.LIFECYCLE_REPORT, caption="captions/lifecycle.rst", category="Lifecycle"),
    params:
        columns=config["data"]["columns"],
        code=step_code("lifecycle_report"),
    log:
        paths.log("lifecycle_report"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
