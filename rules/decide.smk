rule decide:
    input:
        unpack(previous_week_state),
        window_outcomes=window_outcomes,
    output:
        decision=DECISION,
    params:
        retrain=config["retrain"],
        window_weeks=config["train"]["window_weeks"],
        valid_weeks=config["train"]["valid_weeks"],
        label_delay_weeks=LABEL_DELAY,
        guard={key: config["train"][key] for key in ("min_rows", "min_class_rows")},
        columns=config["data"]["columns"],
        code=CODE,
    log:
        paths.log("decide", "week"),
    run:
        steps.decide(**step_arguments(wildcards, input, output, params, log))
