"""Schema-driven fuzzing of the dashboard API (issue 14 item 9).

Schemathesis reads ``/api/openapi.json`` from a real Stowage (real upstream behind the backend
routes) and, for every documented operation and method, sends data generated from the declared
types, both fitting them (positive) and breaking them (negative). Every answer must be below 500,
carry a documented status and content type, and match the declared body schema. Then each secured
operation is called without a session (401) and each secured mutation without the CSRF header (403).

Bounded and deterministic: a few examples per operation, ``derandomize=True``, no example database.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.test_fuzz_json_routes import _fixtures
from tests.plugins.auth_local.helpers import Client, add_user
from tests.plugins.s3proxy.proxyenv import proxy_env

EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# S3 error codes for "the upstream refused this request": OBJ-17 shows them as 502 backend_error with
# the code in ``detail``; a 502 without one means Stowage itself failed to make the request.
UPSTREAM_CODE = re.compile(r"^[A-Z][A-Za-z]+$")
LAST = ("POST", "/auth/logout")  # ends the fuzzing session itself, so it goes last
MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}


def _no_unplanned_server_error(response: requests.Response) -> None:
    """No 5xx, except the deliberate ones the API documents: 501 ``not_supported`` (the backend
    cannot do this, e.g. versions on rclone) and 502 ``backend_error`` naming the upstream's own
    refusal (OBJ-17) or an unknown share backend (SHARE-1 "backend unavailable")."""
    if response.status_code < 500:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {}
    deliberate = (response.status_code == 501 and error.get("code") == "not_supported") or (
        response.status_code == 502
        and error.get("code") == "backend_error"
        and (UPSTREAM_CODE.match(error.get("detail", "")) or error.get("message") == "backend unavailable")
    )
    request = response.request
    assert deliberate, (
        f"{request.method} {request.url} {request.body!r:.300} -> {response.status_code} {error}"
    )


def _real_ids(method: str, path: str, values: dict[str, str]) -> dict[str, Any]:
    """Real ids for path parameters, so requests reach past "not found" — except where acting on
    them would cut the ground from under the rest of the run (deleting the fixtures, repointing
    the backend); those keep generated ids."""
    if method == "DELETE" or (method == "PATCH" and path.startswith("/api/admin/backends/")):
        return {}
    names = re.findall(r"{([^}]+)}", path)
    return {name: int(values[name]) if name == "part" else values[name] for name in names if name in values}


def _fuzz(base: str, headers: dict[str, str], values: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    operations.sort(key=lambda operation: (operation.method.upper(), operation.path) == LAST)
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters=_real_ids(operation.method.upper(), operation.path, values),
            )

            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                _no_unplanned_server_error(response)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, not the first
                failures.append(f"{operation.method.upper()} {operation.path} [{mode}]: {str(exc)[:1500]}")
    return failures


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{([^}]+)}", lambda m: values.get(m.group(1), "x"), path)


def _auth_and_csrf(base: str, document: dict[str, Any], cookie: str, values: dict[str, str]) -> list[str]:
    """Every secured operation refuses a caller without a session; every secured mutation refuses a
    session without its CSRF header — before the route's own code runs."""
    failures = []
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not operation["security"]:
                continue
            url = f"{base}{_fill(path, values)}?key=fuzz/k.txt"
            anonymous = requests.request(method.upper(), url, json={}, timeout=30)
            if anonymous.status_code != 401 or anonymous.json()["error"]["code"] != "unauthorized":
                failures.append(f"{method.upper()} {path} without a session -> {anonymous.status_code}")
            if method.upper() in MUTATIONS:
                no_csrf = requests.request(
                    method.upper(), url, json={}, headers={"Cookie": cookie}, timeout=30
                )
                if no_csrf.status_code != 403 or no_csrf.json()["error"]["code"] != "csrf_invalid":
                    failures.append(f"{method.upper()} {path} without CSRF -> {no_csrf.status_code}")
            checked += 1
    assert checked >= 50
    return failures


async def test_every_documented_operation_survives_schema_driven_fuzzing(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    limits = {"ratelimit": {"api_per_minute": 0, "login_attempts": 100000, "share_per_minute": 100000}}
    async with (
        proxy_env(stowage_factory, rclone_upstream, monkeypatch, limits) as env,
        Client(env.stowage.dashboard_url) as admin,
    ):
        await add_user(env.runtime, "boss", "admin")
        assert (await admin.login("boss"))[0] == 200
        values = await _fixtures(env, admin)
        session, csrf = admin.cookie("stowage_session"), admin.cookie("stowage_csrf")
        cookie = f"stowage_session={session}; stowage_csrf={csrf}"
        headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
        base = env.stowage.dashboard_url
        status, document, _ = await admin.call("GET", "/api/openapi.json")
        assert status == 200
        refused = await asyncio.to_thread(_auth_and_csrf, base, document, cookie, values)
        failures = await asyncio.to_thread(_fuzz, base, headers, values)
    assert not refused, "\n".join(refused)
    assert not failures, "\n\n".join(failures)


pytestmark = pytest.mark.timeout(300)
