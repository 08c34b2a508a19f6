-- The key the provider's processes sign their wake-up notifications with (decision 0016;
-- PostgreSQL only: one SQLite file is served by one process, which notifies no other).
CREATE TABLE wake_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
