# The two candidates are separate jobs so that they train in parallel. When the week's
# decision is not to retrain, each only records that in its candidate file.


rule train_lightgbm:
    input:
        decision=DECISION,
        window=training_window,
    output:
        candidate=paths.candidate("lightgbm"),
    params:
        model_dir=paths.model_dir("lightgbm"),
        columns=config["data"]["columns"],
        hyper=config["train"]["lightgbm"],
        seed=config["seed"],
    log:
        "logs/train_lightgbm/{week}.log",
    threads: 1
    run:
        steps.train(
            "lightgbm", wildcards.week, input.decision, list(input.window), params.model_dir,
            output.candidate, params.columns, params.hyper, params.seed, threads, log[0],
        )


rule train_catboost:
    input:
        decision=DECISION,
        window=training_window,
    output:
        candidate=paths.candidate("catboost"),
    params:
        model_dir=paths.model_dir("catboost"),
        columns=config["data"]["columns"],
        hyper=config["train"]["catboost"],
        seed=config["seed"],
    log:
        "logs/train_catboost/{week}.log",
    threads: 1
    run:
        steps.train(
            "catboost", wildcards.week, input.decision, list(input.window), params.model_dir,
            output.candidate, params.columns, params.hyper, params.seed, threads, log[0],
        )
