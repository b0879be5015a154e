-- +goose Up
-- Sessions of the queue UI's sign-in form (POST /admin/login). The browser's cookie holds a
-- random 256-bit id; only its SHA-256 is stored, so a copy of this table signs nobody in.
-- A session ends when it expires, when its admin signs out, or with its admin (a new token
-- for the admin deletes its sessions too, in UpsertAdminToken).
CREATE TABLE admin_sessions (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    admin_id   uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
-- Behind the foreign key: deleting an admin finds its sessions without a scan.
CREATE INDEX admin_sessions_admin_idx ON admin_sessions (admin_id);

-- +goose Down
DROP TABLE admin_sessions;
