-- Abuse reports members send to a room's hub (protocol-06 §5.9), among them the one a
-- client sends when it cannot process a commit the hub accepted and rejoins. Kept for the
-- operator (`GET /v1/reports`), after the room too: no reference to rooms or users.
CREATE TABLE abuse_reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id        TEXT NOT NULL,
    reporter_id    TEXT NOT NULL,
    alleged_abuser TEXT NOT NULL,
    reason         TEXT NOT NULL,
    note           TEXT NOT NULL,
    seq            INTEGER,
    created_at     INTEGER NOT NULL
);
