rule predict:
    input:
        tracker=week_dir("{week}") + "/tracker.json",
        raw=week_raw_file,
    output:
        preds=week_dir("{week}") + "/preds.parquet",
    params:
        columns=config["data"]["columns"],
    log:
        "logs/predict/{week}.log",
    run:
        steps.predict(wildcards.week, input.tracker, input.raw, output.preds, params.columns, log[0])


rule evaluate:
    input:
        preds=week_dir("{week}") + "/preds.parquet",
        raw=week_raw_file,
    output:
        evaluation=week_dir("{week}") + "/eval.json",
    params:
        columns=config["data"]["columns"],
    log:
        "logs/evaluate/{week}.log",
    run:
        steps.evaluate(wildcards.week, input.preds, input.raw, output.evaluation, params.columns, log[0])
