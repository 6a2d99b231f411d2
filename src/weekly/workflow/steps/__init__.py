"""The workflow's steps, one module per rule, named as the rule, each with a function of
that name (`weekly.workflow.steps.train.train`): it reads its inputs, calls the pure logic
and writes its outputs atomically.

A step is called by keyword with the names its rule gives to its wildcards, input, output
and params (weekly.workflow.jobs runs it inside the job's log). Paths always come from the
caller. A step knows nothing of the process it runs in: logging into the job's log,
memory and MLflow's imports are the runner's concern.
"""
