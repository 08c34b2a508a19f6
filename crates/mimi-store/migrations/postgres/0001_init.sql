-- mimi provider state (PostgreSQL). Times are Unix seconds; sequence numbers start at 1.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE provider_keys (
    domain      TEXT PRIMARY KEY,
    signing_key BYTEA NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE devices (
    client_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE key_packages (
    id          BIGSERIAL PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES devices(client_id) ON DELETE CASCADE,
    body        BYTEA NOT NULL,
    last_resort BIGINT NOT NULL,
    claimed     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX key_packages_by_client ON key_packages (client_id, claimed, last_resort, id);

CREATE TABLE rooms (
    id           TEXT PRIMARY KEY,
    version      BIGINT NOT NULL,
    epoch        BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    snapshot     BYTEA NOT NULL,
    document     TEXT NOT NULL,
    discoverable BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE room_log (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    kind    BIGINT NOT NULL,
    epoch   BIGINT NOT NULL,
    sender  TEXT NOT NULL,
    body    BYTEA NOT NULL,
    PRIMARY KEY (room_id, seq)
);

CREATE TABLE room_members (
    room_id   TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    acked_seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, client_id)
);
CREATE INDEX room_members_by_client ON room_members (client_id);

CREATE TABLE inbox (
    id        BIGSERIAL PRIMARY KEY,
    client_id TEXT NOT NULL,
    kind      BIGINT NOT NULL,
    room_id   TEXT NOT NULL,
    body      BYTEA NOT NULL
);
CREATE INDEX inbox_by_client ON inbox (client_id, id);
