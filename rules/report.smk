rule report:
    input:
        trackers=every_week(TRACKER),
        evaluations=every_week(EVALUATION),
    output:
        weekly=paths.WEEKLY_REPORT,
        summary=paths.SUMMARY,
    log:
        "logs/report/report.log",
    run:
        steps.write_reports(list(input.trackers), list(input.evaluations), output.weekly, output.summary, log[0])


rule publish_tracker:
    input:
        tracker=TRACKER.format(week=WEEKS[-1]),
    output:
        latest=paths.LATEST_TRACKER,
    log:
        "logs/publish_tracker/publish_tracker.log",
    run:
        steps.publish_tracker(input.tracker, output.latest, log[0])
