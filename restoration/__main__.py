"""`python -m restoration ...`: the engine's command line (works without Django)."""

import sys

from restoration.engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
