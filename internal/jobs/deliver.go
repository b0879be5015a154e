package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sms"
)

// SMSSender delivers one text message; *sms.Client implements it.
type SMSSender interface {
	SendSMS(ctx context.Context, msg sms.Message) error
}

// channel is how an invitation reaches its person: by email to an address, by SMS to a
// device number. Everything else about sending (after the claim's commit, recorded as soon
// as the provider accepts, the same link on every attempt, the classification of failures)
// is the same for both.
type channel string

const (
	byEmail channel = "email"
	bySMS   channel = "sms"
)

func channelOf(identifierKind string) channel {
	if identifierKind == "email" {
		return byEmail
	}
	return bySMS
}

// smsNotConfigured is why a device's invitation is not sent when SMS_URL is unset.
const smsNotConfigured = "invitations to a device go by SMS, and SMS is not configured on this service (SMS_URL); " +
	"resend the invitation once it is, or invite it from the device"

// canSend reports whether this worker can send invitations by ch.
func (h *Handler) canSend(ch channel) bool { return ch == byEmail || h.cfg.SMS != nil }

// deliver renders an invitation for its channel and sends it; it waits for the channel's
// send rate until at most until (see Gate), then fails with a *busyError. It fails with
// *unsentError when the invitation cannot be sent at all, with the transport's error
// otherwise (see permanentSend and temporarySend).
//
// Twilio has no idempotency key, and SMTP none either: a send whose answer was lost (a
// dropped connection, a worker killed mid-request) is sent again by the retry, with the
// same link, so the person may get two copies and both work.
func (h *Handler) deliver(ctx context.Context, ch channel, e invitationEmail, tok string, expires, until time.Time) error {
	if ch == bySMS {
		text, err := h.renderSMS(ctx, e, tok, expires)
		if err != nil {
			return err
		}
		if err := h.cfg.SMSRate.Wait(ctx, e.OrganizationID, until); err != nil {
			return err
		}
		start := h.now()
		err = h.cfg.SMS.SendSMS(ctx, sms.Message{To: e.To, Body: text})
		h.metrics.SMSDuration.Observe(h.now().Sub(start).Seconds())
		if d, ok := sms.RetryAfter(err); ok {
			// The provider says this account is over its rate: nothing goes before then.
			h.cfg.SMSRate.Hold(d)
		}
		return err
	}
	msg, err := h.renderInvitation(ctx, e, tok, expires)
	var unsent *unsentError
	switch {
	case errors.As(err, &unsent):
		return err
	case err != nil:
		return fmt.Errorf("render invitation: %w", err)
	}
	return h.send(ctx, e.OrganizationID, until, msg)
}

// sendMargin is how much of an invitation's lease a send keeps for itself after waiting for
// the send rate: more than an SMTP transaction takes.
const sendMargin = 10 * time.Second

// send sends msg once a connection is free for it (by turns between organizations) and
// then the send rate lets it (see Gate), unless that is later than until, and counts how
// long the mail server took. The connection comes first: a send that had its slot of the
// rate and then waited for a connection would go out in a burst with the others that
// waited. A reply that says the sender is over the server's own rate holds this process's
// sends for a while.
func (h *Handler) send(ctx context.Context, org string, until time.Time, msg mailer.Message) error {
	if err := h.sending.acquire(ctx, org); err != nil {
		return err
	}
	defer h.sending.release()
	if err := h.cfg.MailRate.Wait(ctx, org, until); err != nil {
		return err
	}
	start := h.now()
	err := h.mail.Send(ctx, msg)
	h.metrics.EmailDuration.Observe(h.now().Sub(start).Seconds())
	if mailer.IsRateLimited(err) {
		h.metrics.EmailRateRefusals.Inc()
		h.cfg.MailRate.Hold(rateHold)
	}
	return err
}

// rateHold is how long a worker stops sending after the mail server said it is over its rate.
const rateHold = 5 * time.Second

// renderSMS renders the SMS of an invitation with the organization's text for the account's
// language, the default one when it has none.
func (h *Handler) renderSMS(ctx context.Context, e invitationEmail, tok string, expires time.Time) (string, error) {
	tmpl, err := h.templates.get(ctx, h.store, e.OrganizationID, e.Language, h.log)
	if err != nil {
		return "", fmt.Errorf("render invitation: %w", err)
	}
	data := h.invitationData(e, tok, expires)
	text, err := mailer.RenderInvitationSMS(tmpl.SMS, data)
	var te *mailer.TemplateError
	switch {
	case errors.As(err, &te):
		return "", &unsentError{reason: metrics.UnsentRenderFailed, detail: "the invitation's SMS text did not render: " + te.Error()}
	case err != nil:
		return "", fmt.Errorf("render invitation: %w", err)
	}
	if mailer.CheckSMSLink(text, data.Link) != nil {
		return "", &unsentError{reason: metrics.UnsentNoLink,
			detail: "the invitation's SMS text rendered without the activation link; correct the template, then resend the invitation"}
	}
	return text, nil
}

// invitationData is what an invitation says, for either channel.
func (h *Handler) invitationData(e invitationEmail, tok string, expires time.Time) mailer.InvitationData {
	return mailer.InvitationData{
		FirstName:    e.Firstname,
		LastName:     e.Lastname,
		Organization: e.OrganizationName,
		Number:       e.Number,
		Link:         strings.TrimRight(h.cfg.PublicURL, "/") + "/activate/" + tok,
		ExpiresAt:    expires,
		Language:     e.Language,
	}
}

// permanentSend reports whether err says that sending the invitation again cannot succeed:
// an SMTP 5xx, an invalid or unsubscribed number, another 4xx of the SMS provider.
func permanentSend(err error) bool { return mailer.IsPermanent(err) || sms.IsPermanent(err) }

// temporarySend reports whether err is a send that failed for now: an SMTP 4xx, a 429 or
// 5xx of the SMS provider, a connection that failed.
func temporarySend(err error) bool { return mailer.IsTemporary(err) || sms.IsTemporary(err) }

// ProviderDelay returns how long a task that failed with err waits before trying again when
// the provider said how long (an SMS provider's Retry-After): that, and a second more, as
// Asynq keeps the time of a retry in whole seconds, rounded down.
func ProviderDelay(err error) (time.Duration, bool) {
	d, ok := sms.RetryAfter(err)
	if !ok {
		return 0, false
	}
	return d + time.Second, true
}

// countSent counts an invitation the provider accepted.
func (h *Handler) countSent(ch channel) {
	if ch == bySMS {
		h.metrics.SMSSent.Inc()
		return
	}
	h.metrics.EmailsSent.WithLabelValues("invitation").Inc()
}

// countUnsent counts an invitation its template kept from being sent.
func (h *Handler) countUnsent(ch channel, reason string) {
	if ch == bySMS {
		h.metrics.SMSFailed.WithLabelValues(metrics.SMSUnsent).Inc()
		return
	}
	h.metrics.EmailsUnsent.WithLabelValues(reason).Inc()
}

// countFailed counts a failed send: retried, unless it was permanent or gaveUp (the last
// attempt).
func (h *Handler) countFailed(ch channel, err error, gaveUp bool) {
	if ch == byEmail {
		class := "transient"
		if gaveUp || permanentSend(err) {
			class = "permanent"
		}
		h.metrics.EmailsFailed.WithLabelValues("invitation", class).Inc()
		return
	}
	h.metrics.SMSFailed.WithLabelValues(smsClass(err, gaveUp)).Inc()
}

// Twilio's error codes for a number that cannot take an SMS.
var invalidNumberCodes = map[int]bool{
	21211: true, // invalid 'To' number
	21214: true, // 'To' number cannot be reached
	21217: true, // phone number does not appear to be valid
	21407: true, // this phone number type does not support SMS
	21408: true, // permission to send an SMS has not been enabled for the region
	21612: true, // the 'To' phone number is not currently reachable via SMS
	21614: true, // 'To' number is not a valid mobile number
}

// smsClass is the metrics class of a failed SMS send.
func smsClass(err error, gaveUp bool) string {
	var se *sms.SendError
	switch {
	case gaveUp:
		return metrics.SMSGaveUp
	case !errors.As(err, &se):
		return metrics.SMSTransient
	case se.Status == 429:
		return metrics.SMSRateLimited
	case se.Temporary:
		return metrics.SMSTransient
	case se.Code == 21610:
		return metrics.SMSOptedOut
	case invalidNumberCodes[se.Code]:
		return metrics.SMSInvalidNumber
	}
	return metrics.SMSRefused
}
