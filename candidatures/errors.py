"""Refusals of the portal's writes: a French message shown to the user as is, and the form field it concerns."""


class PortalError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
