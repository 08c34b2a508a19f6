-- mimi provider state (SQLite). Times are Unix seconds; sequence numbers start at 1.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE provider_keys (
    domain      TEXT PRIMARY KEY,
    signing_key BLOB NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE devices (
    client_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE key_packages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   TEXT NOT NULL REFERENCES devices(client_id) ON DELETE CASCADE,
    body        BLOB NOT NULL,
    last_resort INTEGER NOT NULL,
    claimed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX key_packages_by_client ON key_packages (client_id, claimed, last_resort, id);

CREATE TABLE rooms (
    id           TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    epoch        INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL,
    snapshot     BLOB NOT NULL,
    document     TEXT NOT NULL,
    discoverable INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE room_log (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    kind    INTEGER NOT NULL,
    epoch   INTEGER NOT NULL,
    sender  TEXT NOT NULL,
    body    BLOB NOT NULL,
    PRIMARY KEY (room_id, seq)
);

CREATE TABLE room_members (
    room_id   TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    acked_seq INTEGER NOT NULL,
    PRIMARY KEY (room_id, client_id)
);
CREATE INDEX room_members_by_client ON room_members (client_id);

CREATE TABLE inbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    kind      INTEGER NOT NULL,
    room_id   TEXT NOT NULL,
    body      BLOB NOT NULL
);
CREATE INDEX inbox_by_client ON inbox (client_id, id);
