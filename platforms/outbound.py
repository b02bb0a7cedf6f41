"""The one outbound HTTP channel of the webhooks: a POST that follows no redirect, times out, and (in production)
never reaches an address of our own network.

A platform chooses the address we call, so it could point us at our own services (SSRF): the metadata service of
the cloud (169.254.169.254), a database on loopback, an admin on the private network. Unless
settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES (dev and tests), the socket is opened only to public addresses: the name is
resolved once, each address is checked, and the connection goes to the checked address itself (then its peer is
checked again). Checking the name first and connecting by name afterwards would let a DNS answer that changes
between the two (DNS rebinding) through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NameResolutionError, NewConnectionError

from connectors.client import parse_retry_after

USER_AGENT = "PasseMarche-Webhooks/1.0"
# Enough of the answer for an excerpt of 1000 characters; the rest is never read.
EXCERPT_BYTES = 4096
EXCERPT_CHARS = 1000


class OutboundError(Exception):
    """No HTTP answer. `retryable`: worth trying again later (timeout, refused connection), or not."""

    retryable = True

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Timeout(OutboundError):
    pass


class ConnectionFailed(OutboundError):
    pass


class InvalidAddress(OutboundError):
    retryable = False


class ForbiddenAddress(OutboundError):
    """The address is loopback, private, link-local, reserved… (SSRF guard): refused before any byte is sent."""

    retryable = False

    def __init__(self, *, host: str, address: str):
        super().__init__(
            _(
                "Adresse refusée : %(host)s correspond à %(address)s, une adresse locale, privée ou réservée. "
                "Les notifications ne sont envoyées qu'à des adresses publiques."
            )
            % {"host": host, "address": address}
        )
        self.host = host
        self.address = address


def address_is_public(address: str) -> bool:
    """A global unicast address, IPv4 or IPv6 (an IPv4 inside IPv6, mapped or 6to4, is judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id (fe80::1%eth0) is link-local anyway
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return address_is_public(str(embedded))
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def _checked_socket(connection: HTTPConnection) -> socket.socket:
    """Resolve once, connect only to a public address of the answer, and check the peer actually connected to."""
    host = connection.host.strip("[]")
    try:
        candidates = socket.getaddrinfo(host, connection.port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    error: Exception | None = None
    refused = ""
    for family, kind, protocol, _name, address in candidates:
        if not address_is_public(address[0]):
            refused = refused or address[0]
            continue
        sock = socket.socket(family, kind, protocol)
        try:
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if isinstance(connection.timeout, int | float):
                sock.settimeout(connection.timeout)
            sock.connect(address)
        except TimeoutError as exc:
            sock.close()
            error = ConnectTimeoutError(connection, f"Connection to {host} timed out.")
            error.__cause__ = exc
            continue
        except OSError as exc:
            sock.close()
            error = NewConnectionError(connection, f"Failed to establish a new connection: {exc}")
            error.__cause__ = exc
            continue
        peer = sock.getpeername()[0]
        if not address_is_public(peer):
            sock.close()
            raise ForbiddenAddress(host=host, address=peer)
        return sock
    if error is not None:
        raise error
    raise ForbiddenAddress(host=host, address=refused or host)


class _Guarded:
    def _new_conn(self) -> socket.socket:
        # Read at each connection, so that the SSRF tests can turn the guard on in test settings.
        if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
            return super()._new_conn()
        return _checked_socket(self)


class GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def webhook_session() -> requests.Session:
    """The session of the webhooks: guarded connections, no retry of its own (the task retries), no redirect."""
    session = requests.Session()
    # No proxy or .netrc from the environment: the guard must see the platform's address, not a proxy's.
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: float | None  # seconds, from a Retry-After header (seconds or HTTP date)
    excerpt: str


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; any HTTP answer is returned (a redirect included, not followed), no answer raises
    an OutboundError. A new session each time: nothing pooled outlives a delivery (or a change of settings)."""
    timeout = (settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT)
    with webhook_session() as session:
        try:
            response = session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT} | headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise Timeout(
                _("Pas de réponse dans le délai (%(connect)s s pour se connecter, %(read)s s pour répondre).")
                % {"connect": timeout[0], "read": timeout[1]}
            ) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise InvalidAddress(_("Adresse invalide : %(url)s.") % {"url": url}) from exc
        except requests.exceptions.InvalidSchema as exc:
            raise InvalidAddress(_("Seules les adresses http et https sont acceptées.")) from exc
        except requests.exceptions.SSLError as exc:
            raise ConnectionFailed(_("Connexion TLS impossible (certificat refusé ?).")) from exc
        except requests.RequestException as exc:
            raise ConnectionFailed(
                _("Connexion impossible à %(host)s.") % {"host": urlsplit(url).hostname or url}
            ) from exc
        with response:
            try:
                head = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
            except (HTTPError, OSError):
                head = b""  # the status is the answer; an unreadable body only leaves the excerpt empty
        return Answer(
            status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            excerpt=head.decode("utf-8", errors="replace")[:EXCERPT_CHARS],
        )


def subscription_url_error(url: str) -> str | None:
    """Why a platform may not subscribe this address (None when it may), checked when it subscribes.

    Only what the address says by itself: its name is resolved at each delivery, where the guard above decides.
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        return _("Indiquez une adresse http(s) complète, par exemple https://plateforme.example/webhooks.")
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return None
    if parts.scheme != "https":
        return _("L'adresse doit commencer par https:// : les notifications ne circulent que chiffrées.")
    if parts.username or parts.password:
        return _("L'adresse ne doit pas contenir d'identifiants : le secret de signature authentifie l'envoi.")
    host = hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return _("Adresse refusée : %(host)s désigne cette machine.") % {"host": host}
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address_is_public(host):
        return _("Adresse refusée : %(host)s est une adresse locale, privée ou réservée.") % {"host": host}
    return None
