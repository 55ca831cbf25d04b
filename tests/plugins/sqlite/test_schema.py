"""The core schema matches the original schema, checked through SQLite's own catalogue.

The expectations below are transcribed from the SPEC tables, not from the migration source.
Notation per column: ``name TYPE [NN] [DEFAULT <sql>] [PK <n>]``. The SPEC abbreviates: ``INT`` is
written here as ``INTEGER`` (the declared type of the original's columns), ``*_at`` columns are
``TIMESTAMP``, and key/ownership columns the SPEC lists without a type (``backend_id``, ``bucket``,
``object_key``, ``user_id`` in pins) are ``TEXT NOT NULL`` as in the original's database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from stowage.plugins.sqlite import CORE_SET, SqliteStore

SPEC_TABLES: dict[str, str] = {
    "schema_migrations": """
        version INTEGER PK 1
        name TEXT NN
        applied_at TIMESTAMP NN DEFAULT CURRENT_TIMESTAMP
    """,
    "plugin_migrations": """
        plugin TEXT NN PK 1
        version INTEGER NN PK 2
        name TEXT NN
        applied_at TIMESTAMP NN DEFAULT CURRENT_TIMESTAMP
    """,
    "users": """
        id TEXT PK 1
        username TEXT NN
        email TEXT
        password_hash TEXT NN DEFAULT ''
        role TEXT NN
        identity_source TEXT NN DEFAULT 'local'
        enabled INTEGER NN DEFAULT 1
        must_change_pw INTEGER NN DEFAULT 0
        failed_attempts INTEGER NN DEFAULT 0
        locked_until TIMESTAMP
        created_at TIMESTAMP NN
        created_by TEXT
        last_login_at TIMESTAMP
        pw_changed_at TIMESTAMP NN
        oidc_subject TEXT
    """,
    "sessions": """
        id TEXT PK 1
        user_id TEXT NN
        identity_source TEXT NN
        csrf_token TEXT NN
        ip TEXT
        user_agent TEXT
        flags INTEGER NN DEFAULT 0
        created_at TIMESTAMP NN
        last_seen_at TIMESTAMP NN
        expires_at TIMESTAMP NN
    """,
    "pw_reset_tokens": """
        token_hash TEXT PK 1
        user_id TEXT NN
        created_at TIMESTAMP NN
        expires_at TIMESTAMP NN
        used_at TIMESTAMP
    """,
    "shares": """
        id TEXT PK 1
        code TEXT NN
        backend_id TEXT NN
        bucket TEXT NN
        object_key TEXT NN
        created_by TEXT NN
        created_at TIMESTAMP NN
        expires_at TIMESTAMP
        password_hash TEXT NN DEFAULT ''
        max_downloads INTEGER
        download_count INTEGER NN DEFAULT 0
        revoked INTEGER NN DEFAULT 0
        revoked_at TIMESTAMP
        last_accessed_at TIMESTAMP
        disposition TEXT NN DEFAULT 'attachment'
    """,
    "bucket_quotas": """
        backend_id TEXT NN PK 1
        bucket TEXT NN PK 2
        soft_bytes INTEGER NN DEFAULT 0
        hard_bytes INTEGER NN DEFAULT 0
        updated_at TIMESTAMP NN
        updated_by TEXT NN
    """,
    "audit_events": """
        id INTEGER PK 1
        ts TIMESTAMP NN
        user_id TEXT
        action TEXT NN
        backend_id TEXT
        bucket TEXT
        object_key TEXT
        request_id TEXT
        ip TEXT
        user_agent TEXT
        status TEXT NN DEFAULT 'ok'
        detail TEXT
    """,
    "bucket_pins": """
        user_id TEXT NN PK 1
        backend_id TEXT NN PK 2
        bucket TEXT NN PK 3
        created_at TIMESTAMP NN
    """,
    "backends": """
        id TEXT PK 1
        name TEXT NN
        type TEXT NN DEFAULT 's3v4'
        endpoint TEXT NN
        region TEXT NN DEFAULT ''
        path_style INTEGER NN DEFAULT 0
        access_key TEXT NN DEFAULT ''
        secret_key_enc BLOB
        enabled INTEGER NN DEFAULT 1
        created_at TIMESTAMP NN
        created_by TEXT
        updated_at TIMESTAMP NN
        updated_by TEXT
    """,
    "bucket_size_tracking": """
        backend_id TEXT NN PK 1
        bucket TEXT NN PK 2
        enabled INTEGER NN DEFAULT 1
        updated_at TIMESTAMP NN
        updated_by TEXT
    """,
    "s3_credentials": """
        access_key TEXT PK 1
        secret_key_enc BLOB NN
        backend_id TEXT NN
        buckets TEXT NN DEFAULT '[]'
        user_id TEXT
        description TEXT NN DEFAULT ''
        enabled INTEGER NN DEFAULT 1
        expires_at TIMESTAMP
        created_at TIMESTAMP NN
        created_by TEXT
        updated_at TIMESTAMP NN
        updated_by TEXT
    """,
    "s3_anonymous_bindings": """
        backend_id TEXT NN PK 1
        bucket TEXT NN PK 2
        mode TEXT NN DEFAULT 'ReadOnly'
        per_source_ip_rps INTEGER NN DEFAULT 20
        created_at TIMESTAMP NN
        created_by TEXT
    """,
    "s3_bucket_cors": """
        backend_id TEXT NN PK 1
        bucket TEXT NN PK 2
        rules TEXT NN
        created_at TIMESTAMP NN
        updated_at TIMESTAMP NN
    """,
}

# name -> (table, [(column, descending, collation)], unique, partial). Names the SPEC leaves open
# ("indexes on created_by, expires_at"; "index on backend_id") are the original's.
SPEC_INDEXES: dict[str, tuple[str, list[tuple[str, bool, str]], bool, bool]] = {
    "users_username_unique": ("users", [("username", False, "NOCASE")], True, False),
    "users_email_unique": ("users", [("email", False, "NOCASE")], True, True),
    "users_oidc_subject_unique": (
        "users",
        [("identity_source", False, "BINARY"), ("oidc_subject", False, "BINARY")],
        True,
        True,
    ),
    "sessions_user_id": ("sessions", [("user_id", False, "BINARY")], False, False),
    "sessions_expires": ("sessions", [("expires_at", False, "BINARY")], False, False),
    "shares_code_unique": ("shares", [("code", False, "BINARY")], True, False),
    "shares_created_by": ("shares", [("created_by", False, "BINARY")], False, False),
    "shares_expires_at": ("shares", [("expires_at", False, "BINARY")], False, False),
    "audit_ts_desc": ("audit_events", [("ts", True, "BINARY")], False, False),
    "audit_user": ("audit_events", [("user_id", False, "BINARY")], False, False),
    "audit_action": ("audit_events", [("action", False, "BINARY")], False, False),
    "audit_backend": (
        "audit_events",
        [("backend_id", False, "BINARY"), ("bucket", False, "BINARY")],
        False,
        False,
    ),
    "bucket_pins_user": (
        "bucket_pins",
        [("user_id", False, "BINARY"), ("created_at", True, "BINARY")],
        False,
        False,
    ),
    "s3_credentials_backend": ("s3_credentials", [("backend_id", False, "BINARY")], False, False),
    "s3_credentials_user": ("s3_credentials", [("user_id", False, "BINARY")], False, True),
}

SPEC_MIGRATIONS = [
    (1, "initial"),
    (2, "shares"),
    (3, "bucket_quotas"),
    (4, "audit_events"),
    (5, "bucket_pins"),
    (6, "users_oidc_subject"),
    (7, "backends"),
    (8, "bucket_size_tracking"),
    (9, "s3_credentials"),
    (10, "s3_anonymous_bindings"),
    (11, "s3_bucket_cors"),
]


def _parse_columns(spec: str) -> list[tuple[str, str, int, str | None, int]]:
    out = []
    for line in spec.strip().splitlines():
        words = line.split()
        name, ctype, rest = words[0], words[1], words[2:]
        default = rest[rest.index("DEFAULT") + 1] if "DEFAULT" in rest else None
        pk = int(rest[rest.index("PK") + 1]) if "PK" in rest else 0
        out.append((name, ctype, int("NN" in rest), default, pk))
    return out


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    import asyncio

    path = tmp_path_factory.mktemp("schema") / "stowage.db"

    async def build() -> None:
        store = SqliteStore(path)
        await store.open()
        await store.apply_migrations([CORE_SET])
        await store.close()

    asyncio.run(build())
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


async def test_fresh_open_creates_database_wal_and_shm(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    await store.open()
    try:
        assert sorted(os.listdir(tmp_path)) == ["stowage.db", "stowage.db-shm", "stowage.db-wal"]
    finally:
        await store.close()


def test_schema_migrations_records_1_to_11_with_original_names(migrated: sqlite3.Connection) -> None:
    rows = migrated.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert rows == SPEC_MIGRATIONS
    assert migrated.execute("SELECT count(*) FROM plugin_migrations").fetchone() == (0,)


def test_exactly_the_spec_tables_exist(migrated: sqlite3.Connection) -> None:
    tables = {r[0] for r in migrated.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(SPEC_TABLES) | {"sqlite_sequence"}  # sqlite_sequence: AUTOINCREMENT


@pytest.mark.parametrize("table", sorted(SPEC_TABLES))
def test_table_columns_match_spec(migrated: sqlite3.Connection, table: str) -> None:
    got = [(r[1], r[2], r[3], r[4], r[5]) for r in migrated.execute(f"PRAGMA table_info({table})")]
    assert got == _parse_columns(SPEC_TABLES[table])


def test_indexes_match_spec(migrated: sqlite3.Connection) -> None:
    got: dict[str, tuple[str, list[tuple[str, bool, str]], bool, bool]] = {}
    for table in SPEC_TABLES:
        for _seq, name, unique, origin, partial in migrated.execute(f"PRAGMA index_list({table})"):
            if origin != "c":  # automatic indexes behind PRIMARY KEY / UNIQUE constraints
                continue
            cols = [
                (r[2], bool(r[3]), r[4])
                for r in migrated.execute(f"PRAGMA index_xinfo({name})")
                if r[5]  # key columns only, not the trailing rowid
            ]
            got[name] = (table, cols, bool(unique), bool(partial))
    assert got == SPEC_INDEXES


def test_audit_id_is_autoincrement(migrated: sqlite3.Connection) -> None:
    (sql,) = migrated.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_events'").fetchone()
    assert "AUTOINCREMENT" in sql.upper()


def test_only_pw_reset_tokens_has_a_foreign_key(migrated: sqlite3.Connection) -> None:
    fks = {t: migrated.execute(f"PRAGMA foreign_key_list({t})").fetchall() for t in SPEC_TABLES}
    assert {t for t, rows in fks.items() if rows} == {"pw_reset_tokens"}
    (row,) = fks["pw_reset_tokens"]
    assert (row[2], row[3], row[4], row[6]) == ("users", "user_id", "id", "CASCADE")


async def test_constraints_behave(tmp_path: Path) -> None:
    """CHECK on role, case-insensitive unique names, cascade on reset tokens (foreign_keys=ON)."""
    store = SqliteStore(tmp_path / "stowage.db")
    await store.open()
    try:
        await store.apply_migrations([CORE_SET])
        db = store.db
        now = "2026-04-26 02:06:35.000000000+00:00"
        insert = "INSERT INTO users (id, username, role, created_at, pw_changed_at) VALUES (?, ?, ?, ?, ?)"
        await db.execute(insert, ("01A", "Alice", "admin", now, now))
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            await db.execute(insert, ("01B", "bob", "root", now, now))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            await db.execute(insert, ("01C", "ALICE", "user", now, now))
        token = (
            "INSERT INTO pw_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)"
        )
        await db.execute(token, ("h", "01A", now, now))
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute(token, ("h2", "nobody", now, now))
        assert await db.execute("DELETE FROM users WHERE id = ?", ("01A",)) == 1
        assert await db.fetchall("SELECT * FROM pw_reset_tokens") == []
        # INTEGER affinity: the flag columns hold integers whatever the driver binds.
        await db.execute(insert, ("01D", "dora", "readonly", now, now))
        row = await db.fetchone("SELECT typeof(enabled) AS t, enabled FROM users WHERE id = '01D'")
        assert row is not None and (row["t"], row["enabled"]) == ("integer", 1)
    finally:
        await store.close()
