"""Every backend mutation writes its audit event with actor and backend."""

from __future__ import annotations

from tests.plugins.backends.endpoint_support import backend_body, started


async def test_every_backend_mutation_is_audited_with_actor_and_backend(
    stowage_factory, rclone_upstream
) -> None:
    async with started(stowage_factory) as h:
        body = backend_body(rclone_upstream, region="eu-west-1")
        assert (await h.api.call("POST", "/api/admin/backends", json=body))[0] == 201
        patch = {"name": "n2", "secret_key": "s-2", "enabled": True}
        assert (await h.api.call("PATCH", "/api/admin/backends/ui1", json=patch))[0] == 200
        assert (await h.api.call("POST", "/api/admin/backends/test", json=body))[0] == 200
        assert (await h.api.call("DELETE", "/api/admin/backends/ui1"))[0] == 204
        # Refused requests change nothing and are not audited as changes.
        assert (await h.api.call("DELETE", "/api/admin/backends/ui1"))[0] == 404
        events = await h.audit.collected("backend.")

    assert [e.action for e in events] == [
        "backend.create",
        "backend.update",
        "backend.test",
        "backend.delete",
    ]
    create, update, test, delete = events
    for event in events:
        assert event.user_id == "u-admin" and event.outcome == "ok" and event.request_id
    assert (create.backend, create.detail) == (
        "ui1",
        {"endpoint": rclone_upstream.endpoint_url, "region": "eu-west-1", "type": "s3v4"},
    )
    assert (update.backend, update.detail) == ("ui1", {"fields": ["enabled", "name", "secret_key"]})
    assert test.detail == {"endpoint": rclone_upstream.endpoint_url, "healthy": True}
    assert (delete.backend, delete.detail) == ("ui1", {})
