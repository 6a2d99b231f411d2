rule report:
    input:
        trackers=[f"{week_dir(week)}/tracker.json" for week in WEEKS],
        evaluations=[f"{week_dir(week)}/eval.json" for week in WEEKS],
    output:
        weekly="reports/weekly.csv",
        summary="reports/summary.json",
    log:
        "logs/report/report.log",
    run:
        steps.write_reports(
            WEEKS, list(input.trackers), list(input.evaluations), output.weekly, output.summary, log[0]
        )


rule publish_tracker:
    input:
        tracker=week_dir(WEEKS[-1]) + "/tracker.json",
    output:
        latest="models/last_retraining_date.json",
    log:
        "logs/publish_tracker/publish_tracker.log",
    run:
        steps.publish_tracker(input.tracker, output.latest, log[0])
