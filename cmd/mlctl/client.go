package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// client calls the v1 API with an admin token.
type client struct {
	base  string
	token string
	http  *http.Client
	// stream reads event streams: it has no overall timeout, as a stream lasts as long as
	// its batch; streamIdle bounds its silences instead.
	stream     *http.Client
	streamIdle time.Duration
}

func newClient(base, token string) *client {
	return &client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 5 * time.Minute},
		stream: &http.Client{}, streamIdle: streamIdle}
}

// apiError is the API's error body, with the HTTP status.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// batch is a batch as the API shows it.
type batch struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	Filename       string     `json:"filename"`
	Invite         bool       `json:"invite"`
	Status         string     `json:"status"`
	Total          int        `json:"total"`
	Processed      int        `json:"processed"`
	Succeeded      int        `json:"succeeded"`
	Failed         int        `json:"failed"`
	Canceled       int        `json:"canceled"`
	CreatedAt      time.Time  `json:"created_at"`
	FinishedAt     *time.Time `json:"finished_at"`
	SecondsLeft    *int       `json:"seconds_left"`
	Notices        []string   `json:"notices"`
}

// do sends a request and returns the response body of a 2xx answer, or an *apiError.
func (c *client) do(ctx context.Context, method, path, contentType string, body io.Reader) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			e.Error = apiError{Code: "http_error", Message: fmt.Sprintf("%s %s answered %s", method, path, resp.Status)}
		}
		e.Error.Status = resp.StatusCode
		return nil, nil, &e.Error
	}
	return b, resp.Header, nil
}

func (c *client) getJSON(ctx context.Context, path string, v any) error {
	b, _, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	return decode(b, v)
}

func (c *client) postJSON(ctx context.Context, path string, in, out any) error {
	return c.sendJSON(ctx, http.MethodPost, path, in, out)
}

func (c *client) putJSON(ctx context.Context, path string, in, out any) error {
	return c.sendJSON(ctx, http.MethodPut, path, in, out)
}

// sendJSON sends in as the JSON body of a request and decodes the answer into out.
func (c *client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	b, _, err := c.do(ctx, method, path, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	return decode(b, out)
}

func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// upload posts the file as multipart with the given form fields; the answer is the raw JSON.
func (c *client) upload(ctx context.Context, org, file string, fields map[string]string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, usagef("read %s: %v", file, err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return nil, fmt.Errorf("build upload: %w", err)
		}
	}
	fw, err := mw.CreateFormFile("file", filepath.Base(file))
	if err != nil {
		return nil, fmt.Errorf("build upload: %w", err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("build upload: %w", err)
	}
	b, _, err := c.do(ctx, http.MethodPost, "/v1/organizations/"+pathEscape(org)+"/batches", mw.FormDataContentType(), &buf)
	return b, err
}

// report returns the Batch Operations Report of a finished batch, in format "csv" or "xlsx".
func (c *client) report(ctx context.Context, id, format string) ([]byte, error) {
	b, _, err := c.do(ctx, http.MethodGet, "/v1/batches/"+pathEscape(id)+"/report."+format, "", nil)
	return b, err
}

func pathEscape(s string) string { return url.PathEscape(s) }
