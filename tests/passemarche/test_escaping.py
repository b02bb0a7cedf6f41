"""What users typed is escaped wherever django-dsfr renders it (its tags mark their content safe by default)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.template import Context, Template

PAYLOAD = '<img src="x" onerror="alert(1)">'


def test_a_message_quoting_user_input_is_escaped():
    html = Template("{% load dsfr_tags %}{% dsfr_django_messages %}").render(
        Context({"messages": [Message(messages.ERROR, f"La consultation {PAYLOAD} est créée.")]})
    )

    assert PAYLOAD not in html
    assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(1)&quot;&gt;" in html


def test_a_badge_label_is_escaped():
    html = Template("{% load dsfr_tags %}{% dsfr_badge label=value %}").render(Context({"value": PAYLOAD}))

    assert PAYLOAD not in html
    assert "&lt;img" in html
