package httpapi

import "context"

// Queue is where the API hands work to the workers. jobs.Feeder implements it; PostgreSQL
// remains the source of truth, so a failed enqueue only delays work until the reconciler
// finds it.
type Queue interface {
	// Feed enqueues the rows of the batches' organizations that their windows let in now
	// (jobs.Feeder), and returns how many.
	Feed(ctx context.Context, batchIDs []string) (int, error)
	EnqueueFinalize(ctx context.Context, batchID string) error
	EnqueueInvitations(ctx context.Context, invitationIDs []string) error
}
