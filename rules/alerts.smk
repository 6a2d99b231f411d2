# The chain's alerts, once its weeks and the page they point to are done: each condition
# when it starts and when it clears, sent once (reports/alerts.jsonl records what was sent;
# it is no output: it only grows). A failed run alerts from the Snakefile's onerror.
from weekly import alerts as alert_logic
from weekly import senders

# With your own data, a week's file that has not arrived stops Snakemake before any job runs
# ("Missing input files", and no onerror): it alerts from here.
if not config["data"]["generate"]:
    senders.alert_missing_files([path for path in every_raw_file() if not os.path.exists(path)], config)


rule alerts:
    input:
        decisions=every_week(DECISION),
        trackers=every_week(TRACKER),
        drifts=every_week(paths.DRIFT),
        evaluations=[EVALUATION.format(week=week) for week in EVALUATED],
        lifecycle=paths.LIFECYCLE_REPORT,
    output:
        events=paths.ALERT_EVENTS,
    params:
        alert_log=paths.ALERT_LOG,
        rules=alert_logic.settings(config),
        channels=config["alerts"]["channels"],
        registry=config["registry"],
        code=provenance.code_digest(["alerts", "senders"]),
    log:
        paths.log("alerts"),
    run:
        senders.alerts(**step_arguments(wildcards, input, output, params, log))
