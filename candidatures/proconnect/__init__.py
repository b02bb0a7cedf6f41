"""ProConnect, the State's OpenID Connect login for public agents, as a django-allauth provider.

allauth's generic OpenID Connect provider sends no `nonce` and reads the userinfo as JSON; ProConnect requires a
nonce (checked back in the ID token) and answers the userinfo as a signed JWT. This provider does both.
"""

PROVIDER_ID = "proconnect"
