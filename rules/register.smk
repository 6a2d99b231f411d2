rule register:
    input:
        unpack(previous_tracker),
        decision=DECISION,
        candidates=CANDIDATES,
    output:
        tracker=TRACKER,
        winner_model=directory(paths.WINNER_DIR),
    params:
        window_applications=window_applications,  # the decisions list them (rules/decide.smk)
        window_outcomes=window_outcomes,
        registry=config["registry"],
        columns=config["data"]["columns"],
        challenger=config["train"]["challenger"],
        minimums=config["evaluate"],
        selection_metric=config["train"]["selection"]["metric"],
        scoring=config["score"],
        fairness_band=config["alerts"]["conditions"]["fairness"]["band"],
        seed=config["seed"],
        code=step_code("register"),
    log:
        paths.log("register", "week"),
    threads: 1
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
