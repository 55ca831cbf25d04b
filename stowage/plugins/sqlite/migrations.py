"""The core schema: the original's migrations 1 to 11, recorded in ``schema_migrations``.

Append only. A shipped migration is never edited or reordered: databases in the field record its
version, and a database written here must still open in the original. New core migrations
start at 12. Every ``*_at`` column is ``TIMESTAMP`` holding text in the canonical form of
``stowage.core.formats.timefmt``.
"""

from __future__ import annotations

from stowage.core.contracts.store import CORE_PLUGIN, Migration, MigrationSet

__all__ = ["CORE_MIGRATIONS", "CORE_SET", "PLUGIN_MIGRATIONS_DDL", "SCHEMA_MIGRATIONS_DDL"]

SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""

# Not a numbered core migration: the original ignores tables it does not know, so a database
# carrying this one still opens there.
PLUGIN_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS plugin_migrations (
    plugin     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (plugin, version)
)
"""

_INITIAL = """
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL COLLATE NOCASE,
    email           TEXT COLLATE NOCASE,
    password_hash   TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('admin', 'user', 'readonly')),
    identity_source TEXT NOT NULL DEFAULT 'local',
    enabled         INTEGER NOT NULL DEFAULT 1,
    must_change_pw  INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    created_by      TEXT,
    last_login_at   TIMESTAMP,
    pw_changed_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username_unique ON users (username);
CREATE UNIQUE INDEX users_email_unique ON users (email) WHERE email IS NOT NULL;

-- No foreign key to users: deleting a user deletes its sessions explicitly.
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    identity_source TEXT NOT NULL,
    csrf_token      TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    flags           INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE pw_reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
"""

_SHARES = """
CREATE TABLE shares (
    id               TEXT PRIMARY KEY,
    code             TEXT NOT NULL,
    backend_id       TEXT NOT NULL,
    bucket           TEXT NOT NULL,
    object_key       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP,
    password_hash    TEXT NOT NULL DEFAULT '',
    max_downloads    INTEGER,
    download_count   INTEGER NOT NULL DEFAULT 0,
    revoked          INTEGER NOT NULL DEFAULT 0,
    revoked_at       TIMESTAMP,
    last_accessed_at TIMESTAMP,
    disposition      TEXT NOT NULL DEFAULT 'attachment'
);
CREATE UNIQUE INDEX shares_code_unique ON shares (code);
CREATE INDEX shares_created_by ON shares (created_by);
CREATE INDEX shares_expires_at ON shares (expires_at);
"""

_BUCKET_QUOTAS = """
CREATE TABLE bucket_quotas (
    backend_id TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    soft_bytes INTEGER NOT NULL DEFAULT 0,
    hard_bytes INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (backend_id, bucket)
);
"""

_AUDIT_EVENTS = """
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         TIMESTAMP NOT NULL,
    user_id    TEXT,
    action     TEXT NOT NULL,
    backend_id TEXT,
    bucket     TEXT,
    object_key TEXT,
    request_id TEXT,
    ip         TEXT,
    user_agent TEXT,
    status     TEXT NOT NULL DEFAULT 'ok',
    detail     TEXT
);
CREATE INDEX audit_ts_desc ON audit_events (ts DESC);
CREATE INDEX audit_user ON audit_events (user_id);
CREATE INDEX audit_action ON audit_events (action);
CREATE INDEX audit_backend ON audit_events (backend_id, bucket);
"""

_BUCKET_PINS = """
CREATE TABLE bucket_pins (
    user_id    TEXT NOT NULL,
    backend_id TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, backend_id, bucket)
);
CREATE INDEX bucket_pins_user ON bucket_pins (user_id, created_at DESC);
"""

_USERS_OIDC_SUBJECT = """
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject_unique ON users (identity_source, oidc_subject)
    WHERE oidc_subject IS NOT NULL;
"""

# secret_key_enc is a sealed blob; NULL means no stored secret.
_BACKENDS = """
CREATE TABLE backends (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL DEFAULT 's3v4',
    endpoint       TEXT NOT NULL,
    region         TEXT NOT NULL DEFAULT '',
    path_style     INTEGER NOT NULL DEFAULT 0,
    access_key     TEXT NOT NULL DEFAULT '',
    secret_key_enc BLOB,
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT,
    updated_at     TIMESTAMP NOT NULL,
    updated_by     TEXT
);
"""

# Only explicit overrides are stored: a bucket without a row is tracked.
_BUCKET_SIZE_TRACKING = """
CREATE TABLE bucket_size_tracking (
    backend_id TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (backend_id, bucket)
);
"""

# buckets is a JSON array of bucket names; user_id only attributes audit events.
_S3_CREDENTIALS = """
CREATE TABLE s3_credentials (
    access_key     TEXT PRIMARY KEY,
    secret_key_enc BLOB NOT NULL,
    backend_id     TEXT NOT NULL,
    buckets        TEXT NOT NULL DEFAULT '[]',
    user_id        TEXT,
    description    TEXT NOT NULL DEFAULT '',
    enabled        INTEGER NOT NULL DEFAULT 1,
    expires_at     TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT,
    updated_at     TIMESTAMP NOT NULL,
    updated_by     TEXT
);
CREATE INDEX s3_credentials_backend ON s3_credentials (backend_id);
CREATE INDEX s3_credentials_user ON s3_credentials (user_id) WHERE user_id IS NOT NULL;
"""

_S3_ANONYMOUS_BINDINGS = """
CREATE TABLE s3_anonymous_bindings (
    backend_id        TEXT NOT NULL,
    bucket            TEXT NOT NULL,
    mode              TEXT NOT NULL DEFAULT 'ReadOnly',
    per_source_ip_rps INTEGER NOT NULL DEFAULT 20,
    created_at        TIMESTAMP NOT NULL,
    created_by        TEXT,
    PRIMARY KEY (backend_id, bucket)
);
"""

# rules is a JSON array of CORS rules.
_S3_BUCKET_CORS = """
CREATE TABLE s3_bucket_cors (
    backend_id TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    rules      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (backend_id, bucket)
);
"""

CORE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", _INITIAL),
    Migration(2, "shares", _SHARES),
    Migration(3, "bucket_quotas", _BUCKET_QUOTAS),
    Migration(4, "audit_events", _AUDIT_EVENTS),
    Migration(5, "bucket_pins", _BUCKET_PINS),
    Migration(6, "users_oidc_subject", _USERS_OIDC_SUBJECT),
    Migration(7, "backends", _BACKENDS),
    Migration(8, "bucket_size_tracking", _BUCKET_SIZE_TRACKING),
    Migration(9, "s3_credentials", _S3_CREDENTIALS),
    Migration(10, "s3_anonymous_bindings", _S3_ANONYMOUS_BINDINGS),
    Migration(11, "s3_bucket_cors", _S3_BUCKET_CORS),
)

CORE_SET = MigrationSet(CORE_PLUGIN, CORE_MIGRATIONS)
"""What the sqlite plugin contributes through ``stowage_migrations``."""
