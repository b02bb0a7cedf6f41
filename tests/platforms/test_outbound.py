"""The outbound channel of the webhooks (platforms/outbound.py) over real HTTP: the SSRF guard, no redirect, timeouts.

The guarded addresses are real: a receiver listens on loopback, so a guard that let the request through would be
seen to (the receiver records it); private and link-local addresses are refused before any connection.
"""

from __future__ import annotations

import socket

import pytest

from platforms import outbound
from tests.platforms.receiver import Reply

BODY = b'{"type":"consultation.published"}'


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    return settings


def post(url: str) -> outbound.Answer:
    return outbound.post(url=url, body=BODY, headers={"Content-Type": "application/json"})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed once the block ends: nothing listens there


def test_a_post_reaches_the_receiver_with_the_body_and_our_user_agent(receive):
    receiver = receive(Reply(status=202, body=b"merci"))

    answer = post(receiver.url)

    assert (answer.status, answer.excerpt) == (202, "merci")
    (received,) = receiver.received
    assert received.body == BODY
    assert received.headers["user-agent"] == "PasseMarche-Webhooks/1.0"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "localhost", "2130706433"],
    ids=["ipv4-loopback", "ipv6-loopback", "ipv4-mapped-loopback", "name-resolving-to-loopback", "decimal-loopback"],
)
def test_in_production_loopback_is_refused_before_anything_is_sent(receive, production, host):
    receiver = receive(200)

    with pytest.raises(outbound.ForbiddenAddress) as refused:
        post(f"http://{host}:{receiver.port}/webhooks")

    assert refused.value.retryable is False
    assert "adresse locale, privée ou réservée" in refused.value.message
    assert receiver.received == []


# The production path of the guard (`_checked_socket`) over real sockets: loopback is made to count as public, so
# the connection really goes to the checked address, the local receiver.
real_address_is_public = outbound.address_is_public


@pytest.fixture
def loopback_is_public(production, monkeypatch):
    """Production settings, where 127.0.0.1 passes the address check; the addresses checked are recorded."""
    checked: list[str] = []

    def is_public(address: str) -> bool:
        checked.append(address)
        return address == "127.0.0.1" or real_address_is_public(address)

    monkeypatch.setattr(outbound, "address_is_public", is_public)
    return checked


def test_in_production_a_post_goes_to_the_checked_address_and_its_peer_is_checked_again(receive, loopback_is_public):
    receiver = receive(Reply(status=202, body=b"merci"))

    answer = post(receiver.url)

    assert (answer.status, answer.excerpt) == (202, "merci")
    assert [received.body for received in receiver.received] == [BODY]
    assert loopback_is_public == ["127.0.0.1", "127.0.0.1"]  # the resolved address, then the connected peer


def test_in_production_a_read_timeout_applies_to_the_checked_socket(receive, loopback_is_public, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    receiver = receive(Reply(status=200, delay=3))

    with pytest.raises(outbound.Timeout):
        post(receiver.url)

    assert len(receiver.received) == 1


def test_in_production_a_refused_connection_is_a_retryable_failure(loopback_is_public):
    port = closed_port()

    with pytest.raises(outbound.ConnectionFailed) as failed:
        post(f"http://127.0.0.1:{port}/hook")

    assert failed.value.retryable is True
    assert loopback_is_public == ["127.0.0.1"]  # checked, connected to, refused: no peer to check


def test_in_production_a_peer_that_is_not_public_is_refused_after_the_connection(receive, production, monkeypatch):
    receiver = receive(200)
    answers = iter([True, False])  # the resolved address passes, the peer actually connected to does not
    monkeypatch.setattr(outbound, "address_is_public", lambda address: next(answers))

    with pytest.raises(outbound.ForbiddenAddress) as refused:
        post(receiver.url)

    assert refused.value.address == "127.0.0.1"
    assert refused.value.retryable is False
    assert receiver.received == []


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://10.20.30.40:8080/hook", "10.20.30.40"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://192.168.1.10/hook", "192.168.1.10"),
        ("http://[fd00::1]/hook", "fd00::1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),  # noqa: S104 (an address refused, not bound)
    ],
)
def test_in_production_private_and_link_local_addresses_are_refused(production, url, address):
    with pytest.raises(outbound.ForbiddenAddress) as refused:
        post(url)

    assert refused.value.address == address
    assert address in refused.value.message


def test_outside_production_loopback_is_allowed(receive, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver = receive(204)

    assert post(receiver.url).status == 204


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.255.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("169.254.169.254", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("not-an-address", False),
    ],
)
def test_which_addresses_are_public(address, public):
    assert outbound.address_is_public(address) is public


def test_a_redirect_is_returned_not_followed(receive):
    target = receive(200)
    receiver = receive(Reply(status=302, headers={"Location": target.url}))

    answer = post(receiver.url)

    assert answer.status == 302
    assert target.received == []


def test_no_answer_within_the_read_timeout_is_a_retryable_timeout(receive, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    receiver = receive(Reply(status=200, delay=3))

    with pytest.raises(outbound.Timeout) as timed_out:
        post(receiver.url)

    assert timed_out.value.retryable is True
    assert len(receiver.received) == 1


def test_a_refused_connection_is_a_retryable_failure():
    port = closed_port()

    with pytest.raises(outbound.ConnectionFailed) as failed:
        post(f"http://127.0.0.1:{port}/hook")

    assert failed.value.retryable is True


def test_the_excerpt_keeps_the_first_1000_characters(receive):
    receiver = receive(Reply(status=500, body=("é" * 3000).encode()))

    answer = post(receiver.url)

    assert answer.excerpt == "é" * 1000


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://plateforme.example/webhooks", None),
        ("https://93.184.215.14/webhooks", None),
        ("http://plateforme.example/webhooks", "https://"),
        ("https://127.0.0.1/webhooks", "127.0.0.1"),
        ("https://[::1]/webhooks", "::1"),
        ("https://10.0.0.8/webhooks", "10.0.0.8"),
        ("https://169.254.169.254/", "169.254.169.254"),
        ("https://localhost:8443/webhooks", "localhost"),
        ("https://api.localhost/webhooks", "api.localhost"),
        ("https://user:pass@plateforme.example/webhooks", "identifiants"),
        ("ftp://plateforme.example/webhooks", "http(s)"),
        ("https:///webhooks", "http(s)"),
        ("https://[::1/webhooks", "http(s)"),
    ],
)
def test_what_a_platform_may_subscribe_in_production(production, url, refused):
    error = outbound.subscription_url_error(url)

    if refused is None:
        assert error is None
    else:
        assert refused in error


def test_outside_production_a_loopback_http_address_may_be_subscribed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    assert outbound.subscription_url_error("http://127.0.0.1:8001/webhooks") is None
