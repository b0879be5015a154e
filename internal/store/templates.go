package store

import (
	"context"
	"fmt"
	"time"
)

// InvitationTemplate is an organization's own invitation email for one language. The store
// keeps it as text; the mailer parses and validates it.
type InvitationTemplate struct {
	OrganizationID string    `db:"organization_id"`
	Language       string    `db:"language"`
	Subject        string    `db:"subject"`
	Text           string    `db:"text_body"`
	HTML           string    `db:"html_body"`
	SMS            string    `db:"sms_body"` // "": the language's default SMS text
	UpdatedAt      time.Time `db:"updated_at"`
}

// InvitationTemplate returns organization orgID's template for language lang (a code such as
// "it"); ErrNotFound means the organization uses the default one.
func (s *Store) InvitationTemplate(ctx context.Context, orgID, lang string) (InvitationTemplate, error) {
	const q = `SELECT organization_id, language, subject, text_body, html_body, sms_body, updated_at
		FROM invitation_templates WHERE organization_id = $1 AND language = $2`
	var t InvitationTemplate
	if err := s.db.GetContext(ctx, &t, q, orgID, lang); err != nil {
		return InvitationTemplate{}, fmt.Errorf("get invitation template: %w", mapErr(err))
	}
	return t, nil
}

// PutInvitationTemplate stores t as its organization's template for its language, replacing
// any earlier one. ErrNotFound means the organization does not exist.
func (s *Store) PutInvitationTemplate(ctx context.Context, t InvitationTemplate) (InvitationTemplate, error) {
	const q = `INSERT INTO invitation_templates (organization_id, language, subject, text_body, html_body, sms_body)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (organization_id, language) DO UPDATE SET subject = EXCLUDED.subject,
			text_body = EXCLUDED.text_body, html_body = EXCLUDED.html_body, sms_body = EXCLUDED.sms_body,
			updated_at = now()
		RETURNING organization_id, language, subject, text_body, html_body, sms_body, updated_at`
	var out InvitationTemplate
	if err := s.db.GetContext(ctx, &out, q, t.OrganizationID, t.Language, t.Subject, t.Text, t.HTML, t.SMS); err != nil {
		return InvitationTemplate{}, fmt.Errorf("put invitation template: %w", mapErr(err))
	}
	return out, nil
}

// DeleteInvitationTemplate drops organization orgID's template for lang, so that the default
// applies again; it reports whether there was one.
func (s *Store) DeleteInvitationTemplate(ctx context.Context, orgID, lang string) (bool, error) {
	const q = `DELETE FROM invitation_templates WHERE organization_id = $1 AND language = $2`
	res, err := s.db.ExecContext(ctx, q, orgID, lang)
	if err != nil {
		return false, fmt.Errorf("delete invitation template: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
