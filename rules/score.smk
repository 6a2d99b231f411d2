rule predict:
    input:
        unpack(previous_scoring),
        tracker=TRACKER,
        applications=APPLICATIONS,
    output:
        preds=PREDS,
        drift=paths.DRIFT,
        estimate=paths.ESTIMATE,
    params:
        columns=config["data"]["columns"],
        drift_policy=config["retrain"]["drift"],
        pooling=config["evaluate"],
        scoring=config["score"],
        seed=config["seed"],
        registry=config["registry"],  # its serving version is checked before the week scores
        ranges=config["data"]["ranges"],
        code=step_code("predict"),
    log:
        paths.log("predict", "week"),
    # the reason codes' contributions (TreeSHAP) take most of the step: a chain's predict
    # runs alone (the week's next step waits for it), and two threads halve them
    threads: 2
    run:
        run_step(rule, wildcards, input, output, params, log, threads)


rule evaluate:
    input:
        unpack(previous_evidence),
        decision=DECISION,
        tracker=TRACKER,
        preds=PREDS,
        drift=paths.DRIFT,
        estimate=paths.ESTIMATE,
        outcomes=OUTCOMES,
    output:
        evaluation=EVALUATION,
        evidence=paths.EVIDENCE,
    params:
        columns=config["data"]["columns"],
        pooling=config["evaluate"],
        scoring=config["score"],
        fairness_band=config["alerts"]["conditions"]["fairness"]["band"],
        psi_floor=config["retrain"]["drift"]["score_threshold"],
        seed=config["seed"],
        code=step_code("evaluate"),
    log:
        paths.log("evaluate", "week"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
