"""What an S3 request addresses and which operation it is: addressing, one operation table, tenant and
anonymous allow/deny decisions, and ``x-amz-copy-source`` parsing.

Operation names are S3's API action names (they label metrics and audit actions); everything not in
the table is ``Unknown``. Sub-resources do not change the operation name (``GET /b?acl`` is a
``ListObjects`` row) — they are judged separately, by name:

Tenant decision (signed and presigned requests), checked before the operation itself:

* **Allowed** sub-resource keys: ``location``, ``uploads``, ``uploadId``, ``partNumber``, ``delete``
  (DeleteObjects), ``versionId``, ``versions`` (read-only version listing), ``list-type``, and on
  objects only ``tagging`` (object tags: the same power as the ``x-amz-tagging`` upload header
  tenants already have) and ``attributes`` (GetObjectAttributes, read-only).
* **Denied** (403 ``AccessDenied``, result ``subresource-not-allowed``): every other S3 sub-resource
  in :data:`KNOWN_SUBRESOURCES` — all bucket configuration (acl, policy, cors, lifecycle, versioning,
  encryption, replication, notification, website, logging, object-lock, tagging on a bucket, …) and,
  on objects, acl, retention, legal-hold, restore, select, torrent.
* Then operations: ``PutBucket`` / ``DeleteBucket`` ⇒ 403 ``AccessDenied`` (op-not-allowed);
  ``Unknown`` ⇒ 400 ``InvalidRequest``. Query keys that are not sub-resources (``prefix``,
  ``max-keys``, ``response-content-type``, ``x-id`` …) are ordinary parameters and pass.

Anonymous decision: operations GetObject, HeadObject, HeadBucket, ListObjects only, and none
of the sub-resource keys in :data:`ANONYMOUS_BLOCKED_SUBRESOURCES` (plus ``versions``: version ids
and delete markers are no more public than ``versionId``).

Addressing (:func:`check_addressing`, before either decision): the proxy forwards the bucket and
key it classified, so paths an upstream would normalise into something else are refused with 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes

from stowage.core.formats.s3names import is_bucket_name

from .s3errors import AccessDenied, InvalidBucketName, InvalidRequest, MissingAuthenticationToken

__all__ = [
    "ANONYMOUS_BLOCKED_SUBRESOURCES",
    "ANONYMOUS_OPERATIONS",
    "KNOWN_SUBRESOURCES",
    "OPERATIONS",
    "TENANT_OBJECT_SUBRESOURCES",
    "TENANT_SUBRESOURCES",
    "Classified",
    "CopySource",
    "audit_action",
    "check_addressing",
    "check_anonymous",
    "check_tenant",
    "classify",
    "decode_path_part",
    "key_addressing_problem",
    "parse_copy_source",
    "query_keys",
    "resolve_target",
]

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
_FORM = "<form>"  # pseudo query key: a multipart/form-data POST (browser POST Object)

# (method, target, query keys that must all be present, operation); first matching row wins, so
# more specific rows come first. This is the only place operations are named.
OPERATIONS: tuple[tuple[str, str, frozenset[str], str], ...] = (
    ("GET", SERVICE, frozenset(), "ListBuckets"),
    ("GET", BUCKET, frozenset({"location"}), "GetBucketLocation"),
    ("GET", BUCKET, frozenset({"uploads"}), "ListMultipartUploads"),
    ("GET", BUCKET, frozenset(), "ListObjects"),
    ("GET", OBJECT, frozenset({"uploadId"}), "ListParts"),
    ("GET", OBJECT, frozenset(), "GetObject"),
    ("HEAD", BUCKET, frozenset(), "HeadBucket"),
    ("HEAD", OBJECT, frozenset(), "HeadObject"),
    ("PUT", BUCKET, frozenset(), "PutBucket"),
    ("PUT", OBJECT, frozenset({"partNumber", "uploadId"}), "UploadPart"),
    ("PUT", OBJECT, frozenset(), "PutObject"),
    ("DELETE", BUCKET, frozenset(), "DeleteBucket"),
    ("DELETE", OBJECT, frozenset({"uploadId"}), "AbortMultipart"),
    ("DELETE", OBJECT, frozenset(), "DeleteObject"),
    ("POST", OBJECT, frozenset({"uploads"}), "CreateMultipartUpload"),
    ("POST", OBJECT, frozenset({"uploadId"}), "CompleteMultipartUpload"),
    ("POST", BUCKET, frozenset({"delete"}), "DeleteObjects"),
    ("POST", BUCKET, frozenset({_FORM}), "PostObject"),
)
_BY_METHOD_TARGET: dict[tuple[str, str], tuple[tuple[frozenset[str], str], ...]] = {}
for _method, _target, _keys, _operation in OPERATIONS:
    _BY_METHOD_TARGET[(_method, _target)] = (
        *_BY_METHOD_TARGET.get((_method, _target), ()),
        (_keys, _operation),
    )

KNOWN_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "list-type", "location",
        "logging", "metadataConfiguration", "metadataTable", "metrics", "notification",
        "object-lock", "ownershipControls", "partNumber", "policy", "policyStatus",
        "publicAccessBlock", "renameObject", "replication", "requestPayment", "restore",
        "retention", "select", "select-type", "session", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip
"""S3 query keys that select an API other than the plain verb on the target."""
TENANT_SUBRESOURCES = frozenset(
    {"location", "uploads", "uploadId", "partNumber", "delete", "versionId", "versions", "list-type"}
)
TENANT_OBJECT_SUBRESOURCES = TENANT_SUBRESOURCES | {"tagging", "attributes"}

ANONYMOUS_OPERATIONS = frozenset({"GetObject", "HeadObject", "HeadBucket", "ListObjects"})
ANONYMOUS_BLOCKED_SUBRESOURCES = frozenset(
    {
        "acl", "policy", "versioning", "logging", "tagging", "cors", "lifecycle", "encryption",
        "replication", "notification", "analytics", "inventory", "metrics", "accelerate",
        "requestPayment", "website", "object-lock", "legal-hold", "retention", "uploads",
        "uploadId", "delete", "restore", "select", "versionId", "versions", "torrent",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Classified:
    """A classified request. ``key`` is percent-decoded (for scope checks, audit, outbound encoding);
    undecodable UTF-8 bytes are kept as surrogate escapes so re-encoding is lossless."""

    operation: str
    bucket: str
    key: str
    virtual_hosted: bool
    query: frozenset[str]

    @property
    def target(self) -> str:
        return SERVICE if not self.bucket else (OBJECT if self.key else BUCKET)

    @property
    def audit_action(self) -> str:
        return audit_action(self.operation)


@dataclass(frozen=True, slots=True)
class CopySource:
    bucket: str
    key: str
    version_id: str | None


def audit_action(operation: str) -> str:
    """The audit action name of an operation: ``s3.proxy.<operation lower-cased>``."""
    return "s3.proxy." + operation.lower()


def decode_path_part(raw: bytes) -> str:
    """Percent-decode a raw path part to text, keeping invalid UTF-8 as surrogate escapes."""
    if b"%" not in raw:
        return raw.decode("utf-8", "surrogateescape")
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def _host_name(host: str) -> str:
    """Lower-case host without its port (IPv6 literals keep their brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.partition(":")[0]


def resolve_target(host: str, raw_path: bytes, host_suffixes: tuple[str, ...] = ()) -> tuple[str, str, bool]:
    """(bucket, decoded key, virtual_hosted) from the Host header and the raw path."""
    name = _host_name(host)
    path = raw_path[1:] if raw_path.startswith(b"/") else raw_path
    for suffix in host_suffixes:
        if name.endswith("." + suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix) - 1], decode_path_part(path), True
    bucket, _, key = path.partition(b"/")
    return decode_path_part(bucket), decode_path_part(key), False


def query_keys(raw_query: bytes) -> frozenset[str]:
    """The set of (decoded) parameter names in a raw query string."""
    if not raw_query:
        return frozenset()
    keys = set()
    for piece in raw_query.split(b"&"):
        if piece:
            key = piece.partition(b"=")[0].decode("latin-1")
            keys.add(unquote(key) if "%" in key else key)
    return frozenset(keys)


def classify(
    method: str,
    host: str,
    raw_path: bytes,
    raw_query: bytes,
    *,
    content_type: str = "",
    host_suffixes: tuple[str, ...] = (),
) -> Classified:
    """Resolve bucket and key and name the operation from :data:`OPERATIONS`."""
    bucket, key, virtual = resolve_target(host, raw_path, host_suffixes)
    keys = query_keys(raw_query)
    target = SERVICE if not bucket else (OBJECT if key else BUCKET)
    present = keys | {_FORM} if content_type.lower().startswith("multipart/form-data") else keys
    operation = "Unknown"
    for required, name in _BY_METHOD_TARGET.get((method.upper(), target), ()):
        if required <= present:
            operation = name
            break
    return Classified(operation, bucket, key, virtual, keys)


_DOT_SEGMENTS = frozenset({".", ".."})


def check_addressing(request: Classified, raw_query: bytes) -> None:
    """Raise 400 unless the upstream will address exactly what was classified.

    The outbound URL is rebuilt from ``bucket`` and ``key`` (never the raw path), but upstreams
    normalise paths: an empty segment after the bucket (``/b//`` ⇒ key ``/``) or a ``.``/``..``
    segment (``/b/./``, ``/b/x/../..``) would turn an object request into a bucket or service
    request, or reach another bucket. Those keys, bucket names S3 cannot have (``/b%2Fx``) and a
    key without a bucket (``//k``) are refused. So are repeated query parameter names: the outbound
    query is re-serialised sorted, which would reorder them, and upstreams disagree on which wins.
    """
    bucket, key = request.bucket, request.key
    if not bucket:
        if key:
            raise InvalidRequest("an object key needs a bucket (empty bucket segment in the path)")
    elif not is_bucket_name(bucket):
        raise InvalidBucketName(bucket=None)
    problem = key_addressing_problem(key)
    if problem:
        raise InvalidRequest(problem, bucket=bucket)
    if raw_query and len(request.query) != raw_query.count(b"&") + 1 - _empty_pieces(raw_query):
        raise InvalidRequest("a query parameter is repeated", bucket=bucket or None)


def key_addressing_problem(key: str) -> str:
    """Why the upstream could read ``/<bucket>/<key>`` as another path, or ``""``."""
    if key and (key[0] == "/" or ("." in key and not _DOT_SEGMENTS.isdisjoint(key.split("/")))):
        return (
            "object keys that begin with '/' or contain '.' or '..' segments are not supported: "
            "the upstream would read them as a different path"
        )
    return ""


def _empty_pieces(raw_query: bytes) -> int:
    """How many ``&``-separated pieces of ``raw_query`` are empty (``a=1&&b`` has one)."""
    if b"&&" not in raw_query and raw_query[:1] != b"&" and raw_query[-1:] != b"&":
        return 0
    return sum(1 for piece in raw_query.split(b"&") if not piece)


def check_tenant(request: Classified) -> None:
    """Raise unless a signed tenant may perform this request (decisions in the module docstring)."""
    allowed = TENANT_OBJECT_SUBRESOURCES if request.key else TENANT_SUBRESOURCES
    denied = (request.query & KNOWN_SUBRESOURCES) - allowed
    if denied:
        raise AccessDenied(
            f"sub-resource {sorted(denied)[0]!r} is not permitted through the proxy",
            result="subresource-not-allowed",
            bucket=request.bucket or None,
        )
    if request.operation in ("PutBucket", "DeleteBucket"):
        raise AccessDenied(
            f"{request.operation} is not permitted through the proxy",
            result="op-not-allowed",
            bucket=request.bucket or None,
        )
    if request.operation == "Unknown":
        raise InvalidRequest("unsupported operation", result="bad-request", bucket=request.bucket or None)


def check_anonymous(request: Classified) -> None:
    """Raise unless an anonymous request may reach a bound bucket (binding lookup is the caller's)."""
    if not request.bucket:
        raise MissingAuthenticationToken()
    if request.operation not in ANONYMOUS_OPERATIONS:
        raise AccessDenied(
            "operation not permitted on anonymous bucket", result="op-not-allowed", bucket=request.bucket
        )
    if request.query & ANONYMOUS_BLOCKED_SUBRESOURCES:
        raise AccessDenied(
            "operation not permitted on anonymous bucket",
            result="subresource-not-allowed",
            bucket=request.bucket,
        )


def parse_copy_source(value: str | bytes) -> CopySource:
    """Split ``x-amz-copy-source`` into bucket, decoded key and version.

    The ``?versionId=`` suffix is cut before percent-decoding, so a key containing an encoded
    ``?`` (``%3F``) is never mistaken for a version suffix; then the leading ``/`` is stripped and the
    first segment is the bucket.
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text, _, suffix = text.strip().partition("?")
    version_id: str | None = None
    if suffix:
        name, _, version = suffix.partition("=")
        if name != "versionId" or not version:
            raise InvalidRequest("invalid x-amz-copy-source")
        version_id = unquote(version)
    path = unquote_to_bytes(text).decode("utf-8", "surrogateescape").lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise InvalidRequest("x-amz-copy-source must be <bucket>/<key>")
    return CopySource(bucket, key, version_id)
