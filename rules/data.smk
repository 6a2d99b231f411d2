# The embedded default data: one deterministic file per week, only when params.yaml says so
# (with your own files, data.generate is false and this rule does not exist).
if config["data"]["generate"]:

    rule generate_week:
        output:
            raw=RAW,
        params:
            rows=config["data"]["rows_per_week"],
            seed=config["seed"],
        log:
            "logs/generate_week/{week}.log",
        run:
            steps.generate_week(wildcards.week, params.rows, params.seed, output.raw, log[0])
