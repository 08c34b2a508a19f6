-- Each user's TR39 skeleton (mimi_policy::name::skeleton): names that look alike share it,
-- so a new user whose name looks like an existing one is refused. Accounts made before
-- this migration have none (NULL, which the unique index does not compare).
ALTER TABLE users ADD COLUMN skeleton TEXT;
CREATE UNIQUE INDEX users_by_skeleton ON users (skeleton);
