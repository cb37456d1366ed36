package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of the API, written by hand.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of the API (JSON), as GET
// /api/v1/openapi.json serves it.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// getOpenAPI serves the description; it needs no key.
func (h *handler) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(openAPI)
}
