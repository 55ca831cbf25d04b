"""Answers the proxy gives itself for in-scope requests the upstream must not see: ACLs, CORS,
bucket configuration reads and CreateBucket on a bucket the credential already has.

Clients probe these as part of ordinary work (s3cmd ``cp``/``mv`` read and re-apply the source's
ACL, ``s3cmd info`` reads CORS, lifecycle and the ACL; rclone creates the bucket before its first
upload) and stop on a 403. For a bucket in the credential's scope (checked after authentication,
before the tenant rules) the proxy answers as S3 does for a bucket you own:

* ``GET ?acl`` (bucket or object): the canned ``private`` ACL — the owner has ``FULL_CONTROL``,
  which is what every object behind the proxy is. ``PUT ?acl`` that sets exactly that
  (``x-amz-acl: private``, or an ``AccessControlPolicy`` granting only the owner FULL_CONTROL) is a
  no-op 200; any other ACL is 501 ``NotImplemented`` (it could not be honoured).
* ``GET ?cors`` on a bucket: Stowage's own CORS rules for it as ``CORSConfiguration``, or 404
  ``NoSuchCORSConfiguration``.
* ``GET`` of any other bucket configuration (policy, lifecycle, versioning, …): 501
  ``NotImplemented``; it is the operator's to manage. Writes of configuration stay 403.
* ``PUT /bucket`` (CreateBucket): 200 when the request's location is us-east-1 (no
  ``LocationConstraint``), else 409 ``BucketAlreadyOwnedByYou`` — AWS's answers for your own bucket.

Each answer first checks the bucket or object exists upstream (a HEAD with the backend's key), so a
missing one is 404 ``NoSuchBucket``/``NoSuchKey`` as S3 would say, never a made-up success. Out of
scope requests fall through to the tenant rules (403).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from stowage.core.contracts.backends import backend_registry
from stowage.plugins.s3proxy.classify import KNOWN_SUBRESOURCES, TENANT_SUBRESOURCES
from stowage.plugins.s3proxy.policycache import policy_cache
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    BucketAlreadyOwnedByYou,
    InternalError,
    InvalidRequest,
    NoSuchBucket,
    NoSuchCORSConfiguration,
    NoSuchKey,
    S3NotImplemented,
    xml_text,
)

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import VirtualCredential
    from stowage.plugins.s3proxy.cors import CorsRule
    from stowage.plugins.s3proxy.forward import Forwarder
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = [
    "BUCKET_CONFIG_READS",
    "OWNER_ID",
    "answer_synthesized",
    "private_acl_xml",
    "synthesized_operation",
]

OWNER_ID = "stowage"
"""The owner every synthesised document names (ListBuckets names the same owner)."""
BUCKET_CONFIG_READS = KNOWN_SUBRESOURCES - TENANT_SUBRESOURCES - {
    "acl", "cors", "attributes", "restore", "select", "select-type", "renameObject", "session",
    "legal-hold", "retention", "torrent",
}  # fmt: skip
"""Bucket sub-resources whose GET answers 501: bucket configuration a tenant does not manage."""
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_BODY_LIMIT = 64 * 1024
_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


def private_acl_xml() -> bytes:
    owner = f"<ID>{OWNER_ID}</ID><DisplayName>{OWNER_ID}</DisplayName>"
    return (
        f'{_PROLOG}<AccessControlPolicy xmlns="{_NS}"><Owner>{owner}</Owner><AccessControlList>'
        f'<Grant><Grantee xmlns:xsi="{_XSI}" xsi:type="CanonicalUser">{owner}</Grantee>'
        "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
    ).encode()


def _cors_xml(rules: tuple[CorsRule, ...]) -> bytes:
    parts = [f'{_PROLOG}<CORSConfiguration xmlns="{_NS}">']
    for rule in rules:
        parts.append("<CORSRule>")
        parts += [f"<AllowedHeader>{xml_text(v)}</AllowedHeader>" for v in rule.allowed_headers]
        parts += [f"<AllowedMethod>{xml_text(v)}</AllowedMethod>" for v in rule.allowed_methods]
        parts += [f"<AllowedOrigin>{xml_text(v)}</AllowedOrigin>" for v in rule.allowed_origins]
        parts += [f"<ExposeHeader>{xml_text(v)}</ExposeHeader>" for v in rule.expose_headers]
        if rule.max_age_seconds is not None:
            parts.append(f"<MaxAgeSeconds>{rule.max_age_seconds}</MaxAgeSeconds>")
        parts.append("</CORSRule>")
    parts.append("</CORSConfiguration>")
    return "".join(parts).encode()


def synthesized_operation(req: ProxyRequest) -> str | None:
    """The synthesised operation this request asks for, or None (cheap: called for every request)."""
    classified = req.classified
    if classified is None or not classified.bucket:
        return None
    query, method = classified.query, req.method
    if not query:
        return "CreateBucket" if classified.operation == "PutBucket" else None
    target = "Object" if classified.key else "Bucket"
    if "acl" in query and method in ("GET", "PUT"):
        return f"{method.title()}{target}Acl"
    if classified.key or method != "GET":
        return None
    if "cors" in query:
        return "GetBucketCors"
    return "GetBucketConfig" if query & BUCKET_CONFIG_READS else None


async def answer_synthesized(
    forwarder: Forwarder,
    req: ProxyRequest,
    credential: VirtualCredential,
    operation: str,
    receive: Receive,
    responder: Responder,
) -> bool:
    """Answer ``operation`` (from :func:`synthesized_operation`) here when the bucket is in scope."""
    if not credential.allows_bucket(req.bucket):
        return False
    assert req.classified is not None
    req.classified = dataclasses.replace(req.classified, operation=operation)
    req.backend_id = credential.backend_id
    if operation == "GetBucketConfig":
        names = sorted(req.classified.query & BUCKET_CONFIG_READS)
        raise S3NotImplemented(
            f"bucket configuration ({names[0]}) is managed by the Stowage operator and is not "
            "available through the proxy",
            result="not-implemented",
            bucket=req.bucket,
        )
    if operation == "CreateBucket":
        await _create_bucket(forwarder, req, credential, receive, responder)
        return True
    await _require_target(forwarder, req, credential)
    if operation == "GetBucketCors":
        cache = policy_cache(forwarder.runtime)
        rules = cache.cors_rules(req.bucket) if cache is not None else ()
        if not rules:
            raise NoSuchCORSConfiguration(bucket=req.bucket)
        await responder.send_simple(200, _cors_xml(rules))
    elif operation.startswith("Get"):
        await responder.send_simple(200, private_acl_xml())
    else:
        _check_private_acl(req, await _small_body(forwarder, req, receive))
        await responder.send_simple(200, b"")
    return True


async def _require_target(forwarder: Forwarder, req: ProxyRequest, credential: VirtualCredential) -> None:
    """404 NoSuchBucket/NoSuchKey unless the bucket (and object, and version) exists upstream."""
    backend = backend_registry(forwarder.runtime).get(credential.backend_id)
    if backend is None:
        raise InternalError(
            f'backend "{credential.backend_id}": not registered', result="backend-unavailable"
        )
    version = _version_query(req.raw_query)
    status = await forwarder.upstream_status(backend, "HEAD", req.bucket, req.key, version)
    if status == 404:
        raise NoSuchKey(bucket=req.bucket) if req.key else NoSuchBucket(bucket=req.bucket)
    if status == 403:
        raise AccessDenied("the backend refused access", result="upstream-denied", bucket=req.bucket)
    if not 200 <= status < 300:
        raise InternalError(f"upstream answered {status}", result="upstream-error")


def _version_query(raw_query: bytes) -> bytes:
    for piece in raw_query.split(b"&"):
        if piece.startswith(b"versionId="):
            return piece
    return b""


async def _small_body(forwarder: Forwarder, req: ProxyRequest, receive: Receive) -> bytes:
    """The request body (decoded and hash-checked like a forwarded one), at most 64 KiB."""
    body, length, _ = forwarder.request_body(req, receive)
    if body is None or isinstance(body, bytes):
        return body or b""
    if length is not None and length > _BODY_LIMIT:
        raise InvalidRequest("request body is too large for this operation")
    chunks: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > _BODY_LIMIT:
            raise InvalidRequest("request body is too large for this operation")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_xml(body: bytes) -> ElementTree.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise InvalidRequest("XML with a document type declaration is not accepted", result="bad-request")
    try:
        # safe: entity tricks (billion laughs, external entities) need a DOCTYPE, refused above
        return ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        raise InvalidRequest("the XML you provided was not well-formed", result="bad-request") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _check_private_acl(req: ProxyRequest, body: bytes) -> None:
    """Accept exactly the private ACL; anything else is 501 (the proxy could not honour it)."""
    canned = req.headers_by_name.get(b"x-amz-acl")
    grants = [name for name in req.headers_by_name if name.startswith(b"x-amz-grant-")]
    refuse = S3NotImplemented(
        "only the private ACL (owner FULL_CONTROL) is supported through the proxy",
        result="not-implemented",
        bucket=req.bucket,
    )
    if grants:
        raise refuse
    if canned is not None:
        if body.strip():
            raise InvalidRequest("send either x-amz-acl or an AccessControlPolicy body, not both")
        if canned.strip() != b"private":
            raise refuse
        return
    if not body.strip():
        raise InvalidRequest("PUT ?acl needs x-amz-acl: private or an AccessControlPolicy body")
    root = _parse_xml(body)
    if _local(root.tag) != "AccessControlPolicy":
        raise InvalidRequest("the body must be an AccessControlPolicy document")
    for owner in (e for e in root.iter() if _local(e.tag) == "Owner"):
        if any((e.text or "").strip() != OWNER_ID for e in owner if _local(e.tag) == "ID"):
            raise refuse
    found = [e for e in root.iter() if _local(e.tag) == "Grant"]
    if not found or not all(_owner_full_control(grant) for grant in found):
        raise refuse


def _owner_full_control(grant: ElementTree.Element) -> bool:
    permission = ""
    grantee_id: str | None = None
    for child in grant:
        if _local(child.tag) == "Permission":
            permission = (child.text or "").strip()
        elif _local(child.tag) == "Grantee":
            if child.get(f"{{{_XSI}}}type") != "CanonicalUser":
                return False
            grantee_id = next(((e.text or "").strip() for e in child if _local(e.tag) == "ID"), None)
    return permission == "FULL_CONTROL" and grantee_id == OWNER_ID


async def _create_bucket(
    forwarder: Forwarder,
    req: ProxyRequest,
    credential: VirtualCredential,
    receive: Receive,
    responder: Responder,
) -> None:
    """CreateBucket on an in-scope bucket: S3's answers for a bucket you already own."""
    try:
        await _require_target(forwarder, req, credential)
    except NoSuchBucket:
        # in scope but absent upstream: creating buckets stays the operator's job
        raise AccessDenied(
            "PutBucket is not permitted through the proxy", result="op-not-allowed", bucket=req.bucket
        ) from None
    acl = req.headers_by_name.get(b"x-amz-acl")
    if (acl is not None and acl.strip() != b"private") or any(
        name.startswith(b"x-amz-grant-") for name in req.headers_by_name
    ):
        raise S3NotImplemented(
            "only the private ACL (owner FULL_CONTROL) is supported through the proxy",
            result="not-implemented",
            bucket=req.bucket,
        )
    body = await _small_body(forwarder, req, receive)
    location = ""
    if body.strip():
        constraints = [e for e in _parse_xml(body).iter() if _local(e.tag) == "LocationConstraint"]
        location = (constraints[0].text or "").strip() if constraints else ""
    lock = req.headers_by_name.get(b"x-amz-bucket-object-lock-enabled", b"").strip().lower() == b"true"
    if location in ("", "us-east-1") and not lock:
        await responder.send_simple(200, b"")  # us-east-1's legacy answer for your own bucket
        return
    raise BucketAlreadyOwnedByYou(bucket=req.bucket)
