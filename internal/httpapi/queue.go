package httpapi

import (
	"context"
	"net/http"

	"github.com/rs/zerolog"
)

// Queue is where the API hands work to the workers. jobs.Feeder implements it; PostgreSQL
// remains the source of truth, so a failed enqueue only delays work until the reconciler
// finds it.
type Queue interface {
	// Feed enqueues the rows of the batches' organizations that their windows let in now
	// (jobs.Feeder), and returns how many.
	Feed(ctx context.Context, batchIDs []string) (int, error)
	EnqueueFinalize(ctx context.Context, batchID string) error
	EnqueueInvitations(ctx context.Context, invitationIDs []string) error
	// CheckPools checks the pool alerts of the organizations and enqueues the emails of
	// those it raises (jobs.Feeder).
	CheckPools(ctx context.Context, orgIDs []string) error
}

// checkPools checks the pool alerts of orgIDs after a request changed their pools. A failure
// only delays an alert: the workers check again as rows settle, the reconciler on every pass.
func (s *Server) checkPools(r *http.Request, orgIDs ...string) {
	if err := s.queue.CheckPools(r.Context(), orgIDs); err != nil {
		zerolog.Ctx(r.Context()).Warn().Err(err).Strs("organization_ids", orgIDs).Msg("could not check pool alerts; the reconciler will")
	}
}
