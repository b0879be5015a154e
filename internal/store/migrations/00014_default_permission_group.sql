-- +goose Up
-- An organization's default permission group: the group a moved account takes when the move
-- names none. An organization's first group is its default until its settings name another
-- (store.CreatePermissionGroup); organizations that have groups already get their oldest.
-- The composite key keeps the default a group of the same organization.
ALTER TABLE permission_groups ADD CONSTRAINT permission_groups_organization_id_id_key UNIQUE (organization_id, id);
ALTER TABLE organizations ADD COLUMN default_permission_group_id uuid,
    ADD CONSTRAINT organizations_default_permission_group_fkey
        FOREIGN KEY (id, default_permission_group_id) REFERENCES permission_groups (organization_id, id)
        ON DELETE SET NULL (default_permission_group_id);
UPDATE organizations o SET default_permission_group_id = (
    SELECT g.id FROM permission_groups g WHERE g.organization_id = o.id ORDER BY g.created_at, g.id LIMIT 1);

-- +goose Down
ALTER TABLE organizations DROP COLUMN default_permission_group_id;
ALTER TABLE permission_groups DROP CONSTRAINT permission_groups_organization_id_id_key;
