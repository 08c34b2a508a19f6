-- Who came in by each join link: a link of N uses lets N different users have the room's
-- GroupInfo through it (docs/decisions/0010). Kept with the room's name, not a reference:
-- a link outlives nothing, and a destroyed room's rows do no harm.
CREATE TABLE link_uses (
    room_id    TEXT NOT NULL,
    code       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, code, user_id)
);
