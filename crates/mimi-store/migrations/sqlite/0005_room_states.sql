-- A room's hub state and document move out of its rooms row: every message batch bumps
-- rooms.last_seq, and a row carrying the snapshot (kilobytes, more with every member) was
-- rewritten whole each time, overflow pages and all.
CREATE TABLE room_states (
    room_id  TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    snapshot BLOB NOT NULL,
    document TEXT NOT NULL
);
INSERT INTO room_states (room_id, snapshot, document) SELECT id, snapshot, document FROM rooms;
ALTER TABLE rooms DROP COLUMN snapshot;
ALTER TABLE rooms DROP COLUMN document;
