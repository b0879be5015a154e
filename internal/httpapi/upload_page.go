package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/csvfile"
)

// The upload page is the browser's side of the Multiple Accounts flow. It is a static page
// and a script that call the v1 API with the admin token the person pastes; the token lives
// in the tab's sessionStorage and never reaches the page's own routes.

//go:embed web/upload.html web/api.js web/upload.js web/progress.js web/upload.css
var uploadFS embed.FS

// uploadPage is the page at GET /.
var uploadPage = template.Must(template.ParseFS(uploadFS, "web/upload.html"))

// uploadAssets are the files served under /ui/, by name.
var uploadAssets = map[string]string{
	"api.js":      "text/javascript; charset=utf-8",
	"upload.js":   "text/javascript; charset=utf-8",
	"progress.js": "text/javascript; charset=utf-8",
	"upload.css":  "text/css; charset=utf-8",
}

// uploadView is what the upload page template needs.
type uploadView struct {
	MaxRows int
}

// uploadCSP lets the page load only its own script and style and talk only to this API.
// Downloads are blob: links the script clicks, which the policy does not restrict.
const uploadCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

func uploadHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", uploadCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// uploadPageGET serves the upload page.
func (s *Server) uploadPageGET(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := uploadPage.Execute(&buf, uploadView{MaxRows: csvfile.MaxRows}); err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("render upload page")
		http.Error(w, "The page could not be shown; try again", http.StatusInternalServerError)
		return
	}
	uploadHeaders(w, "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// uploadAssetGET serves the page's script and style sheet.
func (s *Server) uploadAssetGET(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct, ok := uploadAssets[name]
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotFound, "not_found", "no such file: %s", r.URL.Path))
		return
	}
	b, err := uploadFS.ReadFile("web/" + name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	uploadHeaders(w, ct)
	_, _ = w.Write(b)
}
