"""Train the LightGBM candidate of one week (rule train_lightgbm).

Reads the week's decision; when it says retrain, fits on the training window (all weeks
before the week, the last ones held out for validation) and writes the native model,
its metrics and an input example to --model-dir, then the candidate record to --out.

Example:
  python scripts/train_lightgbm.py --week 2022-01-16 --decision weeks/2022-01-16/decision.json \\
      --window data/raw/2021-08-29.parquet ... data/raw/2022-01-09.parquet \\
      --model-dir models/2022-01-16/lightgbm --out weeks/2022-01-16/candidates/lightgbm.json
"""
from weekly.cli import train_main

if __name__ == "__main__":
    train_main("lightgbm", __doc__)
