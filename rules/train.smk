# One job per candidate algorithm and week, so that the candidates train in parallel.
# When the week's decision is not to retrain, each only records that (and leaves its
# model folder empty).


rule train:
    input:
        decision=DECISION,
    output:
        candidate=paths.CANDIDATE,
        model=directory(paths.MODEL_DIR),
    params:
        window_applications=window_applications,  # the decisions list them (rules/decide.smk)
        window_outcomes=window_outcomes,
        columns=config["data"]["columns"],
        hyper=hyperparameters,
        fitting=fitting_settings(),
        seed=config["seed"],
        code=step_code("train"),
    log:
        paths.log("train", "algo", "week"),
    threads: 1
    run:
        run_step(rule, wildcards, input, output, params, log, threads)
