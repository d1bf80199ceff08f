"""`python -m restoration.bench {speed,quality,effects} [options]`: dispatch to a benchmark's
main(argv)."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "speed": "restoration.bench.speed",
    "quality": "restoration.bench.quality",
    "effects": "restoration.bench.effects",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(
            f"usage: python -m restoration.bench {{{','.join(COMMANDS)}}} [options]",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
