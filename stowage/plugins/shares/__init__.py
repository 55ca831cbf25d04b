"""Built-in ``shares``: public share links with password, expiry and an atomic download cap.

How the parts combine:

* ``rules`` — pure rules: object-key validation, download file names, active content
  types, preview kinds, the single ``Range`` form.
* ``api`` (``/api/shares``) — owners create, list and revoke shares (SHARE-1…4); the record and
  its store contract are ``stowage.core.contracts.shares``, the table ``stowage.plugins.sqlite.shares``.
* ``gate`` — what every public ``/s/<code>`` request passes: the per-IP limiter, code
  resolution through the ``stowage_share_resolve`` hook (the store lookup below is its ``trylast``
  default), the SHARE-5 checks in order, and the audit of each outcome (SHARE-10).
* ``unlock`` — the HMAC unlock cookie bound to one code (SHARE-7).
* ``objects`` — the object through its backend driver: HEAD, the text-preview prefix, and the
  ``/raw`` stream whose download is claimed by one conditional UPDATE before any byte is sent.
* ``public`` (``/s/<code>/info|unlock|raw``, JSON) and ``page`` (``/s/<code>``, HTML from
  ``templates/``) — the two faces of a share for recipients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.shares import Share, share_store
from stowage.hooks import hookimpl
from stowage.plugins.shares.api import share_api
from stowage.plugins.shares.page import share_page
from stowage.plugins.shares.public import public_shares
from stowage.plugins.shares.unlock import unlock_key

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["stowage_blueprints", "stowage_share_resolve", "stowage_startup"]


@hookimpl
def stowage_startup(runtime: Runtime) -> None:
    """Draw this process's unlock-cookie key (a restart invalidates every unlock)."""
    unlock_key(runtime)


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    """The share API and the recipient endpoints on the dashboard listener."""
    return [share_api, public_shares, share_page]


@hookimpl(trylast=True)
async def stowage_share_resolve(code: str, runtime: Runtime) -> Share | None:
    """The default resolver: the ``shares`` table."""
    share: Share | None = await share_store(runtime).by_code(code)
    return share
