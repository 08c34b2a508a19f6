-- Consent to be added to rooms (the seed's KeyPackage access rules): a requester asks a
-- target user (for one room, or any room when room_id is ''), the target grants or refuses,
-- and may revoke a grant at any time.
CREATE TABLE consents (
    target_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requester_id TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    granted      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (target_id, requester_id, room_id)
);
