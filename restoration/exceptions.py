"""Errors of the restoration workflow: each message tells the user what to do next."""

from __future__ import annotations

from portal.exceptions import ApplicationError


class RestorationError(ApplicationError):
    """Base of the restoration app's errors. ``code`` is the stable name the API returns."""

    code = "restoration_error"
    status = 400


class InvalidParametersError(RestorationError):
    code = "invalid_parameters"


class JobStateError(RestorationError):
    """The job is not in a state that allows this (e.g. cancelling a finished job)."""

    code = "invalid_state"
    status = 409


class ReviewError(RestorationError):
    """A review decision that the rules refuse (four-eyes, already decided...)."""

    code = "review_refused"
    status = 403


class PublicationError(RestorationError):
    code = "publication_refused"
    status = 409


class WorkerError(RestorationError):
    """Something on the worker went wrong outside the engine (storage, missing files)."""

    code = "worker_error"
