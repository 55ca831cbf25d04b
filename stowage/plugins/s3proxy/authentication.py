"""``CredentialResolver``: who signed a proxy request, for every way S3 clients sign.

SigV4 and SigV2, in the Authorization header or presigned in the query, and the signed policy of a
browser POST form (SigV4 or SigV2 fields) all resolve here: parse → look the access key up (the
in-memory cache, then the ``stowage_credential_lookup`` hook) → verify the signature with the
credential's secret. Authentication failures are counted by reason. The resolver also owns the
admission checks that follow authentication: the global and per-key request rate limits and the
credential's bucket scope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stowage.core.security.ratelimit import TokenBucketLimiter
from stowage.plugins.s3proxy.s3errors import AccessDenied, AuthError, InvalidAccessKeyId, SlowDown
from stowage.plugins.s3proxy.sigv2 import (
    ParsedV2,
    SigV2Disabled,
    is_sigv2,
    parse_sigv2,
    verify_post_policy_v2,
    verify_sigv2,
)
from stowage.plugins.s3proxy.sigv4 import (
    ParsedAuth,
    SigningKeyCache,
    parse_post_policy_auth,
    parse_request,
    verify,
    verify_post_policy,
)

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import CredentialCache, VirtualCredential
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.metrics import ProxyMetrics
    from stowage.plugins.s3proxy.request import ProxyRequest

__all__ = ["CredentialResolver"]


class CredentialResolver:
    """Signature verification, credential look-up, rate limits and bucket scope; one per proxy app."""

    def __init__(
        self,
        runtime: Runtime,
        credentials: CredentialCache,
        signing_keys: SigningKeyCache,
        metrics: ProxyMetrics,
    ) -> None:
        settings = runtime.settings.s3_proxy
        self.runtime = runtime
        self.credentials = credentials
        self.signing_keys = signing_keys
        self.metrics = metrics
        self.sigv2 = settings.sigv2
        self.global_limit = TokenBucketLimiter(settings.global_rps) if settings.global_rps > 0 else None
        self.key_limit = TokenBucketLimiter(settings.per_key_rps) if settings.per_key_rps > 0 else None

    async def _lookup_elsewhere(self, access_key: str) -> VirtualCredential:
        """A credential the cache lacks, from the lookup hook; else ``InvalidAccessKeyId``."""
        runtime = self.runtime
        credential: VirtualCredential | None = await runtime.hooks.credential_lookup(
            access_key_id=access_key, runtime=runtime
        )
        if credential is None or not credential.usable(datetime.fromtimestamp(runtime.clock(), UTC)):
            raise InvalidAccessKeyId()
        return credential

    async def from_request(self, req: ProxyRequest) -> VirtualCredential:
        """SigV4 or SigV2 (header or presigned) → credential; sets ``req.auth`` and ``req.credential``."""
        try:
            parsed: ParsedAuth | ParsedV2
            if is_sigv2(
                req.headers_by_name.get(b"authorization"), req.raw_query
            ):  # one prefix test for SigV4
                parsed = self._parse_sigv2(req)
            else:
                parsed = parse_request(req.method, req.raw_path, req.raw_query, req.headers)
            req.auth_mode = parsed.mode
            req.access_key = parsed.access_key_id
            # the cache holds only usable credentials; a miss asks the hook (no coroutine on a hit)
            credential = self.credentials.get(parsed.access_key_id) or await self._lookup_elsewhere(
                parsed.access_key_id
            )
            if isinstance(parsed, ParsedV2):
                req.auth = verify_sigv2(parsed, credential.secret_key, now=self.runtime.clock())
                _adopt_sigv2_query(req, parsed)
            else:
                req.auth = verify(
                    parsed, credential.secret_key, now=self.runtime.clock(), cache=self.signing_keys
                )
        except AuthError as error:
            self.metrics.auth_failure(error.result)
            raise
        req.credential = credential
        return credential

    def _parse_sigv2(self, req: ProxyRequest) -> ParsedV2:
        if not self.sigv2:
            raise SigV2Disabled()
        classified = req.classified
        prefix = b""
        if classified is not None and classified.virtual_hosted and classified.bucket:
            # a virtual-hosted request's path lacks the bucket, which SigV2's canonical resource names
            prefix = b"/" + classified.bucket.encode("utf-8", "surrogateescape")
        return parse_sigv2(req.method, req.raw_path, req.raw_query, req.headers, bucket_prefix=prefix)

    async def from_post_form(self, req: ProxyRequest, fields: dict[str, str]) -> VirtualCredential:
        """The signer of a POST form's ``policy`` (SigV4 ``x-amz-*`` or SigV2 ``AWSAccessKeyId`` fields)."""
        # SigV2 forms (boto3's default generate_presigned_post) name the key in AWSAccessKeyId
        sigv2 = "awsaccesskeyid" in fields and "x-amz-credential" not in fields
        try:
            if sigv2:
                if not self.sigv2:
                    raise SigV2Disabled()
                access_key = fields["awsaccesskeyid"]
                req.auth_mode = "post-policy-v2"
            else:
                parsed = parse_post_policy_auth(
                    fields.get("x-amz-algorithm", ""),
                    fields.get("x-amz-credential", ""),
                    fields.get("x-amz-date", ""),
                    fields.get("x-amz-signature", ""),
                )
                access_key = parsed.access_key_id
            req.access_key = access_key
            credential = self.credentials.get(access_key) or await self._lookup_elsewhere(access_key)
            if sigv2:
                verify_post_policy_v2(
                    credential.secret_key, fields.get("policy", ""), fields.get("signature", "")
                )
            else:
                verify_post_policy(
                    parsed,
                    credential.secret_key,
                    fields.get("policy", ""),
                    now=self.runtime.clock(),
                    cache=self.signing_keys,
                )
        except AuthError as error:
            self.metrics.auth_failure(error.result)
            raise
        req.credential = credential
        return credential

    def admit(self, credential: VirtualCredential) -> None:
        """The global and per-key request rate limits (503 ``SlowDown``)."""
        if self.global_limit is not None and not self.global_limit.allow():
            raise SlowDown()
        if self.key_limit is not None and not self.key_limit.allow(credential.access_key):
            raise SlowDown()

    def check_scope(self, credential: VirtualCredential, bucket: str) -> None:
        """403 unless ``bucket`` (when named) is one the credential may reach."""
        if bucket and not credential.allows_bucket(bucket):
            self.metrics.scope_violation()
            raise AccessDenied(
                "credential is not scoped to this bucket", result="scope-violation", bucket=bucket
            )


def _adopt_sigv2_query(req: ProxyRequest, parsed: ParsedV2) -> None:
    """A SigV2 presigned URL's signed header parameters become headers; the upstream query loses them."""
    if parsed.mode != "presigned-v2":
        return
    for name, value in parsed.added_headers:
        req.headers.append((name, value))
        req.headers_by_name[name] = value
    req.upstream_query = parsed.upstream_query
