"""Restoration strength: how much of the network's change a restoration keeps.

Torch-free on purpose: the portal's job form and API validate a strength without loading the
engine. The blend itself is :func:`restoration.engine.fidelity.apply_strength`.
"""

from __future__ import annotations

from .exceptions import ConfigError

__all__ = ["DEFAULT_STRENGTH", "STRENGTHS", "parse_strength"]

# Named strengths: the fraction of the network's change that is kept. "gentle" keeps half (more
# of the original grain, nothing invented); "standard" all of it.
STRENGTHS: dict[str, float] = {"gentle": 0.5, "standard": 1.0}
DEFAULT_STRENGTH = "standard"


def parse_strength(value: str | float) -> float:
    """A strength as a number in [0, 1]: a name of :data:`STRENGTHS` or a number."""
    if isinstance(value, str):
        if value in STRENGTHS:
            return STRENGTHS[value]
        try:
            number = float(value)
        except ValueError:
            names = ", ".join(STRENGTHS)
            raise ConfigError(
                f"strength must be one of {names} or a number from 0 to 1, not {value!r}"
            ) from None
    else:
        number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"strength must be between 0 and 1, not {number}")
    return number
