-- A write committed for nothing: a consent request to an unknown user writes and deletes a
-- row here, so that it takes as long as a first request to a known user, which commits the
-- request (the answer's time does not tell who exists). Always empty.
CREATE TABLE write_decoys (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL
);
