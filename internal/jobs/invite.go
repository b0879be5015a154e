package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
)

// invitationEmail is what an invitation email says, from a batch row or a resend.
type invitationEmail struct {
	InvitationID     string
	To               string
	Firstname        string
	Lastname         string
	Language         string
	OrganizationID   string
	OrganizationName string
	Number           string
}

// renderInvitation renders an invitation email with the organization's template for the
// account's language, the default one when it has none.
func (h *Handler) renderInvitation(ctx context.Context, e invitationEmail, tok string, expires time.Time) (mailer.Message, error) {
	tmpl, err := h.templates.get(ctx, h.store, e.OrganizationID, e.Language, h.log)
	if err != nil {
		return mailer.Message{}, err
	}
	data := h.invitationData(e, tok, expires)
	subject, text, html, err := mailer.RenderInvitation(tmpl, data)
	var te *mailer.TemplateError
	switch {
	case errors.As(err, &te):
		return mailer.Message{}, &unsentError{reason: metrics.UnsentRenderFailed,
			detail: "the invitation template did not render: " + te.Error()}
	case err != nil:
		return mailer.Message{}, err
	}
	// Validation keeps the link out of every branch of a template; this check stands behind
	// it, so that nobody gets an invitation they cannot activate.
	if err := mailer.CheckLink(text, html, data.Link); errors.As(err, &te) {
		return mailer.Message{}, &unsentError{reason: metrics.UnsentNoLink,
			detail: "the invitation template rendered without the activation link in its " + te.Field +
				" body; correct the template, then resend the invitation"}
	}
	return mailer.Message{
		To:        e.To,
		ToName:    strings.TrimSpace(e.Firstname + " " + e.Lastname),
		Subject:   subject,
		Text:      text,
		HTML:      html,
		MessageID: h.messageID("invitation-" + e.InvitationID),
	}, nil
}

// messageID returns the Message-ID "<left@domain>" with the domain of MAIL_FROM. left names
// the email for good (an invitation's id), so that every retry of one email carries the same
// Message-ID and mail systems can fold copies.
func (h *Handler) messageID(left string) string {
	return "<" + left + "@" + h.msgIDDomain + ">"
}

// unsentError says why an invitation is not sent at all: its template did not render for
// this person, or rendered without the activation link. No retry changes that, so the
// invitation fails at once with detail as its reason.
type unsentError struct {
	reason string // metrics.UnsentNoLink or metrics.UnsentRenderFailed
	detail string
}

func (e *unsentError) Error() string { return e.detail }

// templateTTL is how long a worker keeps an organization's invitation template. The cache is
// per process, so an edited template reaches every worker within this time: that only delays
// an edit a little, it never sends a wrong or broken email, and it saves a query per email.
const templateTTL = 5 * time.Second

// templateCache keeps organizations' invitation templates for templateTTL.
type templateCache struct {
	mu sync.Mutex
	m  map[string]cachedTemplate
}

type cachedTemplate struct {
	t  mailer.Template
	at time.Time
}

func (c *templateCache) get(ctx context.Context, st *store.Store, orgID, lang string, log zerolog.Logger) (mailer.Template, error) {
	lang = mailer.NormalizeLanguage(lang)
	key := orgID + "/" + lang
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && time.Since(e.at) < templateTTL {
		return e.t, nil
	}
	t := mailer.DefaultInvitationTemplate(lang)
	custom, err := st.InvitationTemplate(ctx, orgID, lang)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return mailer.Template{}, fmt.Errorf("invitation template: %w", err)
	default:
		ct := mailer.Template{Subject: custom.Subject, Text: custom.Text, HTML: custom.HTML, SMS: custom.SMS}
		if ct.SMS == "" {
			ct.SMS = t.SMS
		}
		// The API validated it on the way in; should a stored template ever be refused
		// (say, by a stricter mailer), invitations go out with the default rather than
		// not at all.
		if err := mailer.ValidateInvitationTemplate(ct); err != nil {
			log.Warn().Err(err).Str("organization_id", orgID).Str("language", lang).
				Msg("stored invitation template refused by validation; sending the default")
		} else {
			t = ct
		}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= 1000 {
		c.m = make(map[string]cachedTemplate)
	}
	c.m[key] = cachedTemplate{t: t, at: time.Now()}
	c.mu.Unlock()
	return t, nil
}

// handleInvitation sends one invitation outside a batch (Resend Invitation). It is idempotent:
// an invitation that is no longer pending was sent, failed, replaced or used, and is left
// alone; so one resend request sends one email per account.
func (h *Handler) handleInvitation(ctx context.Context, t *asynq.Task) error {
	p, err := decode[invitationPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("invitation_id", p.InvitationID).Logger()
	// The same link on every attempt: the token derives from the invitation's id.
	tok, hash := h.cfg.Tokens.Token(p.InvitationID)
	expires := h.now().Add(h.cfg.InvitationTTL)
	inv, err := h.store.PrepareInvitationSend(ctx, p.InvitationID, hash, expires)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.metrics.DBErrors.Inc()
		return err
	}
	ch := channelOf(inv.IdentifierKind)
	if !h.canSend(ch) {
		_, err := h.store.RecordInvitationSend(ctx, inv.InvitationID, false, smsNotConfigured)
		return err
	}
	err = h.deliver(ctx, ch, invitationEmail{InvitationID: inv.InvitationID, To: inv.Identifier,
		Firstname: inv.Firstname, Lastname: inv.Lastname, Language: inv.Language,
		OrganizationID: inv.OrganizationID, OrganizationName: inv.OrganizationName, Number: inv.Number}, tok, expires,
		taskDeadline(ctx).Add(-sendMargin))
	var unsent *unsentError
	sent, reason := err == nil, ""
	switch {
	case isBusy(err):
		return err
	case err == nil:
		h.countSent(ch)
	case errors.As(err, &unsent):
		h.countUnsent(ch, unsent.reason)
		log.Error().Err(err).Msg("invitation not sent")
		reason = unsent.detail
	case permanentSend(err):
		h.countFailed(ch, err, false)
		log.Info().Err(err).Str("channel", string(ch)).Msg("invitation refused by the provider")
		reason = err.Error()
	case lastAttempt(ctx):
		h.countFailed(ch, err, true)
		log.Error().Err(err).Msg("invitation failed on its last attempt")
		reason = fmt.Sprintf("gave up after %d attempts: %v", rowMaxRetry+1, err)
	default:
		h.countFailed(ch, err, false)
		log.Warn().Err(err).Msg("invitation failed transiently; will retry")
		return fmt.Errorf("send invitation: %w", err)
	}
	// If this record fails the invitation went out and the retry sends it again, with the same
	// link: rare, and an email's stable Message-ID lets mail systems fold the copies.
	if _, err := h.store.RecordInvitationSend(ctx, inv.InvitationID, sent, reason); err != nil {
		return err
	}
	log.Debug().Str("account_id", inv.AccountID).Bool("sent", sent).Msg("invitation handled")
	return nil
}

// EnqueueInvitations enqueues the email of each pending invitation of ids. Tasks that already
// exist are left alone.
func (c *Client) EnqueueInvitations(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		if err := c.enqueue(ctx, NewInvitationTask(c.queues, id)); err != nil {
			errs = append(errs, fmt.Errorf("enqueue invitation %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ReconcileInvitations enqueues again the emails of invitations that have waited longer than
// the reconciler's staleness for a task that is gone (Redis lost it, or its retries ran out
// while nothing could be recorded). Batch rows' invitations are left to the row tasks. Call it
// from Once.
func (r *Reconciler) ReconcileInvitations(ctx context.Context) error {
	ids, err := r.store.StalePendingInvitations(ctx, r.staleAfter, 500)
	if err != nil {
		return err
	}
	var missing []string
	for _, id := range ids {
		info, err := r.inspector.GetTaskInfo(r.queues.Invitations(), InvitationTaskID(id))
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
			missing = append(missing, id)
		case err != nil:
			return fmt.Errorf("inspect task: %w", err)
		case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
			if err := r.inspector.DeleteTask(r.queues.Invitations(), info.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return fmt.Errorf("delete archived task: %w", err)
			}
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := r.feeder.EnqueueInvitations(ctx, missing); err != nil {
		return err
	}
	r.metrics.Reenqueued.Add(float64(len(missing)))
	r.log.Warn().Int("invitations", len(missing)).Msg("enqueued lost invitation emails again")
	return nil
}
