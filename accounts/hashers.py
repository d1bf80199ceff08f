"""Password hashing: Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).

Why not Django's defaults: its PBKDF2 (1,000,000 iterations) and its Argon2 settings (100 MiB,
8 lanes) each cost about half a second of CPU per log-in on a small server, most of the time a
log-in takes (issue 15 measured 0.8-1.3 s on a loaded machine; ``python -m
portal.tools.login_timing``). Argon2id at OWASP's first recommended setting is memory-hard,
so as costly for an attacker with GPUs, and takes about 50 ms here. Existing PBKDF2 hashes
still verify and are re-hashed with Argon2id at the person's next log-in (Django upgrades a
hash made by any hasher other than the first in ``PASSWORD_HASHERS``).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, m=19 MiB, t=2, p=1 (OWASP Password Storage Cheat Sheet). The stored hash
    carries its parameters, so raising them later re-hashes at the next log-in."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
