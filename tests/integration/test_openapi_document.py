"""The published API contract (issue 14 item 8): ``/api/openapi.json`` is a valid OpenAPI 3.1
document that lists every API route of the running app's ``url_map`` with its methods."""

from __future__ import annotations

import re

import aiohttp
from openapi_spec_validator import validate

from stowage.core.openapi import documented_rules
from tests.plugins.s3proxy.proxyenv import proxy_env

HIDDEN_ON_PURPOSE = {
    "/s/<code>",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/init.js",
    "/api/docs/assets/<name>",
}
DOCUMENTED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _dashboard(running):
    return next(listener.app for listener in running.listeners if listener.name == "dashboard")


async def _document(base_url: str) -> tuple[int, dict, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/api/openapi.json") as response:
        return response.status, await response.json(), dict(response.headers)


def _expected(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/auth/", "/s/")) or rule.rule in HIDDEN_ON_PURPOSE:
            continue
        path = re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in (rule.methods or set()) & DOCUMENTED_METHODS}
    return found


async def test_document_is_valid_openapi_31_and_lists_every_api_route(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        status, document, headers = await _document(env.stowage.dashboard_url)
        app = _dashboard(env.stowage)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")
    listed = {(path, method) for path, item in document["paths"].items() for method in item}
    expected = _expected(app)
    assert len(expected) >= 60
    assert expected - listed == set(), "routes missing from the document"
    assert listed - expected == set(), "document lists routes the app does not have"
    hidden = {
        rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/auth/", "/s/"))
    }
    hidden -= {rule.rule for rule in documented_rules(app)}
    assert hidden == HIDDEN_ON_PURPOSE
    # The proxy's admin APIs are there because the proxy is enabled.
    assert "/api/admin/s3-credentials" in document["paths"]


async def test_every_operation_declares_its_types_errors_and_security(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        _, document, _ = await _document(env.stowage.dashboard_url)
    schemes = document["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {"type": "apiKey", "in": "cookie", "name": "stowage_session"}
    assert schemes["csrfHeader"] == {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error"]["required"] == ["code", "message"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            successes = [code for code in operation["responses"] if code.startswith("2")]
            assert successes, f"{where} declares no success response"
            for code in successes:
                content = operation["responses"][code].get("content")
                assert content is None or all("schema" in media for media in content.values()), where
            assert "5XX" in operation["responses"] and "400" in operation["responses"], where
            if path.startswith("/api/") and operation["security"]:
                assert "401" in operation["responses"] and "403" in operation["responses"], where
                wants_csrf = method in {"post", "put", "patch", "delete"}
                assert ("csrfHeader" in operation["security"][0]) == wants_csrf, where


async def test_proxy_admin_routes_appear_only_when_the_proxy_is_enabled(stowage_factory) -> None:
    async with stowage_factory() as running:
        _, document, _ = await _document(running.dashboard_url)
    assert "/api/me" in document["paths"]
    assert not any("s3-" in path for path in document["paths"])
