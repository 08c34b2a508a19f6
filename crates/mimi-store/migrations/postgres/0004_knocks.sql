-- Knocks (the seed's "ask to be let in"): a user asks a room's moderators to add it. A
-- pending knock is the knocker's consent to be added to that room by those the room lets
-- accept knocks; the commit that adds the knocker ends it.
CREATE TABLE knocks (
    room_id    TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- KeyPackages handed out without consent under the provider's allowance (the seed's "small
-- number of outstanding KeyPackages"): each counts against its requester until a commit of
-- the requester adds the target, or for a day.
CREATE TABLE allowance_claims (
    id           BIGSERIAL PRIMARY KEY,
    requester_id TEXT NOT NULL,
    target_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX allowance_claims_pair ON allowance_claims (requester_id, target_id);
