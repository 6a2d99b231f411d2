rule predict:
    input:
        tracker=TRACKER,
        raw=week_raw_file,
    output:
        preds=PREDS,
    params:
        columns=config["data"]["columns"],
    log:
        "logs/predict/{week}.log",
    run:
        steps.predict(wildcards.week, input.tracker, input.raw, output.preds, params.columns, log[0])


rule evaluate:
    input:
        preds=PREDS,
        raw=week_raw_file,
    output:
        evaluation=EVALUATION,
    params:
        columns=config["data"]["columns"],
    log:
        "logs/evaluate/{week}.log",
    run:
        steps.evaluate(wildcards.week, input.preds, input.raw, output.evaluation, params.columns, log[0])
