package jobs

import (
	"time"

	"github.com/multiline/onboarding/internal/mailer"
)

// CacheTemplate puts t in h's template cache for an organization and language for an hour,
// as if the store held it and it had passed validation. Tests use it to reach the send-time
// checks with a template that ValidateInvitationTemplate refuses.
func (h *Handler) CacheTemplate(orgID, lang string, t mailer.Template) {
	lang = mailer.NormalizeLanguage(lang)
	h.templates.mu.Lock()
	defer h.templates.mu.Unlock()
	if h.templates.m == nil {
		h.templates.m = make(map[string]cachedTemplate)
	}
	h.templates.m[orgID+"/"+lang] = cachedTemplate{t: t, at: time.Now().Add(time.Hour)}
}
