"""The shared readers of a provider's fields: what they accept, and the French words of what they refuse."""

from __future__ import annotations

import pytest

from connectors import parsing


@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_json_booleans(value):
    assert parsing.boolean(value) is value
    assert parsing.optional_boolean(value) is value


@pytest.mark.parametrize("value", ["false", 0, 1, None, [], "oui"])
def test_boolean_refuses_anything_else(value):
    with pytest.raises(parsing.Unreadable, match=r"^booléen attendu pour rge, reçu "):
        parsing.boolean(value, name="rge")


def test_optional_boolean_reads_null_as_none():
    assert parsing.optional_boolean(None) is None
    with pytest.raises(parsing.Unreadable, match=r"^booléen attendu, reçu 'true'$"):
        parsing.optional_boolean("true")


def test_list_of():
    items = [{"code": "4322"}]
    assert parsing.list_of(items) is items
    with pytest.raises(parsing.Unreadable, match=r"^liste attendue pour bilans, reçu dict$"):
        parsing.list_of({"code": "4322"}, name="bilans")
    with pytest.raises(parsing.Unreadable, match=r"^liste attendue, reçu NoneType$"):
        parsing.list_of(None)


def test_document_url():
    assert parsing.document_url({"document_url": " https://x/y.pdf ", "expires_in": 600}) == "https://x/y.pdf"
    for data in ({"document_url": None}, {"document_url": "  "}):
        with pytest.raises(parsing.Unreadable, match="document_url"):
            parsing.document_url(data)
    with pytest.raises(KeyError):
        parsing.document_url({"expires_in": 600})
    with pytest.raises(parsing.Unreadable, match="texte attendu"):
        parsing.document_url({"document_url": ["https://x/y.pdf"]})


def test_every_failure_is_a_parse_error():
    assert issubclass(parsing.Unreadable, parsing.PARSE_ERRORS)
    assert issubclass(IndexError, parsing.PARSE_ERRORS)
