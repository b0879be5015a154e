-- +goose Up
-- The SMS text of an organization's invitation for accounts identified by a device number,
-- beside the email's ('' : the language's default text, mailer.DefaultInvitationSMS).
ALTER TABLE invitation_templates ADD COLUMN sms_body text NOT NULL DEFAULT ''
    CHECK (octet_length(sms_body) <= 2000);

-- +goose Down
ALTER TABLE invitation_templates DROP COLUMN sms_body;
