# The training window's raw files are this rule's inputs, and only this rule's: a corrected
# raw file re-runs the decision, and so (through decision.json) the week's training and
# registration, which take the window's paths as params. Listing ~40 files on three rules
# per week more than tripled Snakemake's bookkeeping per job (the DAG, input sizes, checksums).
rule decide:
    input:
        unpack(previous_week_state),
        window_outcomes=window_outcomes,
        window_applications=window_applications,
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
