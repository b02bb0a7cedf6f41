"""Refusals of the portal's writes: a French message shown to the user as is, and the form field it concerns."""


class PortalError(Exception):
    """`code`: a stable name of the refusal, for callers that answer a machine (the platforms' API)."""

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
