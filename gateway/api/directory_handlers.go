package api

import (
	"net/http"
	"time"
)

// DirectoryEntry is an agency of the directory as GET /api/v1/directory
// shows it.
type DirectoryEntry struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Gateway is the id of the gateway hosting the agency.
	Gateway string `json:"gateway"`
	// Hosted marks the agencies this gateway hosts.
	Hosted bool `json:"hosted"`
	// Certificates are the PEM certificates registered to sign for the
	// agency; only with ?certificates=1.
	Certificates []string  `json:"certificates,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Directory is the answer of GET /api/v1/directory.
type Directory struct {
	Agencies []DirectoryEntry `json:"agencies"`
}

// getDirectory answers the directory: every agency on the axis, sorted by
// code tokens.
func (h *handler) getDirectory(w http.ResponseWriter, r *http.Request) {
	withCerts := false
	switch v := r.URL.Query().Get("certificates"); v {
	case "", "0", "false":
	case "1", "true":
		withCerts = true
	default:
		jsonBadRequest(w, badParameter("certificates", "certificates phải là 1 hoặc 0", "certificates must be 1 or 0"))
		return
	}
	agencies := h.gw.Directory().Agencies()
	out := Directory{Agencies: make([]DirectoryEntry, 0, len(agencies))}
	for _, a := range agencies {
		_, hosted := h.gw.Hosted(a.Code)
		e := DirectoryEntry{
			Code: a.Code, Name: a.Name, Parent: a.Parent, Gateway: a.Gateway,
			Hosted: hosted, UpdatedAt: a.UpdatedAt,
		}
		if withCerts {
			e.Certificates = a.Certificates
		}
		out.Agencies = append(out.Agencies, e)
	}
	jsonOK(w, r, out)
}
