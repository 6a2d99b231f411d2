rule register:
    input:
        unpack(previous_tracker),
        decision=week_dir("{week}") + "/decision.json",
        candidates=candidate_records,
    output:
        tracker=week_dir("{week}") + "/tracker.json",
    params:
        order=config["train"]["models"],
        registry=config["registry"],
        columns=config["data"]["columns"],
    log:
        "logs/register/{week}.log",
    run:
        steps.register(
            wildcards.week,
            input.decision,
            list(input.candidates),
            input.get("previous_tracker"),
            output.tracker,
            params.order,
            params.registry,
            params.columns,
            log[0],
        )
