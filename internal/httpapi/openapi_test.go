package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/metrics"
)

// The routes come from server.go itself: every route is registered there by a
// mux.Handle("PATTERN", ...) or mux.HandleFunc("PATTERN", ...) line, so reading those lines
// gives what the server serves without running it. A registration the pattern below cannot
// read (a pattern in a variable, a loop) fails the test rather than slipping past it.
var (
	routeLine    = regexp.MustCompile(`^\s*mux\.Handle(?:Func)?\(\s*"([^"]+)"\s*,(.*)$`)
	anyMuxHandle = regexp.MustCompile(`\bmux\.Handle(?:Func)?\(`)
)

// route is one registered pattern: method "" serves every method (a subtree such as
// /admin/queues/).
type route struct {
	method, path string
	authed       bool // behind an admin token
	privileged   bool // and a privilege: 403 without it
}

func (r route) String() string {
	if r.method == "" {
		return "* " + r.path
	}
	return r.method + " " + r.path
}

// serverRoutes reads the routes of server.go, leaving out the catch-all "/".
func serverRoutes(t *testing.T) []route {
	t.Helper()
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []route
	for i, line := range strings.Split(string(src), "\n") {
		if !anyMuxHandle.MatchString(line) {
			continue
		}
		m := routeLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("server.go:%d: cannot read the route pattern of %q; register routes as mux.Handle(\"METHOD /path\", ...)", i+1, strings.TrimSpace(line))
		}
		if m[1] == "/" {
			continue
		}
		method, path, ok := strings.Cut(m[1], " ")
		if !ok {
			method, path = "", m[1]
		}
		queueUI := strings.Contains(m[2], "s.queueUI(")
		routes = append(routes, route{method: method, path: openAPIPath(path),
			authed:     strings.Contains(m[2], "s.authed(") || queueUI,
			privileged: strings.Contains(m[2], "store.Priv") || queueUI})
	}
	if len(routes) < 20 {
		t.Fatalf("read %d routes from server.go, want the whole API", len(routes))
	}
	return routes
}

// openAPIPath turns a ServeMux path into an OpenAPI path template: "/{$}" is "/", and a
// rest wildcard {name...} is {name}.
func openAPIPath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// operation is what the test checks of one operation of the document.
type operation struct {
	method, path string
	public       bool // security: []
	responses    map[string]any
	described    bool
}

func documentOperations(t *testing.T, doc []byte) []operation {
	t.Helper()
	var d struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi: got %q, want 3.x", d.OpenAPI)
	}
	var ops []operation
	for path, item := range d.Paths {
		for method, v := range item {
			op, isMap := v.(map[string]any)
			if !slices.Contains(openAPIMethods, method) || !isMap {
				continue // parameters, summary...
			}
			sec, hasSec := op["security"].([]any)
			responses, _ := op["responses"].(map[string]any)
			_, desc := op["description"].(string)
			ops = append(ops, operation{method: strings.ToUpper(method), path: path,
				public: hasSec && len(sec) == 0, responses: responses, described: desc})
		}
	}
	return ops
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes := serverRoutes(t)
	ops := documentOperations(t, doc)

	var missing, extra []string
	for _, r := range routes {
		found := slices.ContainsFunc(ops, func(o operation) bool {
			return o.path == r.path && (r.method == "" || o.method == r.method)
		})
		if !found {
			missing = append(missing, r.String())
		}
	}
	for _, o := range ops {
		served := slices.ContainsFunc(routes, func(r route) bool {
			return o.path == r.path && (r.method == "" || o.method == r.method)
		})
		if !served {
			extra = append(extra, o.method+" "+o.path)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes the server registers but openapi.yaml does not describe:\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("paths in openapi.yaml the server does not serve:\n\t%s", strings.Join(extra, "\n\t"))
	}

	// What each operation says about authentication agrees with how the route is registered.
	for _, o := range ops {
		i := slices.IndexFunc(routes, func(r route) bool {
			return o.path == r.path && (r.method == "" || o.method == r.method)
		})
		if i < 0 {
			continue
		}
		name := o.method + " " + o.path
		if !o.described {
			t.Errorf("%s: no description", name)
		}
		switch r := routes[i]; {
		case r.authed && o.public:
			t.Errorf("%s: security: [] but the route needs an admin token", name)
		case r.authed:
			if o.responses["401"] == nil {
				t.Errorf("%s: no 401 response, but the route needs an admin token", name)
			}
			if r.privileged && o.responses["403"] == nil {
				t.Errorf("%s: no 403 response, but the route needs a privilege", name)
			}
		case !o.public:
			t.Errorf("%s: the route is public; want security: []", name)
		}
	}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20}, nil, nil, metrics.NewRegistry(), zerolog.Nop())
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.yaml without a token: got %d, want 200", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/yaml" {
		t.Errorf("Content-Type: got %q, want application/yaml", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("served document: got %d bytes, want openapi.yaml (%d bytes)", rec.Body.Len(), len(want))
	}
}

func TestOpenAPIServersFollowPublicURL(t *testing.T) {
	t.Parallel()
	file, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := openapi3.NewLoader().LoadFromData(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ publicURL, want string }{
		{"https://onboarding.example.com/", "https://onboarding.example.com"},
		{"http://10.0.0.5:8080/multiline", "http://10.0.0.5:8080/multiline"},
		{"https://x.example/#: odd", "https://x.example/#: odd"},
	} {
		api := httpapi.New(httpapi.Config{MaxUploadBytes: 1 << 20, PublicURL: tc.publicURL}, nil, nil, metrics.NewRegistry(), zerolog.Nop())
		rec := httptest.NewRecorder()
		api.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
		doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("PUBLIC_URL %q: served document does not load: %v", tc.publicURL, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Errorf("PUBLIC_URL %q: served document is not valid: %v", tc.publicURL, err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != tc.want {
			t.Errorf("PUBLIC_URL %q: got servers %+v, want one at %q", tc.publicURL, doc.Servers, tc.want)
		}
		if doc.Paths.Len() != want.Paths.Len() || len(doc.Components.Schemas) != len(want.Components.Schemas) || doc.Info.Title != want.Info.Title {
			t.Errorf("PUBLIC_URL %q: got %d paths and %d schemas, want openapi.yaml's %d and %d",
				tc.publicURL, doc.Paths.Len(), len(doc.Components.Schemas), want.Paths.Len(), len(want.Components.Schemas))
		}
	}
}
