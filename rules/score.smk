rule predict:
    input:
        tracker=TRACKER,
        applications=APPLICATIONS,
    output:
        preds=PREDS,
        drift=paths.DRIFT,
    params:
        columns=config["data"]["columns"],
        code=CODE,
    log:
        paths.log("predict", "week"),
    run:
        steps.predict(**step_arguments(wildcards, input, output, params, log))


rule evaluate:
    input:
        decision=DECISION,
        tracker=TRACKER,
        preds=PREDS,
        drift=paths.DRIFT,
        outcomes=OUTCOMES,
    output:
        evaluation=EVALUATION,
    params:
        columns=config["data"]["columns"],
        min_rows=config["evaluate"]["min_rows"],
        code=CODE,
    log:
        paths.log("evaluate", "week"),
    run:
        steps.evaluate(**step_arguments(wildcards, input, output, params, log))
