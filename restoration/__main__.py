"""`python -m restoration ...`: the engine's command line plus the training commands (no Django).

restore, probe, score and scores come from the engine (what a worker installs); degrade, train and
train-scorer from restoration.training.
"""

import sys

from restoration.engine.cli import main
from restoration.training import cli_degrade, cli_train

if __name__ == "__main__":
    sys.exit(main(extra_commands=(cli_degrade.register, cli_train.register)))
