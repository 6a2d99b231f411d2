# The two candidates are separate jobs so that they train in parallel. When the week's
# decision is not to retrain, each only records that in its candidate file.


rule train_lightgbm:
    input:
        decision=week_dir("{week}") + "/decision.json",
        window=training_window,
    output:
        candidate=week_dir("{week}") + "/candidates/lightgbm.json",
    params:
        model_dir="models/{week}/lightgbm",
        columns=config["data"]["columns"],
        hyper=config["train"]["lightgbm"],
        seed=config["seed"],
    log:
        "logs/train_lightgbm/{week}.log",
    threads: 1
    run:
        steps.train(
            "lightgbm",
            wildcards.week,
            input.decision,
            list(input.window),
            params.model_dir,
            output.candidate,
            params.columns,
            params.hyper,
            params.seed,
            threads,
            log[0],
        )


rule train_catboost:
    input:
        decision=week_dir("{week}") + "/decision.json",
        window=training_window,
    output:
        candidate=week_dir("{week}") + "/candidates/catboost.json",
    params:
        model_dir="models/{week}/catboost",
        columns=config["data"]["columns"],
        hyper=config["train"]["catboost"],
        seed=config["seed"],
    log:
        "logs/train_catboost/{week}.log",
    threads: 1
    run:
        steps.train(
            "catboost",
            wildcards.week,
            input.decision,
            list(input.window),
            params.model_dir,
            output.candidate,
            params.columns,
            params.hyper,
            params.seed,
            threads,
            log[0],
        )
