from .access import buyer_organisation


def portal(request) -> dict:
    """The role of the signed-in user, for the header's links."""
    if not hasattr(request, "user"):
        return {}
    return {"buyer_organisation": buyer_organisation(request)}
