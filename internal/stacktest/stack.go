// Package stacktest starts the whole service for a test: a database and Redis key space of
// its own (from testenv), an in-process SMTP server, the API on httptest and, on request,
// an Asynq worker with the real handlers.
package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/smstest"
	"github.com/multiline/onboarding/internal/smtptest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
	"github.com/multiline/onboarding/internal/token"
)

// mailFrom is the sender of test workers' emails, and the domain of their Message-IDs.
const mailFrom = "MultiLine <no-reply@multiline.test>"

// PublicURL is the base of links in test emails.
const PublicURL = "http://multiline.test"

// Stack is a running service for one test.
type Stack struct {
	t          testing.TB
	DB         *sqlx.DB
	DBURL      string
	Store      *store.Store
	Redis      testenv.Redis
	SMTP       *smtptest.Server
	SMS        *smstest.Server // the SMS provider of workers, unless WithoutSMS
	noSMS      bool
	emailRate  int // SMTP_RATE of the next workers (SendRates)
	smsRate    int // SMS_RATE of the next workers
	API        *httptest.Server
	Queues     jobs.Queues
	Client     *jobs.Client
	Feeder     *jobs.Feeder // the api's: it feeds the rows of new batches
	Inspector  *asynq.Inspector
	RootToken  string // an admin with every privilege and every organization
	MaxUpload  int64
	log        zerolog.Logger
	asynqCli   *asynq.Client
	workerOpts []func(*asynq.Config)
}

// New starts the API of a fresh stack; call StartWorker for workers.
func New(t testing.TB) *Stack {
	t.Helper()
	return NewOn(t, testenv.NewRedis(t))
}

// NewOn starts the API of a fresh stack on r; with r.Prefix empty (a private server's whole
// Redis, see testenv.StartRedisServer) the queues have their default names.
func NewOn(t testing.TB, r testenv.Redis) *Stack {
	t.Helper()
	db, dbURL := testenv.DB(t)
	s := &Stack{t: t, DB: db, DBURL: dbURL, Store: store.New(db), Redis: r,
		SMTP: smtptest.Start(t), SMS: smstest.Start(t), MaxUpload: 5 << 20, log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	if r.Prefix != "" {
		s.Queues = jobs.Queues{Prefix: r.Prefix + ":"}
	}
	s.asynqCli = asynq.NewClient(s.Redis.Opt)
	s.Inspector = asynq.NewInspector(s.Redis.Opt)
	t.Cleanup(func() { s.asynqCli.Close(); s.Inspector.Close() })
	s.Client = jobs.NewClient(s.asynqCli, s.Queues)
	s.Feeder = jobs.NewFeeder(s.Store, s.Client, s.Inspector)

	api := httpapi.New(httpapi.Config{MaxUploadBytes: s.MaxUpload, PublicURL: PublicURL}, s.Store, s.Feeder,
		metrics.NewRegistry(), s.log, httpapi.Check{Name: "postgres", Fn: s.Store.Ping})
	s.API = httptest.NewServer(api.Handler())
	t.Cleanup(s.API.Close)

	s.RootToken = s.NewAdmin("root@test.example", nil, string(store.PrivAccounts), string(store.PrivNumbers),
		string(store.PrivOrganizations), string(store.PrivAdministrators), string(store.PrivReports))
	return s
}

// NewAdmin stores an admin directly and returns its token; orgs nil means every organization.
func (s *Stack) NewAdmin(email string, orgs []string, privileges ...string) string {
	s.t.Helper()
	plain, hash := token.New(httpapi.AdminTokenPrefix)
	if _, err := s.Store.CreateAdmin(context.Background(), store.NewAdmin{
		Email: email, Privileges: privileges, OrganizationIDs: orgs, TokenHash: hash,
	}); err != nil {
		s.t.Fatalf("create admin %s: %v", email, err)
	}
	return plain
}

// Response is an API answer.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// Error returns the code and message of an error response.
func (r Response) Error(t testing.TB) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &e)
	return e.Error.Code, e.Error.Message
}

// ErrorCode returns the code of an error response, failing the test when it has no message.
func (r Response) ErrorCode(t testing.TB) string {
	t.Helper()
	code, message := r.Error(t)
	if message == "" {
		t.Errorf("error response %s has no message", r.Body)
	}
	return code
}

// Do sends a request with a JSON body (nil for none) and bearer token ("" for none).
func (s *Stack) Do(method, path, tok string, body any) Response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.API.URL+path, rd)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req, tok)
}

func (s *Stack) send(req *http.Request, tok string) Response {
	s.t.Helper()
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read response: %v", err)
	}
	return Response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// Upload posts a CSV file to an organization's batches; fields adds form fields such as
// "invite" and "dry_run".
func (s *Stack) Upload(tok, orgID, groupID string, file []byte, fields map[string]string) Response {
	s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if groupID != "" {
		_ = mw.WriteField("permission_group", groupID)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "accounts.csv")
		_, _ = fw.Write(file)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, s.API.URL+"/v1/organizations/"+orgID+"/batches", &buf)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return s.send(req, tok)
}

// Org creates an organization with n numbers (+1 555 XXX XXXX from base) and a permission
// group, straight in the store.
func (s *Stack) Org(name string, base, n int) (orgID, groupID string) {
	s.t.Helper()
	ctx := context.Background()
	o, err := s.Store.CreateOrganization(ctx, store.Admin{}, store.NewOrganization{Name: name})
	if err != nil {
		s.t.Fatalf("create organization: %v", err)
	}
	if n > 0 {
		if _, err := s.Store.AddNumbers(ctx, o.ID, Numbers(base, n)); err != nil {
			s.t.Fatalf("add numbers: %v", err)
		}
	}
	g, err := s.Store.CreatePermissionGroup(ctx, o.ID, "Staff")
	if err != nil {
		s.t.Fatalf("create group: %v", err)
	}
	return o.ID, g.ID
}

// Numbers returns n E.164 numbers starting at +1555<base+i as 7 digits>.
func Numbers(base, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1555%07d", base+i)
	}
	return out
}

// CSV builds an upload of n rows with identifiers user<start+i>@<domain>, and the given
// extra per-row columns function (nil for defaults).
func CSV(domain string, start, n int) []byte {
	var b strings.Builder
	b.WriteString("firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,forwarding_number,Language\r\n")
	for i := range n {
		fmt.Fprintf(&b, "User,%d,user%d@%s,No,,auto,on,,English\r\n", start+i, start+i, domain)
	}
	return []byte(b.String())
}

// XLSX builds the same upload as CSV as an .xlsx workbook: the template of an organization
// without social messaging, its Accounts sheet filled with text cells as Excel writes them.
func XLSX(domain string, start, n int) []byte {
	tpl, err := csvfile.TemplateXLSX(false)
	if err != nil {
		panic(err)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		panic(err)
	}
	defer wb.Close()
	for i := range n {
		row := []any{"User", strconv.Itoa(start + i), fmt.Sprintf("user%d@%s", start+i, domain), "No", nil, "auto", "on", nil, "English"}
		if err := wb.SetSheetRow(csvfile.TemplateSheet, "A"+strconv.Itoa(i+2), &row); err != nil {
			panic(err)
		}
	}
	buf, err := wb.WriteToBuffer()
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// pendingRows describes the rows of batch id that have not settled, and their tasks.
func (s *Stack) pendingRows(id string) string {
	var rows []struct {
		Line       int     `db:"line"`
		Account    *string `db:"account_id"`
		Invitation *string `db:"invitation"`
		Holder     *string `db:"lease_holder"`
	}
	err := s.DB.Select(&rows, `SELECT r.line, a.id AS account_id, i.state AS invitation, i.lease_holder
		FROM batch_rows r
		LEFT JOIN accounts a ON a.batch_id = r.batch_id AND a.batch_line = r.line
		LEFT JOIN invitations i ON i.account_id = a.id AND i.state IN ('pending', 'sent')
		WHERE r.batch_id = $1 AND r.status = 'pending' ORDER BY r.line LIMIT 20`, id)
	if err != nil {
		return err.Error()
	}
	var out strings.Builder
	for _, r := range rows {
		task := "no task"
		if info, err := s.Inspector.GetTaskInfo(s.Queues.Rows(), jobs.RowTaskID(id, r.Line)); err == nil {
			task = "task " + info.State.String()
		}
		fmt.Fprintf(&out, "  row %d: account %v, invitation %v held by %v, %s\n", r.Line, deref(r.Account), deref(r.Invitation), deref(r.Holder), task)
	}
	return out.String()
}

func deref[T any](p *T) any {
	if p == nil {
		return "none"
	}
	return *p
}

// WaitBatch polls the store until batch id finishes, failing the test after timeout.
func (s *Stack) WaitBatch(id string, timeout time.Duration) store.Batch {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := s.Store.Batch(context.Background(), id)
		if err != nil {
			s.t.Fatalf("get batch: %v", err)
		}
		if b.FinishedAt != nil {
			return b
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("batch %s did not finish in %s: status %s, %d/%d processed; pending rows:\n%s",
				id, timeout, b.Status, b.Processed, b.Total, s.pendingRows(id))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
