"""argon2id PHC hashing and the length policy."""

from __future__ import annotations

import base64
import re

import pytest

from stowage.core.kernel.errors import BadRequest
from stowage.core.security.passwords import (
    DUMMY_HASH,
    check_password_policy,
    hash_password,
    parse_phc,
    verify_password,
    verify_password_sync,
)
from tests.plugins.auth_local.helpers import PASSWORD, known_hash

PHC = re.compile(r"^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")


def test_phc_string_format_matches_the_original() -> None:
    phc = known_hash()
    assert PHC.fullmatch(phc), phc
    parsed = parse_phc(phc)
    assert (parsed.memory_kib, parsed.iterations, parsed.parallelism) == (65536, 3, 2)
    assert (len(parsed.salt), len(parsed.digest)) == (16, 32)
    assert PHC.fullmatch(DUMMY_HASH)


async def test_async_hash_and_verify_round_trip() -> None:
    phc = await hash_password("säkert lösenord")
    assert PHC.fullmatch(phc)
    assert await verify_password("säkert lösenord", phc)
    assert not await verify_password("sakert losenord", phc)


def test_verify_reads_parameters_from_the_string() -> None:
    from argon2.low_level import Type, hash_secret_raw

    salt = b"0123456789abcdef"
    digest = hash_secret_raw(b"cheap", salt, 1, 1024, 1, 24, Type.ID)
    b64 = lambda data: base64.b64encode(data).rstrip(b"=").decode()  # noqa: E731
    phc = f"$argon2id$v=19$m=1024,t=1,p=1${b64(salt)}${b64(digest)}"
    assert verify_password_sync("cheap", phc)
    assert not verify_password_sync("dear", phc)
    assert not verify_password_sync("cheap", phc.replace("v=19", "v=16"))
    assert not verify_password_sync("cheap", phc.replace("argon2id", "argon2i"))
    assert not verify_password_sync(PASSWORD, "not a hash")


def test_policy_counts_bytes() -> None:
    check_password_policy("x" * 12, 12)
    check_password_policy("é" * 6, 12)  # six characters, twelve bytes
    with pytest.raises(BadRequest) as caught:
        check_password_policy("x" * 11, 12)
    assert (caught.value.code, caught.value.message) == (
        "weak_password",
        "password must be at least 12 characters",
    )
