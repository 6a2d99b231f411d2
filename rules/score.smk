rule predict:
    input:
        tracker=TRACKER,
        raw=week_raw_file,
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
        preds=PREDS,
        raw=week_raw_file,
    output:
        evaluation=EVALUATION,
    params:
        columns=config["data"]["columns"],
        code=CODE,
    log:
        paths.log("evaluate", "week"),
    run:
        steps.evaluate(**step_arguments(wildcards, input, output, params, log))
