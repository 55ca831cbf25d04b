"""Built-in ``auth_local``: local accounts, the static admin, sessions, and the users admin API.

How the parts combine:

* ``sessions`` — ``SessionManager``, one per Runtime (``sessions.SESSIONS``):
  issues sessions, attaches a cookie to an ``Identity`` through a 30 s cache, coalesces
  ``last_seen_at`` writes (flushed every 2 s and at shutdown), purges dead sessions every 5 min.
  Semantics: a session dies ``auth.session.lifetime`` after it was created
  however busy it is, and earlier when unused for ``auth.session.idle_timeout``. Cached identities
  are dropped on logout, user patch/disable/delete, password change and admin reset, so those take
  effect on the user's next request.
* ``static`` — the break-glass admin of ``auth.static.*`` (hash from the environment at start-up).
* ``login`` — ``POST /auth/login/local`` (per-IP limiter, lockout, timing-flattened failures) and
  ``POST /auth/logout``; ``me`` — ``/api/auth/config``, ``/api/me``, ``/api/me/password``;
  ``users_api`` — ``/api/admin/users``. The ``/api`` pipeline itself (401, CSRF, must-change,
  per-session limit, role gates) is core: ``stowage.core.web.authz``.
* ``local_users`` — account operations shared by the API, the CLI (``commands``: ``create-admin``,
  ``hash-password``) and the quickstart step ``quickstart_admin``.

The hook below is the cookie authenticator, registered ``trylast`` so an SSO plugin's
authenticator is asked first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import g

from stowage.core.contracts.identity import Identity
from stowage.hooks import hookimpl
from stowage.plugins.auth_local import login, me, users_api
from stowage.plugins.auth_local.commands import COMMANDS
from stowage.plugins.auth_local.local_users import quickstart_admin
from stowage.plugins.auth_local.sessions import FLUSH_EVERY, PURGE_EVERY, SESSIONS, SessionManager, manager
from stowage.plugins.auth_local.static import load_static_admin

if TYPE_CHECKING:
    from stowage.core.kernel.cli import Command
    from stowage.core.kernel.runtime import Runtime
    from stowage.core.tooling.quickstart import QuickstartStep

__all__ = ["quickstart_admin"]


@hookimpl(trylast=True)
async def stowage_authenticate(request: Any, runtime: Runtime) -> Identity | None:
    """The ``stowage_session`` cookie's identity, or None (and the browser's cookies get cleared)."""
    session_id = request.cookies.get(login.SESSION_COOKIE, "")
    if not session_id:
        return None
    identity = await manager(runtime).resolve(session_id)
    if identity is None:
        g.stowage_clear_session = True
    return identity


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    return [login.blueprint, me.blueprint, users_api.blueprint]


@hookimpl
def stowage_startup(runtime: Runtime) -> None:
    sessions = SessionManager(runtime, load_static_admin(runtime.settings, runtime.environ))
    runtime.provide(SESSIONS, sessions)
    runtime.spawn(sessions.run_every(FLUSH_EVERY, "flush"), "auth_local-session-touch")
    runtime.spawn(sessions.run_every(PURGE_EVERY, "purge"), "auth_local-session-purge")


@hookimpl
def stowage_quickstart_steps(runtime: Runtime) -> list[QuickstartStep]:
    return [quickstart_admin]


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    sessions = runtime.find(SESSIONS)
    if sessions is not None:
        await sessions.flush()


@hookimpl
def stowage_cli_commands() -> list[Command]:
    return COMMANDS
