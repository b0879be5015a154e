package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of routes(); openapi_test.go keeps the two in step.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// openAPI serves the OpenAPI document of the API.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPIDocument)
}
