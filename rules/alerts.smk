# The chain's alerts, once its weeks and the page they point to are done: each condition
# when it starts and when it clears, sent once (reports/alerts.jsonl records what was sent;
# it is no output: it only grows). A failed run, or a raw file of your own data that has not
# arrived, alerts from the logger plugin (snakemake_logger_plugin_weekly).
from weekly.alerting import alerts as alert_logic


rule alerts:
    input:
        decisions=every_week(DECISION),
        trackers=every_week(TRACKER),
        drifts=every_week(paths.DRIFT),
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
        # the pending weeks' estimates, when the performance trigger reads them
        estimates=[paths.ESTIMATE.format(week=week) for week in AWAITING]
        if config["retrain"]["performance"]["use_estimate"] else [],
        lifecycle=paths.LIFECYCLE_REPORT,
    output:
        events=paths.ALERT_EVENTS,
    params:
        alert_log=paths.ALERT_LOG,
        rules=alert_logic.settings(config),
        channels=config["alerts"]["channels"],
        registry=config["registry"],
        code=step_code("alerts"),
    log:
        paths.log("alerts"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
