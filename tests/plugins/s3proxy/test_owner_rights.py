"""A credential acts with its owner's rights at every request (issue 11 item 2, D9): demotion,
disabling, re-enabling and deletion through the admin API take effect on the very next proxy
request, against a real upstream; the owner's share links follow."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from stowage.core.contracts.accounts import User
from stowage.core.contracts.audit import AUDIT
from tests.plugins.auth_local.helpers import Client, add_user
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env


@pytest.fixture
async def env(stowage_factory, rclone_upstream, monkeypatch):
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as e:
        yield e


def _code(call: Any, *args: Any, **kwargs: Any) -> str:
    """ "ok" or the S3 error code of one boto3 call."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


async def _rights(env: ProxyEnv, client: Any) -> tuple[str, str, str]:
    """(read, list, write) outcomes of one credential, each through the proxy."""
    read = await asyncio.to_thread(_code, client.get_object, Bucket=env.bucket, Key="seed.txt")
    listing = await asyncio.to_thread(_code, client.list_objects_v2, Bucket=env.bucket)
    write = await asyncio.to_thread(_code, client.put_object, Bucket=env.bucket, Key="w.txt", Body=b"w")
    return read, listing, write


async def _raw_status(env: ProxyEnv, code: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{env.stowage.dashboard_url}/s/{code}/raw") as response,
    ):
        if response.status == 200:
            return 200, (await response.read()).decode()
        return response.status, (await response.json())["error"]["code"]


class Actors:
    """An admin browser, a signed-in user "alice", her credential's S3 client and her share."""

    def __init__(self, env: ProxyEnv, admin: Client, alice: User, s3: Any, share_code: str) -> None:
        self.env, self.admin, self.alice, self.s3, self.share_code = env, admin, alice, s3, share_code

    async def patch_alice(self, change: dict[str, Any]) -> None:
        status, body, _ = await self.admin.call("PATCH", f"/api/admin/users/{self.alice.id}", change)
        assert status == 200, body


async def _actors(env: ProxyEnv, admin: Client, user: Client) -> Actors:
    await add_user(env.runtime, "boss", "admin")
    alice = await add_user(env.runtime, "alice", "user")
    assert (await admin.login("boss"))[0] == 200
    assert (await user.login("alice"))[0] == 200
    status, minted, _ = await user.call(
        "POST", "/api/me/s3-credentials", {"backend_id": "up", "buckets": [env.bucket]}
    )
    assert status == 201, minted
    s3 = env.client(minted["access_key"], minted["secret_key"])
    await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="seed.txt", Body=b"seed")
    status, share, _ = await user.call(
        "POST", "/api/shares", {"backend_id": "up", "bucket": env.bucket, "key": "seed.txt"}
    )
    assert status == 201, share
    return Actors(env, admin, alice, s3, share["code"])


async def test_demoted_owner_reads_only_and_promotion_restores_writes(env) -> None:
    async with Client(env.stowage.dashboard_url) as admin, Client(env.stowage.dashboard_url) as user:
        actors = await _actors(env, admin, user)
        assert await _rights(env, actors.s3) == ("ok", "ok", "ok")
        await actors.patch_alice({"role": "readonly"})
        assert await _rights(env, actors.s3) == ("ok", "ok", "AccessDenied")
        for call, kwargs in (
            (actors.s3.delete_object, {"Bucket": env.bucket, "Key": "seed.txt"}),
            (actors.s3.create_multipart_upload, {"Bucket": env.bucket, "Key": "mp"}),
            (actors.s3.delete_objects, {"Bucket": env.bucket, "Delete": {"Objects": [{"Key": "seed.txt"}]}}),
        ):
            assert await asyncio.to_thread(_code, call, **kwargs) == "AccessDenied"
        assert await _raw_status(env, actors.share_code) == (200, "seed")  # reading stays allowed
        await actors.patch_alice({"role": "user"})
        assert await _rights(env, actors.s3) == ("ok", "ok", "ok")


async def test_disabled_owner_is_refused_and_reenabling_restores_everything(env) -> None:
    async with Client(env.stowage.dashboard_url) as admin, Client(env.stowage.dashboard_url) as user:
        actors = await _actors(env, admin, user)
        await actors.patch_alice({"enabled": False})
        assert await _rights(env, actors.s3) == ("InvalidAccessKeyId",) * 3
        assert await _raw_status(env, actors.share_code) == (410, "suspended")
        await actors.patch_alice({"enabled": True})  # suspended, not destroyed
        assert await _rights(env, actors.s3) == ("ok", "ok", "ok")
        assert await _raw_status(env, actors.share_code) == (200, "seed")


async def test_deleting_the_owner_deletes_its_credentials_and_revokes_its_shares(env) -> None:
    async with Client(env.stowage.dashboard_url) as admin, Client(env.stowage.dashboard_url) as user:
        actors = await _actors(env, admin, user)
        access_key = actors.s3._request_signer._credentials.access_key
        status, _, _ = await admin.call("DELETE", f"/api/admin/users/{actors.alice.id}")
        assert status == 204
        assert await _rights(env, actors.s3) == ("InvalidAccessKeyId",) * 3
        assert await _raw_status(env, actors.share_code) == (410, "revoked")
        rows = await env.runtime.store.db.fetchall(
            "SELECT access_key FROM s3_credentials WHERE access_key = ?", (access_key,)
        )
        assert rows == []  # deleted, not merely disabled: nothing is left to re-enable
        recorder = env.runtime.get(AUDIT)
        await recorder.flush()
        rows = await env.runtime.store.db.fetchall(
            "SELECT detail FROM audit_events WHERE action = 'user.delete'"
        )
        assert [json.loads(r["detail"]) for r in rows] == [
            {"target": actors.alice.id, "credentials_deleted": [access_key], "shares_revoked": 1}
        ]
