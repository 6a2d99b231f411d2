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
        seed=config["seed"],
        code=CODE,
    log:
        paths.log("register", "week"),
    threads: 1
    run:
        steps.register(threads=threads, **step_arguments(wildcards, input, output, params, log))
