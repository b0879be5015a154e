package httpapi

import "context"

// Queue is where the API hands work to the workers. jobs.Client implements it; PostgreSQL
// remains the source of truth, so a failed enqueue only delays work until the reconciler
// finds it.
type Queue interface {
	EnqueueBatch(ctx context.Context, batchID string, lines []int) error
	EnqueueFinalize(ctx context.Context, batchID string) error
	EnqueueInvitations(ctx context.Context, invitationIDs []string) error
}
