"""What the upstream behind one ``S3V4Driver`` really supports, asked once and remembered.

S3-compatible stores differ on versioning, object tagging, bucket policies and lifecycle rules,
and some do worse than refuse: ``rclone serve s3`` ignores sub-resources it does not know, so
``GET ?policy`` answers a plain object listing, ``PUT ?tagging`` overwrites the object with the
tagging XML and ``DELETE ?policy`` deletes an empty bucket. So every such request waits for this
probe, which only ever reads: five signed GETs against an existing bucket, judged on the raw
answer (the root element of the XML, the error code), never on botocore's parse of it.

A conclusive answer is kept for the driver's life (a backend edit builds a new driver). "No bucket
to ask" is kept for ``RETRY_AFTER`` seconds; a failed probe (upstream down, a 5xx) is not kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from stowage.core.contracts.driver import (
    PROBED_FEATURES,
    BucketInfo,
    BucketNotFound,
    Capabilities,
    DriverError,
    NotSupported,
)
from stowage.plugins.s3v4.errors import parse_error_xml

__all__ = ["RETRY_AFTER", "CapabilityProbe", "judge"]

RETRY_AFTER = 30.0  # seconds before a backend that had no bucket to probe is asked again

Fetch = Callable[[str, str, Mapping[str, str]], Awaitable[tuple[int, bytes]]]
ListBuckets = Callable[[], Awaitable[list[BucketInfo]]]

# The request that shows each feature, and the answers that prove the upstream implements it:
# a 200 whose root element is the feature's document, or the feature's own "not configured" error.
_REQUESTS: dict[str, dict[str, str]] = {
    "versioning": {"versioning": ""},
    "versions": {"versions": "", "max-keys": "1"},  # rclone reads ?versioning but cannot list versions
    "tagging": {"tagging": ""},  # bucket tagging stands in for object tagging: it needs no object
    "bucket_policy": {"policy": ""},
    "lifecycle": {"lifecycle": ""},
}
_PROOF: dict[str, tuple[str, str]] = {
    "versioning": ("VersioningConfiguration", ""),
    "versions": ("ListVersionsResult", ""),
    "tagging": ("Tagging", "NoSuchTagSet"),
    "bucket_policy": ("{", "NoSuchBucketPolicy"),  # a policy is JSON, not XML
    "lifecycle": ("LifecycleConfiguration", "NoSuchLifecycleConfiguration"),
}
_ROOT = re.compile(rb"<([A-Za-z][\w.-]*)")  # the first element that is not a <?prolog?> or <!comment>


def _root(body: bytes) -> str:
    text = body.lstrip()
    if text.startswith(b"{"):
        return "{"
    while text.startswith((b"<?", b"<!")):
        text = text[text.find(b">") + 1 :].lstrip()
    match = _ROOT.match(text)
    return match.group(1).decode() if match else ""


def judge(name: str, status: int, body: bytes) -> bool:
    """Whether one probe answer proves the feature; raises when it proves nothing either way."""
    code = parse_error_xml(body).get("Code", "") if status >= 300 else ""
    if code == "NoSuchBucket":
        raise BucketNotFound("bucket not found", code=code, status=status)
    if status >= 500 and status != 501 and code != "NotImplemented":
        raise DriverError(f"capability probe: upstream status {status}", code=code, status=status)
    root, missing = _PROOF[name]
    if status == 200:
        return _root(body) == root
    return bool(missing) and code == missing


def _narrowed(declared: Capabilities, proven: Mapping[str, bool]) -> Capabilities:
    """``declared`` with each probed feature kept only where ``proven`` says so."""
    return replace(
        declared,
        versioning=declared.versioning and proven["versioning"],
        tagging=declared.tagging and proven["tagging"],
        bucket_policy=declared.bucket_policy and proven["bucket_policy"],
        lifecycle=declared.lifecycle and proven["lifecycle"],
    )


class CapabilityProbe:
    """The probed capabilities of one driver: ``declared`` narrowed by the upstream's answers."""

    def __init__(
        self, declared: Capabilities, fetch: Fetch, list_buckets: ListBuckets, clock: Callable[[], float]
    ) -> None:
        self._declared = declared
        self._fetch = fetch
        self._list_buckets = list_buckets
        self._clock = clock
        self._known: Capabilities | None = None
        self._no_bucket_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def unprobed(self) -> Capabilities:
        """``declared`` with every probed feature off: what can be promised before asking."""
        return _narrowed(self._declared, dict.fromkeys(PROBED_FEATURES, False))

    async def capabilities(self, bucket: str = "") -> Capabilities:
        """The cached answer, else a probe against ``bucket`` (or the first bucket listed)."""
        if self._known is not None:
            return self._known
        async with self._lock:  # concurrent first requests share one probe
            if self._known is not None:
                return self._known
            if not bucket:
                if self._no_bucket_at is not None and self._clock() - self._no_bucket_at < RETRY_AFTER:
                    return self.unprobed
                buckets = await self._list_buckets()
                if not buckets:
                    self._no_bucket_at = self._clock()
                    return self.unprobed
                bucket = buckets[0].name
            self._known = await self._probe(bucket)
            return self._known

    async def require(self, bucket: str, feature: str) -> None:
        """``NotSupported`` unless the upstream supports ``feature`` (a ``PROBED_FEATURES`` name)."""
        if not getattr(await self.capabilities(bucket), feature):
            raise NotSupported(f"this backend does not support {feature.replace('_', ' ')}", status=501)

    async def _probe(self, bucket: str) -> Capabilities:
        names = list(_REQUESTS)
        answers = await asyncio.gather(*(self._fetch(bucket, "", _REQUESTS[name]) for name in names))
        proven = {name: judge(name, *answer) for name, answer in zip(names, answers, strict=True)}
        proven["versioning"] = proven["versioning"] and proven.pop("versions")
        return _narrowed(self._declared, proven)
