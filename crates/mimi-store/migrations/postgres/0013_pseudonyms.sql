-- Pseudonyms (the seed's semi-anonymous rooms, docs/decisions/0013): a user account the
-- provider made for one of its users in one room, named ~ and random characters. Only the
-- provider knows whose it is: nothing serves this table but to its owner.
CREATE TABLE pseudonyms (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    owner      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (owner, room_id)
);
