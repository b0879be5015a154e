package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/report"
	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// batchInScope loads batch {id} and checks that its organization is in the admin's scope.
func (s *Server) batchInScope(r *http.Request, admin store.Admin) (store.Batch, error) {
	b, err := s.store.Batch(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return b, errorf(http.StatusNotFound, "batch_not_found", "no batch has id %q", r.PathValue("id"))
	}
	if err != nil {
		return b, err
	}
	if !admin.InScope(b.OrganizationID) {
		return b, errOutOfScope()
	}
	return b, nil
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	// The answer depends on Accept (JSON or the event stream): a cache must not give one for
	// the other.
	w.Header().Add("Vary", "Accept")
	if wantsEvents(r) {
		return s.batchEvents(w, r, admin)
	}
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.batchJSON(b))
	return nil
}

// finishedBatchInScope is batchInScope for a report: 409 until the batch has finished.
func (s *Server) finishedBatchInScope(r *http.Request, admin store.Admin) (store.Batch, error) {
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return b, err
	}
	if b.FinishedAt == nil {
		return b, errorf(http.StatusConflict, "batch_not_finished",
			"the report is ready when the batch finishes; it is %s with %d of %d rows processed", b.Status, b.Processed, b.Total)
	}
	return b, nil
}

// batchReport serves the stored report CSV, or, with ?delimiter=; (or tab), the same report
// built now from the batch's rows with that delimiter.
func (s *Server) batchReport(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	comma, err := reportDelimiter(r)
	if err != nil {
		return err
	}
	b, err := s.finishedBatchInScope(r, admin)
	if err != nil {
		return err
	}
	var csv []byte
	if comma == ',' {
		csv, err = s.store.BatchReport(r.Context(), b.ID)
	} else {
		var rows []store.ReportRow
		if rows, err = s.store.ReportRows(r.Context(), b.ID); err == nil {
			csv, err = report.CSVWith(rows, comma)
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="batch-operations-report-`+b.ID+`.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(csv)
	return err
}

// batchReportXLSX serves the report as a workbook, built now from the batch's rows: they no
// longer change once the batch has finished, so it holds what the stored CSV holds.
func (s *Server) batchReportXLSX(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	b, err := s.finishedBatchInScope(r, admin)
	if err != nil {
		return err
	}
	rows, err := s.store.ReportRows(r.Context(), b.ID)
	if err != nil {
		return err
	}
	xlsx, err := report.XLSX(rows)
	if err != nil {
		return fmt.Errorf("build xlsx report: %w", err)
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="batch-operations-report-`+b.ID+`.xlsx"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(xlsx)
	return err
}

// reportDelimiter reads ?delimiter= of a report request: ",", ";" or a tab ("tab").
func reportDelimiter(r *http.Request) (rune, error) {
	switch r.URL.Query().Get("delimiter") {
	case "", ",":
		return ',', nil
	case ";":
		return ';', nil
	case "tab", "\t":
		return '\t', nil
	default:
		return 0, errorf(http.StatusBadRequest, "invalid_delimiter", `delimiter must be ",", ";" or "tab"`)
	}
}

// delimiterQuery is the query that asks for a report in delimiter d ("" for a comma).
func delimiterQuery(d string) string {
	switch d {
	case ";":
		return "?delimiter=%3B"
	case "\t":
		return "?delimiter=tab"
	}
	return ""
}

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	batches, err := s.store.Batches(r.Context(), org, limit)
	if err != nil {
		return err
	}
	out := make([]batchJSON, len(batches))
	for i, b := range batches {
		out[i] = s.batchJSON(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"batches": out})
	return nil
}

func (s *Server) cancelBatch(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return err
	}
	ok, err := s.store.RequestCancel(r.Context(), b.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusConflict, "batch_finished", "the batch already finished as %s; there is nothing to cancel", b.Status)
	}
	// The finalizer settles the rows not yet started as canceled; rows already holding an
	// account finish their invitation first.
	if err := s.enqueueFinalize(r, b.ID); err != nil {
		zerolog.Ctx(r.Context()).Warn().Err(err).Str("batch_id", b.ID).Msg("could not enqueue the canceled batch's finalizer; the reconciler will")
	}
	if b, err = s.store.Batch(r.Context(), b.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, s.batchJSON(b))
	return nil
}

func (s *Server) accountsTemplate(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.scopedOrg(r, admin)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="multiline-accounts-template.csv"`)
	_, err = w.Write(csvfile.Template(org.SocialMessaging))
	return err
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.existingOrg(r, admin)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 1000, 1, 5000)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	var after *store.AccountCursor
	if v := r.URL.Query().Get("after"); v != "" {
		if offset != 0 {
			return errorf(http.StatusBadRequest, "invalid_offset", "use after or offset, not both")
		}
		c, ok := decodeAccountCursor(v)
		if !ok {
			return errorf(http.StatusBadRequest, "invalid_after", "the after parameter must be the next value of a previous page")
		}
		after = &c
	}
	page, err := s.store.Accounts(r.Context(), org, after, limit, offset)
	if err != nil {
		return err
	}
	for i, a := range page.Accounts {
		if a.InvitationError != nil {
			reason := sentence.Capitalize(*a.InvitationError)
			page.Accounts[i].InvitationError = &reason
		}
	}
	var next *string
	if page.Next != nil {
		c := encodeAccountCursor(*page.Next)
		next = &c
	}
	writeJSON(w, http.StatusOK, accountList{Accounts: page.Accounts, Total: page.Total, Next: next})
	return nil
}

// accountList is the answer of GET /v1/organizations/{org}/accounts.
type accountList struct {
	Accounts []store.Account `json:"accounts"`
	Total    int             `json:"total"` // the organization's accounts, all pages together
	Next     *string         `json:"next"`  // pass as ?after= for the next page; null on the last
}

// encodeAccountCursor makes the opaque next value of a page of accounts: the last account's
// creation time in microseconds (PostgreSQL's precision) and its id.
func encodeAccountCursor(c store.AccountCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

// decodeAccountCursor reads what encodeAccountCursor made; ok is false for anything else.
func decodeAccountCursor(s string) (store.AccountCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.AccountCursor{}, false
	}
	micros, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return store.AccountCursor{}, false
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return store.AccountCursor{}, false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return store.AccountCursor{}, false
	}
	return store.AccountCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: u.String()}, true
}

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errorf(http.StatusBadRequest, "invalid_"+name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
