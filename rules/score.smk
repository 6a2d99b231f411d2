rule predict:
    input:
        tracker=TRACKER,
        applications=week_applications,
    output:
        preds=PREDS,
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
        outcomes=week_outcomes,
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
