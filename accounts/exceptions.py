from portal.exceptions import ApplicationError


class MembershipError(ApplicationError):
    """A membership change that would leave the institution in a bad state."""
