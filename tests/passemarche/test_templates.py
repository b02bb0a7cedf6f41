"""Template hygiene that no page test would notice until a user reads it."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_no_comment_spans_lines():
    """Django's {# #} is one line only: a comment over several lines is printed on the page."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in TEMPLATES.rglob("*.html")
        for text in [path.read_text()]
        for match in re.finditer(r"\{#(.*?)#\}", text, re.S)
        if "\n" in match.group(1)
    ]
    assert offenders == []


def test_the_home_page_prints_no_template_syntax(db):
    page = Client().get("/").content.decode()

    assert "{#" not in page and "#}" not in page and "{%" not in page
