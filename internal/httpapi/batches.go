package httpapi

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// batchJSON is a batch as the API shows it.
type batchJSON struct {
	store.Batch
	ReportURL *string `json:"report_url"`
	// SecondsLeft estimates the time to finish an unfinished batch (see secondsLeft).
	SecondsLeft *int     `json:"seconds_left,omitempty"`
	Notices     []string `json:"notices,omitempty"` // about the file, on upload only
}

func (s *Server) batchJSON(b store.Batch) batchJSON {
	out := batchJSON{Batch: b, SecondsLeft: secondsLeft(b, s.cfg.SendRate, time.Now())}
	if b.FinishedAt != nil {
		// The report in the file's own delimiter: a spreadsheet set up for semicolons opens a
		// comma report as one column.
		u := strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/batches/" + b.ID + "/report.csv" + delimiterQuery(b.Delimiter)
		out.ReportURL = &u
	}
	return out
}

// secondsLeft estimates how long batch b takes to finish at the pace of its rows since the
// first started, and no sooner than the send rate (SMTP_RATE, sendRate a second; 0 for none)
// lets its remaining invitations go; nil when it has finished, is canceling, or nothing
// tells yet. The rate is shared by every batch, so others sending at once make it longer:
// the pace shows that once rows settle.
func secondsLeft(b store.Batch, sendRate int, now time.Time) *int {
	if b.FinishedAt != nil || b.CancelRequestedAt != nil {
		return nil
	}
	left := float64(b.Total - b.Processed)
	est := -1.0
	if b.StartedAt != nil && b.Processed > 0 {
		est = now.Sub(*b.StartedAt).Seconds() / float64(b.Processed) * left
	}
	if b.Invite && sendRate > 0 {
		est = max(est, left/float64(sendRate))
	}
	if est < 0 {
		return nil
	}
	n := int(math.Ceil(est))
	return &n
}

// upload is a parsed multipart upload.
type upload struct {
	data     []byte
	filename string
	groupID  string
	invite   bool
	dryRun   bool
}

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.scopedOrg(r, admin)
	if err != nil {
		return err
	}
	orgID := org.ID
	up, err := s.readUpload(r)
	if err != nil {
		s.metrics.Uploads.WithLabelValues(errorCode(err)).Inc()
		return err
	}
	if _, err := s.store.PermissionGroup(r.Context(), orgID, up.groupID); errors.Is(err, store.ErrNotFound) {
		s.metrics.Uploads.WithLabelValues("unknown_permission_group").Inc()
		return errorf(http.StatusUnprocessableEntity, "unknown_permission_group",
			"the permission_group %q is not a permission group of this organization; list them at GET /v1/organizations/%s/permission-groups", up.groupID, orgID)
	} else if err != nil {
		return err
	}
	file, err := csvfile.Parse(up.data, csvfile.Options{SocialMessaging: org.SocialMessaging, SMTPDataOffload: org.SMTPDataOffload})
	var fe *csvfile.FileError
	if errors.As(err, &fe) {
		s.metrics.Uploads.WithLabelValues(fe.Code).Inc()
		status := http.StatusUnprocessableEntity
		if fe.Code == "not_text" || fe.Code == "xls_unsupported" || fe.Code == "unreadable_workbook" {
			status = http.StatusUnsupportedMediaType
		}
		e := &Error{Status: status, Code: fe.Code, Message: fe.Message}
		for _, d := range fe.Details {
			e.Details = append(e.Details, textDetail(d))
		}
		return e
	} else if err != nil {
		return err
	}
	if up.dryRun {
		chk, err := s.checkAgainstOrganization(r, org, file)
		if err != nil {
			return err
		}
		s.metrics.Uploads.WithLabelValues("dry_run").Inc()
		return s.writeDryRun(w, file, chk, checkNumbers(file, chk, org.Numbers.Available, up.invite))
	}

	sum := sha256.Sum256(up.data)
	rows := newRows(file)
	b, pending, err := s.store.CreateBatch(r.Context(), store.NewBatch{
		OrganizationID: orgID, PermissionGroupID: up.groupID, AdminID: admin.ID, UploadedBy: admin.Email,
		Filename: up.filename, FileSHA256: sum[:], Invite: up.invite, Delimiter: string(file.Delimiter),
	}, rows)
	if err != nil {
		return err
	}
	s.metrics.Uploads.WithLabelValues("accepted").Inc()
	s.metrics.UploadRows.Observe(float64(len(rows)))
	s.metrics.CountRefusedRows(file)
	log := zerolog.Ctx(r.Context()).With().Str("batch_id", b.ID).Logger()
	log.Info().Str("organization_id", orgID).Int("rows", len(rows)).Int("pending", len(pending)).
		Bool("invite", up.invite).Msg("batch stored")
	// The batch is committed; from here on a failure only delays it: the reconciler
	// enqueues batches whose tasks never reached Redis.
	if err := s.enqueue(r, b.ID, pending); err != nil {
		log.Warn().Err(err).Msg("could not enqueue the batch; the reconciler will")
	}
	s.checkPools(r, orgID)
	out := s.batchJSON(b)
	out.Notices = sentences(file.Notices)
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// enqueue hands a stored batch's pending rows to the queue, as many as its organization's
// window lets in now (the workers feed the rest as rows settle), or enqueues its finalizer
// when every row was refused.
func (s *Server) enqueue(r *http.Request, batchID string, lines []int) error {
	if len(lines) == 0 {
		return s.enqueueFinalize(r, batchID)
	}
	n, err := s.queue.Feed(r.Context(), []string{batchID})
	if err != nil {
		s.metrics.EnqueueErrors.WithLabelValues(metrics.TaskRow).Inc()
		return err
	}
	s.metrics.Enqueued.WithLabelValues(metrics.TaskRow).Add(float64(n))
	return nil
}

// enqueueFinalize enqueues a batch's finalizer, counting the outcome.
func (s *Server) enqueueFinalize(r *http.Request, batchID string) error {
	if err := s.queue.EnqueueFinalize(r.Context(), batchID); err != nil {
		s.metrics.EnqueueErrors.WithLabelValues(metrics.TaskFinalize).Inc()
		return err
	}
	s.metrics.Enqueued.WithLabelValues(metrics.TaskFinalize).Inc()
	return nil
}

// readUpload reads the multipart form, streaming the file part into memory up to the limit.
func (s *Server) readUpload(r *http.Request) (upload, error) {
	var up upload
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/form-data") {
		return up, errorf(http.StatusUnsupportedMediaType, "not_multipart",
			"send the upload as multipart/form-data with fields file, permission_group and invite")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return up, errorf(http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read: %v", err)
	}
	fields := map[string]string{}
	seenFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if isMaxBytes(err) {
				return up, s.uploadTooLarge()
			}
			return up, errorf(http.StatusBadRequest, "bad_multipart", "the multipart body is malformed: %v", err)
		}
		limit := int64(maxFieldBytes)
		if part.FormName() == "file" {
			limit = s.cfg.MaxUploadBytes
		}
		v, err := readPart(part, limit)
		if isMaxBytes(err) {
			return up, s.uploadTooLarge()
		} else if err != nil {
			return up, err
		}
		if part.FormName() == "file" {
			up.data, up.filename, seenFile = v, filepath.Base(part.FileName()), true
			if !storableText(up.filename) {
				return up, errorf(http.StatusUnprocessableEntity, "invalid_text",
					"the file name holds a NUL byte or bytes that are not UTF-8, which cannot be stored; rename the file and upload it again")
			}
			continue
		}
		if !storableText(string(v)) {
			return up, errorf(http.StatusUnprocessableEntity, "invalid_text",
				"form field %q holds a NUL byte or bytes that are not UTF-8, which cannot be stored", part.FormName())
		}
		fields[part.FormName()] = strings.TrimSpace(string(v))
	}
	if !seenFile {
		return up, errorf(http.StatusBadRequest, "file_missing", "attach the CSV file or .xlsx workbook as the form field \"file\"")
	}
	up.groupID = fields["permission_group"]
	if up.groupID == "" {
		return up, errorf(http.StatusBadRequest, "permission_group_missing",
			"choose the permission group: send its id as the form field \"permission_group\"")
	}
	if up.invite, err = formBool(fields, "invite"); err != nil {
		return up, err
	}
	if up.dryRun, err = formBool(fields, "dry_run"); err != nil {
		return up, err
	}
	return up, nil
}

// readPart reads one part of an upload up to limit bytes. A part over its limit is a 413
// naming it; the whole body's cap (see limitBody) surfaces as the *http.MaxBytesError.
func readPart(p *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if isMaxBytes(err) {
		return nil, err
	} else if err != nil {
		return nil, errorf(http.StatusBadRequest, "bad_multipart", "the upload was cut short: %v", err)
	}
	if int64(len(b)) <= limit {
		return b, nil
	}
	switch name := p.FormName(); name {
	case "file":
		e := tooLarge("the file", limit)
		e.Message += "; split it into several files or remove unused columns"
		return nil, e
	case "permission_group", "invite", "dry_run":
		return nil, tooLarge(fmt.Sprintf("the form field %q", name), limit)
	default: // a field the API does not read: its name is the client's text, of any length
		return nil, tooLarge("a form field", limit)
	}
}

// uploadTooLarge is the 413 of an upload whose body passed limitBody's cap before any one
// part passed its own: many or large form fields beside the file.
func (s *Server) uploadTooLarge() *Error {
	e := tooLarge("the upload", s.cfg.MaxUploadBytes+uploadOverhead)
	e.Message += fmt.Sprintf(" (%s for the file, %s for the other form fields and the multipart framing)",
		humanBytes(s.cfg.MaxUploadBytes), humanBytes(uploadOverhead))
	return e
}

func isMaxBytes(err error) bool {
	var maxErr *http.MaxBytesError
	return errors.As(err, &maxErr)
}

func formBool(fields map[string]string, name string) (bool, error) {
	v, ok := fields[name]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, "invalid_"+name, "the form field %q must be true or false, not %q", name, v)
	}
	return b, nil
}

// rowError is one problem of a dry run or of a stored failed row.
type rowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// orgCheck is what checkAgainstOrganization found.
type orgCheck struct {
	errs  map[int][]rowError // line -> what the organization refuses of the row
	named map[string]bool    // the named numbers of valid rows that are Available here now
}

// checkAgainstOrganization finds what the file cannot do in this organization right now:
// named numbers that are not Available here, identifiers that already have an account,
// addresses outside its allowed email domains. Its answers say nothing of other
// organizations (see store.NumberAvailability and store.AccountExistsReason).
// The workers check again when they run, with the settings and pool as they are then; this
// is for an early, complete answer.
func (s *Server) checkAgainstOrganization(r *http.Request, org store.Organization, f *csvfile.File) (orgCheck, error) {
	orgID := org.ID
	var numbers, identifiers []string
	for _, row := range f.Rows {
		if len(row.Errors) > 0 {
			continue
		}
		if row.MultilineNumber != "" {
			numbers = append(numbers, row.MultilineNumber)
		}
		identifiers = append(identifiers, row.Identifier)
	}
	unavailable, err := s.store.NumberAvailability(r.Context(), orgID, numbers)
	if err != nil {
		return orgCheck{}, err
	}
	existing, err := s.store.ExistingIdentifiers(r.Context(), identifiers)
	if err != nil {
		return orgCheck{}, err
	}
	out := map[int][]rowError{}
	named := map[string]bool{}
	for _, row := range f.Rows {
		if len(row.Errors) > 0 {
			continue
		}
		if why, ok := unavailable[row.MultilineNumber]; ok && row.MultilineNumber != "" {
			out[row.Line] = append(out[row.Line], rowError{row.Line, csvfile.ColMultilineNumber,
				fmt.Sprintf("row %d, %s: %s %s", row.Line, csvfile.ColMultilineNumber, row.MultilineNumber, why)})
		}
		// The worker's sentence (store.AccountExistsReason): identifiers are unique across
		// organizations, so an account anywhere refuses the row; the answer never says where.
		if existing[row.Identifier] {
			out[row.Line] = append(out[row.Line], rowError{row.Line, csvfile.ColIdentifier,
				fmt.Sprintf("row %d, %s: %s", row.Line, csvfile.ColIdentifier, store.AccountExistsReason)})
		}
		if !store.DomainAllowed(org.AllowedEmailDomains, row.Identifier, row.IdentifierKind) {
			out[row.Line] = append(out[row.Line], rowError{row.Line, csvfile.ColIdentifier,
				fmt.Sprintf("row %d, %s: %s; %s", row.Line, csvfile.ColIdentifier,
					store.DomainNotAllowed(row.Identifier, org.AllowedEmailDomains, "this organization"), store.DomainHint)})
		}
	}
	for _, row := range f.Rows {
		if len(row.Errors) == 0 && len(out[row.Line]) == 0 && row.MultilineNumber != "" {
			named[row.MultilineNumber] = true
		}
	}
	return orgCheck{errs: out, named: named}, nil
}

// writeDryRun answers a dry run. Its errors, warnings and notices are composed lower case,
// like errors, and start with a capital here, where a person gets them.
func (s *Server) writeDryRun(w http.ResponseWriter, f *csvfile.File, chk orgCheck, nums numberCheck) error {
	errs := []rowError{}
	invalid := 0
	for _, row := range f.Rows {
		bad := len(row.Errors) > 0 || len(chk.errs[row.Line]) > 0
		for _, fe := range row.Errors {
			errs = append(errs, rowError{Row: fe.Line, Column: fe.Column, Message: fe.Error()})
		}
		errs = append(errs, chk.errs[row.Line]...)
		if bad {
			invalid++
		}
	}
	for i := range errs {
		errs[i].Message = sentence.Capitalize(errs[i].Message)
	}
	for i := range nums.warnings {
		nums.warnings[i].Message = sentence.Capitalize(nums.warnings[i].Message)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total": len(f.Rows), "valid": len(f.Rows) - invalid, "invalid": invalid,
		"errors": errs, "warnings": nums.warnings, "numbers": nums,
		"notices": sentences(f.Notices), "note_line": f.NoteLine,
	})
	return nil
}

// sentences is notices for a person: each starts with a capital. It is never nil, so that
// an answer lists no notices as [].
func sentences(notices []string) []string {
	out := make([]string, len(notices))
	for i, n := range notices {
		out[i] = sentence.Capitalize(n)
	}
	return out
}

// newRows turns parsed rows into stored rows; rows with validation errors are stored already
// failed with every problem as the reason.
func newRows(f *csvfile.File) []store.NewRow {
	rows := make([]store.NewRow, len(f.Rows))
	for i, r := range f.Rows {
		var reasons []string
		for _, fe := range r.Errors {
			reasons = append(reasons, fe.Error())
		}
		rows[i] = store.NewRow{
			Line: r.Line, RawIdentifier: r.RawIdentifier, Identifier: r.Identifier, IdentifierKind: r.IdentifierKind,
			Firstname: r.Firstname, Lastname: r.Lastname, SocialMessaging: r.SocialMessaging,
			MultilineNumber: r.MultilineNumber, MonitorCalls: r.MonitorCalls, MonitorSMS: r.MonitorSMS,
			ForwardingNumber: r.ForwardingNumber, RestrictIncomingSocialMessaging: r.RestrictIncomingSocialMessaging,
			Language: r.Language, FailReason: strings.Join(reasons, "; "),
		}
	}
	return rows
}

func errorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if isMaxBytes(err) {
		return "too_large"
	}
	return "error"
}
