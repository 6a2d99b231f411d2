rule decide:
    input:
        unpack(previous_week_state),
    output:
        decision=DECISION,
    params:
        retrain=config["retrain"],
        window_weeks=config["train"]["window_weeks"],
        valid_weeks=config["train"]["valid_weeks"],
    log:
        "logs/decide/{week}.log",
    run:
        steps.decide(
            wildcards.week, input.get("tracker"), input.get("evaluation"), output.decision,
            params.retrain, params.window_weeks, params.valid_weeks, log[0],
        )
