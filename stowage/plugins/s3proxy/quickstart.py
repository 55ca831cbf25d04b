"""The quickstart step of the proxy: a bucket on the embedded upstream and a first credential.

``stowage quickstart`` runs every step the ``stowage_quickstart_steps`` hook collects after start-up;
this one prints ready-to-paste ``AWS_*`` variables so an SDK or the AWS CLI works at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.contracts.driver import DriverError
from stowage.plugins.s3proxy.admin.credential_routes import new_access_key, new_secret_key
from stowage.plugins.s3proxy.credentials import credential_repository

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["QUICKSTART_BUCKET", "quickstart_credential"]

QUICKSTART_BUCKET = "quickstart"


async def quickstart_credential(
    runtime: Runtime, args: argparse.Namespace, random_password: Callable[[], str]
) -> dict[str, str]:
    """Create the ``quickstart`` bucket if missing and mint a credential scoped to it."""
    box = runtime.secret_box
    registry = backend_registry(runtime)
    backend = registry.get("local")
    if box is None or backend is None:
        return {}
    try:
        names = {b.name for b in await backend.driver.list_buckets()}
        if QUICKSTART_BUCKET not in names:
            await backend.driver.create_bucket(QUICKSTART_BUCKET)
    except DriverError as exc:
        return {"credential": f"not minted: the upstream failed ({exc})"}
    access_key, secret = new_access_key(), new_secret_key()
    await credential_repository(runtime).insert(
        access_key=access_key,
        secret_key_enc=box.seal(secret),
        backend_id="local",
        buckets=[QUICKSTART_BUCKET],
        created_at=datetime.fromtimestamp(runtime.clock(), UTC),
        description="minted by stowage quickstart",
    )
    await runtime.get(CREDENTIALS).reload()
    host, _, port = runtime.settings.s3_proxy.listen.rpartition(":")
    endpoint = f"http://{host or '127.0.0.1'}:{port}"
    return {
        "S3 endpoint": endpoint,
        "bucket": QUICKSTART_BUCKET,
        "credential": (
            f"\n    export AWS_ACCESS_KEY_ID={access_key}\n    export AWS_SECRET_ACCESS_KEY={secret}"
            f"\n    export AWS_DEFAULT_REGION=us-east-1\n    export AWS_ENDPOINT_URL={endpoint}"
            f"\n    aws s3 ls s3://{QUICKSTART_BUCKET}/"
        ),
    }
