package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// DirectoryEntry is an agency of the directory as GET /api/v1/directory
// shows it.
type DirectoryEntry struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Kind says what the agency is (ministry, province, department,
	// commune …), as the administrator registered it.
	Kind string `json:"kind,omitempty"`
	// OldCodes are the codes the agency had before (the 2025 reform).
	OldCodes []string `json:"oldCodes,omitempty"`
	// Gateway is the id of the gateway hosting the agency.
	Gateway string `json:"gateway"`
	// Hosted marks the agencies this gateway hosts.
	Hosted bool `json:"hosted"`
	// Certificates are the PEM certificates registered to sign for the
	// agency; only with ?certificates=1 (see
	// gateway.Gateway.AgencyCertificates).
	Certificates []string `json:"certificates,omitempty"`
	// CertificatesUnavailable, only with ?certificates=1, says that the
	// gateway could not read back the certificates of the entry it holds
	// (its record is being written to the gateway's store: ask again a
	// second later): Certificates is then empty, which does not mean
	// that none are registered.
	CertificatesUnavailable bool      `json:"certificatesUnavailable,omitempty"`
	UpdatedAt               time.Time `json:"updatedAt"`
}

// Directory is the answer of GET /api/v1/directory: a page.
type Directory struct {
	Agencies []DirectoryEntry `json:"agencies"`
	// Next is the cursor of the next page, empty on the last one.
	Next string `json:"next,omitempty"`
}

// Pages of the directory: the national one is 111,000 agencies.
const (
	directoryPage    = 500
	maxDirectoryPage = 5000
)

// getDirectory answers a page of the directory, sorted by code tokens:
// q (part of a code, name or old code, letter case and Vietnamese marks
// ignored), under (an agency and those under it), level (1 to 4), cursor
// (the next of a page), limit (default 500, at most 5,000), certificates.
func (h *handler) getDirectory(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	withCerts := false
	switch c := v.Get("certificates"); c {
	case "", "0", "false":
	case "1", "true":
		withCerts = true
	default:
		jsonBadRequest(w, badParameter("certificates", "certificates phải là 1 hoặc 0", "certificates must be 1 or 0"))
		return
	}
	q := gateway.DirectoryQuery{Text: v.Get("q"), After: v.Get("cursor"), Limit: directoryPage}
	if s := v.Get("under"); s != "" {
		if _, err := envelope.ParseAgencyCode(s, envelope.CodeAny); err != nil {
			jsonBadRequest(w, badParameter("under", "under phải là mã định danh của một cơ quan", "under must be an agency code"))
			return
		}
		q.Under = s
	}
	if s := v.Get("level"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 4 {
			jsonBadRequest(w, badParameter("level", "level phải là 1, 2, 3 hoặc 4", "level must be 1, 2, 3 or 4"))
			return
		}
		q.Level = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDirectoryPage {
			jsonBadRequest(w, badParameter("limit", "limit phải là số từ 1 đến 5000", "limit must be a number from 1 to 5000"))
			return
		}
		q.Limit = n
	}
	page := h.gw.SearchAgencies(q)
	var certs []gateway.RegisteredCertificates
	if withCerts {
		// The directory keeps fingerprints only: the certificates are
		// read back from the records kept, a page at a time.
		codes := make([]string, len(page.Agencies))
		for i, a := range page.Agencies {
			codes[i] = a.Code
		}
		var err error
		if certs, err = h.gw.AgencyCertificates(r.Context(), codes); err != nil {
			jsonServerError(w, r, h.log, err)
			return
		}
	}
	out := Directory{Agencies: make([]DirectoryEntry, 0, len(page.Agencies)), Next: page.Next}
	for i, a := range page.Agencies {
		_, hosted := h.gw.Hosted(a.Code)
		e := DirectoryEntry{
			Code: a.Code, Name: a.Name, Parent: a.Parent, Kind: a.Kind, OldCodes: a.OldCodes, Gateway: a.Gateway,
			Hosted: hosted, UpdatedAt: a.UpdatedAt,
		}
		if withCerts {
			e.Certificates, e.CertificatesUnavailable = certs[i].PEM, certs[i].Unavailable
		}
		out.Agencies = append(out.Agencies, e)
	}
	jsonOK(w, r, out)
}
