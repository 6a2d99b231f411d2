rule register:
    input:
        unpack(previous_tracker),
        decision=DECISION,
        candidates=candidate_records,
    output:
        tracker=TRACKER,
    params:
        registry=config["registry"],
        columns=config["data"]["columns"],
        code=CODE,
    log:
        paths.log("register", "week"),
    run:
        steps.register(**step_arguments(wildcards, input, output, params, log))
