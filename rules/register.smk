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
        steps.register(
            week=wildcards.week,
            decision=input.decision,
            candidates=list(input.candidates),
            previous_tracker=input.get("previous_tracker"),
            out=output.tracker,
            registry=params.registry,
            columns=params.columns,
            log=log[0],
        )
