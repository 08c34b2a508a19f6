-- A removed client keeps its room_members row until it has acknowledged the commit that
-- removed it (until_seq); a Welcome carries the ratchet tree of the epoch it joins; a deleted
-- device's removal from a room stays pending until a commit removes it (proposed_epoch:
-- the epoch of the hub's last Remove proposal for it).
ALTER TABLE room_members ADD COLUMN until_seq BIGINT;
ALTER TABLE inbox ADD COLUMN ratchet_tree BYTEA;
CREATE TABLE pending_removals (
    room_id        TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    proposed_epoch BIGINT,
    PRIMARY KEY (room_id, client_id)
);
CREATE INDEX pending_removals_by_client ON pending_removals (client_id);
CREATE INDEX room_members_leaving ON room_members (room_id, client_id) WHERE until_seq IS NOT NULL;
