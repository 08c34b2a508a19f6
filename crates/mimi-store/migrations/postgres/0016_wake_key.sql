-- The key the provider's processes sign their wake-up notifications with (decision 0016):
-- a notification can be sent by any role that connects to the database, the table is
-- readable only by the provider's own role.
CREATE TABLE wake_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BYTEA NOT NULL
);
