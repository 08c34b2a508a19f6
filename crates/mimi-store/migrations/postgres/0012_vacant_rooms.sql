-- Persistent rooms whose last member left (docs/decisions/0012): the room keeps its name,
-- row and document, and here the policy entries (app_data_dictionary, TLS-encoded) its next
-- group starts from. Its log, members and inbox items are gone; the room is loaded by
-- nobody until the first one back starts its group again, which replaces the row.
CREATE TABLE vacant_rooms (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    policy  BYTEA NOT NULL,
    since   BIGINT NOT NULL
);
