# The embedded default data: one deterministic file per week, only when params.yaml says so
# (with your own files, data.generate is false and this rule does not exist).
if config["data"]["generate"]:

    rule generate_week:
        output:
            applications=APPLICATIONS,
            outcomes=OUTCOMES,
        params:
            rows=config["data"]["rows_per_week"],
            seed=config["seed"],
            columns=config["data"]["columns"],
            generator=config["data"]["generator"],
            code=step_code("generate_week"),
        log:
            paths.log("generate_week", "week"),
        run:
            run_step(rule, wildcards, input, output, params, log, threads)


# Every raw file the chain reads, from the training history before start to end: what
# the DVC stage raw_data makes (generated) or checks is there (your own files).
# Generated or not, a week's files are applications/<week>.parquet and outcomes/<week>.parquet.
rule raw_data:
    input:
        raw=every_raw_file(),
