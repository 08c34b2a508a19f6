-- A room's state is its last snapshot plus the handshakes logged since it: a commit's
-- transaction writes its log entry (with the committer's GroupInfo) and no snapshot; the
-- snapshot is refreshed after the hub has merged the commit. A room read back replays the
-- handshakes between snapshot_seq and handshake_seq, and a Welcome waits for the ratchet
-- tree of its commit's epoch (inbox.seq names the commit).
ALTER TABLE room_states ADD COLUMN snapshot_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE room_states ADD COLUMN handshake_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE room_log ADD COLUMN group_info BYTEA;
ALTER TABLE inbox ADD COLUMN seq BIGINT;
CREATE INDEX inbox_by_room_seq ON inbox (room_id, seq);
-- A room's snapshot from before this migration includes its whole log.
UPDATE room_states SET
    snapshot_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_states.room_id),
    handshake_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_states.room_id);
