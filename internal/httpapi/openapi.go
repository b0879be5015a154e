package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
)

// openAPIDocument describes every route of routes(); openapi_test.go keeps the two in step.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// openAPI serves the OpenAPI document of the API, its servers entry pointing at PUBLIC_URL.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(s.openAPIDoc)
}

// openAPIForServer returns doc with its top-level servers list replaced by one entry for
// publicURL; doc unchanged when publicURL is empty or doc has no servers list. The rest of
// the document keeps its bytes (comments, order, layout), so only the text is edited rather
// than the YAML decoded and encoded again.
func openAPIForServer(doc []byte, publicURL string) []byte {
	publicURL = strings.TrimRight(strings.TrimSpace(publicURL), "/")
	if publicURL == "" {
		return doc
	}
	start := bytes.Index(doc, []byte("\nservers:\n"))
	if start < 0 {
		return doc
	}
	start++ // the block begins after the newline
	// The block runs to the next line that starts a top-level key.
	end := len(doc)
	for i := start + len("servers:\n"); i < len(doc); {
		next := bytes.IndexByte(doc[i:], '\n')
		line := doc[i:]
		if next >= 0 {
			line = doc[i : i+next]
		}
		if len(line) > 0 && line[0] != ' ' && line[0] != '-' && line[0] != '#' {
			end = i
			break
		}
		if next < 0 {
			break
		}
		i += next + 1
	}
	// A JSON string is a YAML double-quoted scalar: whatever PUBLIC_URL holds stays one value.
	url, _ := json.Marshal(publicURL)
	block := "servers:\n  - url: " + string(url) + "\n    description: PUBLIC_URL\n"
	out := make([]byte, 0, len(doc)+len(block))
	out = append(out, doc[:start]...)
	out = append(out, block...)
	return append(out, doc[end:]...)
}
