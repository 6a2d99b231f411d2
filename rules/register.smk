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
    log:
        "logs/register/{week}.log",
    run:
        steps.register(
            wildcards.week, input.decision, list(input.candidates), input.get("previous_tracker"),
            output.tracker, params.registry, params.columns, log[0],
        )
