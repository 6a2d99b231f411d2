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
        steps.predict(
            week=wildcards.week,
            tracker=input.tracker,
            raw=input.raw,
            out=output.preds,
            columns=params.columns,
            log=log[0],
        )


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
        steps.evaluate(
            week=wildcards.week,
            decision=input.decision,
            preds=input.preds,
            raw=input.raw,
            out=output.evaluation,
            columns=params.columns,
            log=log[0],
        )
