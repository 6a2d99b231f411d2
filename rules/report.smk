rule report:
    input:
        trackers=every_week(TRACKER),
        evaluations=every_week(EVALUATION),
    output:
        weekly=paths.WEEKLY_REPORT,
        summary=paths.SUMMARY,
    params:
        code=provenance.code_digest(["report"]),
    log:
        paths.log("report"),
    run:
        steps.write_reports(
            trackers=list(input.trackers),
            evaluations=list(input.evaluations),
            weekly_csv=output.weekly,
            summary_json=output.summary,
            log=log[0],
        )


rule publish_tracker:
    input:
        tracker=TRACKER.format(week=WEEKS[-1]),
    output:
        latest=paths.LATEST_TRACKER,
    log:
        paths.log("publish_tracker"),
    run:
        steps.publish_tracker(tracker=input.tracker, out=output.latest, log=log[0])
