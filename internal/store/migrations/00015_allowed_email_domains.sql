-- +goose Up
-- The email domains an organization's accounts may have ('@example.com', lower case; none:
-- any). Checked when a row's account is created, on resend and on a move into the
-- organization (store/domains.go).
ALTER TABLE organizations ADD COLUMN allowed_email_domains text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(allowed_email_domains) <= 100
        AND array_to_string(allowed_email_domains, ' ') ~ '^(@[^@[:space:]]+( @[^@[:space:]]+)*)?$'
        AND lower(array_to_string(allowed_email_domains, ' ')) = array_to_string(allowed_email_domains, ' '));

-- +goose Down
ALTER TABLE organizations DROP COLUMN allowed_email_domains;
