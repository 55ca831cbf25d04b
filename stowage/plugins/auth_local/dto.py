"""JSON shapes of the sign-in, ``/api/me`` and users admin routes, as published in the API document."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

__all__ = [
    "AuthConfig",
    "LoginRequest",
    "LoginResult",
    "Me",
    "NewUser",
    "PasswordChange",
    "PasswordReset",
    "UserList",
    "UserListQuery",
    "UserPatch",
    "UserView",
]

Role = Literal["admin", "user", "readonly"]


class LoginRequest(TypedDict):
    username: str
    password: str


class LoginResult(TypedDict):
    """Signed in; the ``stowage_session`` and ``stowage_csrf`` cookies are set."""

    status: Literal["ok"]
    source: str
    must_change_pw: bool


class AuthConfig(TypedDict):
    """The sign-in methods this server offers."""

    modes: list[str]
    allow_self_registration: bool


class Me(TypedDict):
    """The signed-in user."""

    id: str
    username: str
    role: str
    identity_source: str
    must_change_pw: bool
    email: NotRequired[str]


class PasswordChange(TypedDict):
    current_password: str
    new_password: str


class UserView(TypedDict):
    """A user account; the password hash never leaves the server."""

    id: str
    username: str
    email: NotRequired[str]
    role: str
    identity_source: str
    enabled: bool
    must_change_pw: bool
    failed_attempts: int
    locked_until: NotRequired[str]
    created_at: str
    last_login_at: NotRequired[str]


class UserList(TypedDict):
    users: list[UserView]


class UserListQuery(TypedDict, total=False):
    query: str
    role: str
    source: str
    enabled: Literal["true", "false"]
    limit: int
    offset: int


class NewUser(TypedDict):
    username: str
    password: str
    role: Role
    email: NotRequired[str]
    must_change_pw: NotRequired[bool]


class UserPatch(TypedDict, total=False):
    role: Role
    enabled: bool
    email: str


class PasswordReset(TypedDict):
    new_password: str
