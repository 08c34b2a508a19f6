-- Attachments (issue 14): what a member uploads for a room, encrypted by the sender (the
-- provider holds ciphertext only), served to the room's members; gone with the room.
CREATE TABLE blobs (
    room_id    TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    uploader   TEXT NOT NULL,
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, id)
);
