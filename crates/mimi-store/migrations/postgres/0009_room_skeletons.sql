-- Each room's TR39 skeleton (mimi_policy::name::skeleton), as users have theirs (0007): a
-- new room whose name looks like an existing room's is refused. Rooms made before this
-- migration, and rooms without a name of their own (the im: forms), have none (NULL, which
-- the unique index does not compare).
ALTER TABLE rooms ADD COLUMN skeleton TEXT;
CREATE UNIQUE INDEX rooms_by_skeleton ON rooms (skeleton);
