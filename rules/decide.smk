rule decide:
    input:
        unpack(previous_week_state),
    output:
        decision=DECISION,
    params:
        retrain=config["retrain"],
        window_weeks=config["train"]["window_weeks"],
        valid_weeks=config["train"]["valid_weeks"],
        code=CODE,
    log:
        paths.log("decide", "week"),
    run:
        steps.decide(
            week=wildcards.week,
            tracker=input.get("tracker"),
            evaluation=input.get("evaluation"),
            out=output.decision,
            retrain=params.retrain,
            window_weeks=params.window_weeks,
            valid_weeks=params.valid_weeks,
            log=log[0],
        )
