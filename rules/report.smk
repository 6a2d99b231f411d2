rule report:
    input:
        trackers=every_week(TRACKER),
        drifts=every_week(paths.DRIFT),
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
    output:
        weekly=paths.WEEKLY_REPORT,
        summary=paths.SUMMARY,
    params:
        registry=config["registry"],
        code=provenance.code_digest(["report"]),
    log:
        paths.log("report"),
    run:
        steps.report(**step_arguments(wildcards, input, output, params, log))


rule publish_tracker:
    input:
        tracker=TRACKER.format(week=WEEKS[-1]),
    output:
        latest=paths.LATEST_TRACKER,
    log:
        paths.log("publish_tracker"),
    run:
        steps.publish_tracker(**step_arguments(wildcards, input, output, params, log))
