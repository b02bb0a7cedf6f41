"""The API's documentation page (/api/docs/, Swagger UI from drf-spectacular's sidecar) in a real Chromium: it
renders the served schema under the portal's Content Security Policy (no inline code), from local files only."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_documentation_page_renders_the_schema_without_csp_violation(live_server, new_page):
    page = new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    text = page.locator("#swagger-ui").inner_text()
    assert "API Passe Marché pour les profils acheteurs" in text
    assert "/api/v1/candidatures/{id}/dossier/" in text
    assert page.locator("html").get_attribute("lang") == "fr"
    # Everything (scripts, styles, the schema) comes from the portal itself: nothing from a CDN.
    assert outside == []
