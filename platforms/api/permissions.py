from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission


class HasClientScope(BasePermission):
    """An authenticated API client whose token carries the view's `required_scopes` (one per HTTP method family).

    A view declares `required_scopes = {"GET": "candidatures:read", "POST": "candidatures:write"}`; a method not
    listed falls back to the "*" entry.
    """

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or getattr(request, "api_client", None) is None:
            raise NotAuthenticated
        scopes = getattr(view, "required_scopes", {}) or {}
        needed = scopes.get(request.method) or scopes.get("*")
        if needed is None:
            return False  # a view that forgot its scopes is closed, not open
        self.message = needed
        # The client's scopes of now, not only the token's: a scope an admin removed stops working at once.
        return needed in request.api_client.scopes and token.allow_scopes([needed])
