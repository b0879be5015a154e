-- +goose Up
-- The whole domain. Constraints state what must never happen; the Go code relies on them
-- rather than on locks of its own.

CREATE TABLE organizations (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    social_messaging        boolean NOT NULL DEFAULT false,
    smtp_data_offload       boolean NOT NULL DEFAULT false,
    batch_report_recipients text[] NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

CREATE TABLE permission_groups (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX permission_groups_name_key ON permission_groups (organization_id, lower(name));

CREATE TABLE admins (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email             text NOT NULL CHECK (email LIKE '%_@_%'),
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash        bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    privileges        text[] NOT NULL CHECK (privileges <@ ARRAY['accounts', 'numbers', 'organizations', 'administrators', 'reports']),
    -- true: every organization, present and future; false: those in admin_organizations.
    all_organizations boolean NOT NULL,
    created_by        uuid REFERENCES admins (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));

CREATE TABLE admin_organizations (
    admin_id        uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    PRIMARY KEY (admin_id, organization_id)
);

CREATE TABLE batches (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid NOT NULL REFERENCES organizations (id),
    permission_group_id uuid NOT NULL REFERENCES permission_groups (id),
    admin_id            uuid REFERENCES admins (id) ON DELETE SET NULL,
    uploaded_by         text NOT NULL,
    invite              boolean NOT NULL,
    filename            text NOT NULL DEFAULT '',
    file_sha256         bytea,
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'processing', 'completed', 'canceled')),
    total               integer NOT NULL CHECK (total BETWEEN 1 AND 1000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    cancel_requested_at timestamptz,
    finished_at         timestamptz,
    enqueued_at         timestamptz,
    notified_at         timestamptz,
    CHECK ((status IN ('completed', 'canceled')) = (finished_at IS NOT NULL))
);
CREATE INDEX batches_organization_idx ON batches (organization_id, created_at DESC);
CREATE INDEX batches_unfinished_idx ON batches (created_at) WHERE finished_at IS NULL;

CREATE TABLE accounts (
    id                                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id                    uuid NOT NULL REFERENCES organizations (id),
    permission_group_id                uuid REFERENCES permission_groups (id) ON DELETE SET NULL,
    -- An email address (lower case) or an E.164 phone number: one account per identifier.
    identifier                         text NOT NULL UNIQUE CHECK (identifier <> ''),
    identifier_kind                    text NOT NULL CHECK (identifier_kind IN ('email', 'phone')),
    firstname                          text NOT NULL DEFAULT '',
    lastname                           text NOT NULL DEFAULT '',
    social_messaging                   boolean NOT NULL DEFAULT false,
    monitor_calls                      text NOT NULL CHECK (monitor_calls IN ('auto', 'off')),
    monitor_sms                        text NOT NULL CHECK (monitor_sms IN ('on', 'off')),
    forwarding_number                  text NOT NULL DEFAULT '',
    restrict_incoming_social_messaging boolean NOT NULL DEFAULT false,
    language                           text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'it', 'de', 'fr', 'es')),
    status                             text NOT NULL DEFAULT 'not_invited'
                                       CHECK (status IN ('not_invited', 'invited', 'active')),
    batch_id                           uuid REFERENCES batches (id) ON DELETE SET NULL,
    batch_line                         integer,
    created_at                         timestamptz NOT NULL DEFAULT now(),
    activated_at                       timestamptz,
    UNIQUE (id, organization_id),
    CHECK ((status = 'active') = (activated_at IS NOT NULL))
);
CREATE INDEX accounts_organization_idx ON accounts (organization_id, created_at);

CREATE TABLE numbers (
    -- A number exists once, so it is owned by exactly one organization.
    e164            text PRIMARY KEY CHECK (e164 ~ '^\+[1-9][0-9]{3,16}$'),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    state           text NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'reserved', 'assigned')),
    -- Held by at most one account, and an account holds at most one number.
    account_id      uuid UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'available') = (account_id IS NULL)),
    -- The holding account is in the organization that owns the number.
    FOREIGN KEY (account_id, organization_id) REFERENCES accounts (id, organization_id)
        DEFERRABLE INITIALLY IMMEDIATE
);
-- Picking an Available number must not walk past every taken one.
CREATE INDEX numbers_available_idx ON numbers (organization_id, e164) WHERE state = 'available';
CREATE INDEX numbers_organization_state_idx ON numbers (organization_id, state);

CREATE TABLE invitations (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- SHA-256 of the activation token; the token itself only ever travels in the email.
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sent', 'failed', 'revoked', 'used')),
    expires_at     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    failure_reason text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    used_at        timestamptz,
    CHECK (state NOT IN ('sent', 'used') OR sent_at IS NOT NULL)
);
-- At most one live invitation per account.
CREATE UNIQUE INDEX invitations_live_key ON invitations (account_id) WHERE state IN ('pending', 'sent');

CREATE TABLE invitation_templates (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    language        text NOT NULL CHECK (language IN ('en', 'it', 'de', 'fr', 'es')),
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, language)
);

CREATE TABLE batch_rows (
    batch_id                           uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    -- Line number in the uploaded file: one row per line.
    line                               integer NOT NULL CHECK (line >= 2),
    raw_identifier                     text NOT NULL DEFAULT '',
    identifier                         text NOT NULL DEFAULT '',
    identifier_kind                    text NOT NULL DEFAULT '',
    firstname                          text NOT NULL DEFAULT '',
    lastname                           text NOT NULL DEFAULT '',
    social_messaging                   boolean NOT NULL DEFAULT false,
    multiline_number                   text NOT NULL DEFAULT '',
    monitor_calls                      text NOT NULL DEFAULT '',
    monitor_sms                        text NOT NULL DEFAULT '',
    forwarding_number                  text NOT NULL DEFAULT '',
    restrict_incoming_social_messaging boolean NOT NULL DEFAULT false,
    language                           text NOT NULL DEFAULT 'en',
    status                             text NOT NULL DEFAULT 'pending'
                                       CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    reason                             text NOT NULL DEFAULT '',
    account_id                         uuid REFERENCES accounts (id) ON DELETE SET NULL,
    invitation_id                      uuid REFERENCES invitations (id) ON DELETE SET NULL,
    number                             text NOT NULL DEFAULT '',
    invitation                         text NOT NULL DEFAULT 'not_sent'
                                       CHECK (invitation IN ('sent', 'not_sent', 'failed')),
    settled_at                         timestamptz,
    PRIMARY KEY (batch_id, line),
    CHECK ((status = 'pending') = (settled_at IS NULL))
);
CREATE INDEX batch_rows_pending_idx ON batch_rows (batch_id, line) WHERE status = 'pending';

CREATE TABLE batch_reports (
    batch_id   uuid PRIMARY KEY REFERENCES batches (id) ON DELETE CASCADE,
    csv        bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE batch_reports;
DROP TABLE batch_rows;
DROP TABLE invitation_templates;
DROP TABLE invitations;
DROP TABLE numbers;
DROP TABLE accounts;
DROP TABLE batches;
DROP TABLE admin_organizations;
DROP TABLE admins;
DROP TABLE permission_groups;
DROP TABLE organizations;
