from rest_framework.throttling import SimpleRateThrottle


class ApiClientThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE per API client (in the shared cache: Redis when REDIS_URL is set)."""

    scope = "api_client"

    def get_cache_key(self, request, view):
        client = getattr(request, "api_client", None)
        if client is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.pk}
