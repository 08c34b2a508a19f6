-- Federation (protocol-06, docs/decisions/0015).

-- Consent that users of other providers gave this provider's users (updateConsent): the
-- target is a user of the peer that told it, so it has no row in `users`; the requester is
-- one of ours. A revoke deletes the row.
CREATE TABLE peer_consents (
    target_id    TEXT NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room_id      TEXT NOT NULL,
    PRIMARY KEY (target_id, requester_id, room_id)
);

-- What the hubs of other providers' rooms fanned out to this provider's devices (notify),
-- until each device acknowledges it.
CREATE TABLE relayed_entries (
    client_id TEXT NOT NULL,
    room_id   TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    kind      BIGINT NOT NULL,
    epoch     BIGINT NOT NULL,
    sender    TEXT NOT NULL,
    body      BYTEA NOT NULL,
    PRIMARY KEY (client_id, room_id, seq)
);

-- Each device's place in each such room: what it acknowledged, and the last Welcome taken
-- for it, so that a hub sending again (duplicates are allowed) delivers nothing twice.
CREATE TABLE relayed_positions (
    client_id    TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    acked_seq    BIGINT NOT NULL,
    welcomed_seq BIGINT NOT NULL,
    PRIMARY KEY (client_id, room_id)
);

-- KeyPackages other providers handed out for their devices (keyMaterial), by reference: a
-- commit may add another provider's device only with one of these, so that nobody adds a
-- made-up device in another provider's user's name.
CREATE TABLE peer_key_packages (
    kp_ref     BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL,
    fetched_at BIGINT NOT NULL
);

-- Rooms of other providers this provider's devices joined (by a relayed commit or a
-- Welcome): a new device of the user joins them too, and a deleted device's removal is
-- asked of their hubs.
CREATE TABLE foreign_rooms (
    client_id TEXT NOT NULL,
    room_id   TEXT NOT NULL,
    PRIMARY KEY (client_id, room_id)
);

-- Knocks of users of other providers on this provider's rooms (their provider relays
-- them), and knocks of this provider's users on other providers' rooms (so that the room's
-- hub may claim the knocker's KeyPackages to let it in). Answered, withdrawn or declined
-- like the knocks of the provider's own users.
CREATE TABLE peer_knocks (
    room_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
