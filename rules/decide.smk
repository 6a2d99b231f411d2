# A week's decision lists, of its training window's raw files, only those the week before's
# window did not hold (the whole window for the first week): a corrected raw file re-runs
# the first decision that read it, and every later week follows through the tracker it
# reads. Training and registration take the window's paths as params. Listing the ~40 files
# of the window on each decision made most of Snakemake's DAG (6,000 of its 11,500 file
# lookups) and of its per-job bookkeeping.
rule decide:
    input:
        unpack(previous_week_state),
        new_raw_files=new_window_files,
    output:
        decision=DECISION,
    params:
        window_outcomes=window_outcomes,  # the guard counts their rows
        retrain=config["retrain"],
        window_weeks=config["train"]["window_weeks"],
        valid_weeks=config["train"]["valid_weeks"],
        label_delay_weeks=LABEL_DELAY,
        guard={key: config["train"][key] for key in ("min_rows", "min_class_rows")},
        minimums=config["evaluate"],
        columns=config["data"]["columns"],
        code=step_code("decide"),
    log:
        paths.log("decide", "week"),
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
