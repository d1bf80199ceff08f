from portal.exceptions import ApplicationError


class CatalogError(ApplicationError):
    """A catalog change that cannot be made as asked (the message says why and what to do)."""


class CollectionNotEmptyError(CatalogError):
    pass


class TapeHasCapturesError(CatalogError):
    pass
