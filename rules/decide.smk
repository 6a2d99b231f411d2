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
        steps.decide(**step_arguments(wildcards, input, output, params, log))
