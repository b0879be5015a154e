package httpapi

import (
	"errors"
	"net/http"

	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// undoBatch is POST /v1/batches/{id}/undo: it removes the accounts the batch created that are
// not active yet (nor moved to another organization), releases their numbers and withdraws
// their links, all in one transaction; the batch records it. A batch still running is
// refused: its rows may be creating accounts, so it is to be canceled first. Calling it again
// is harmless: it removes nothing more and lists the kept accounts again.
func (s *Server) undoBatch(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return err
	}
	undo, err := s.store.UndoBatch(r.Context(), b.ID, admin.Email)
	switch {
	case errors.Is(err, store.ErrBatchRunning) && b.CancelRequestedAt != nil:
		return errorf(http.StatusConflict, "batch_not_finished",
			"the batch is being canceled and %d of its %d rows are still finishing; undo it once it has finished (GET /v1/batches/%s shows finished_at)",
			b.Total-b.Processed, b.Total, b.ID)
	case errors.Is(err, store.ErrBatchRunning):
		return errorf(http.StatusConflict, "batch_not_finished",
			"the batch is still %s (%d of %d rows processed), so its rows may still be creating accounts; "+
				"cancel it first (POST /v1/batches/%s/cancel) and undo it once it has finished", b.Status, b.Processed, b.Total, b.ID)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "batch_not_found", "no batch has id %q", b.ID)
	case err != nil:
		return err
	}
	s.checkPools(r, b.OrganizationID) // its numbers are Available again
	for i := range undo.Kept {
		undo.Kept[i].Reason = sentence.Capitalize(undo.Kept[i].Reason)
	}
	if b, err = s.store.Batch(r.Context(), b.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"batch":     s.batchJSON(b),
		"removed":   undo.Removed,
		"kept":      undo.Kept,
		"undone_at": undo.UndoneAt,
		"undone_by": undo.UndoneBy,
	})
	return nil
}
