"""Base of the project's errors, and ``Refusal``: the answer of a rule check.

Every error a service raises on purpose is an ``ApplicationError``: a message a user can act
on, a stable ``code`` the API returns, the HTTP ``status`` pages and API answer with, and
whether retrying can help (``permanent``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied


class ApplicationError(Exception):
    """Base of narrow per-app errors. ``str(error)`` is shown to the user as is.

    A class that sets no ``code`` and inherits none that was set by hand gets its name in snake
    case without ``Error`` (``TapeHasCapturesError`` -> ``tape_has_captures``).
    """

    code: str = "application"
    _code_set_by_hand: bool = False
    status: int = 400
    permanent: bool = True

    def __init__(
        self, message: str, *, permanent: bool | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent
        self.extra = extra or {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            cls._code_set_by_hand = True
        elif not cls._code_set_by_hand:
            name = cls.__name__.removesuffix("Error")
            cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Refusal:
    """Why a rule refuses an action: ``message`` for the person, ``error`` for the service.

    Rule checks (``job_cancel_refusal``, ``version_publish_refusal``, ...) return a Refusal or
    None. Pages and templates show ``message`` (or hide the button); services call
    ``refuse_if`` so the same check raises ``error`` (PermissionDenied for a missing role, an
    ``ApplicationError`` subclass for a state that does not allow the action).
    """

    message: str
    error: type[Exception] = PermissionDenied

    def __str__(self) -> str:
        return self.message

    def raise_error(self) -> NoReturn:
        raise self.error(self.message)


def refuse_if(refusal: Refusal | None) -> None:
    """Raise the refusal's error, if there is a refusal."""
    if refusal is not None:
        refusal.raise_error()
