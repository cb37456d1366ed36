package vxp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// The directory's answers carry every agency in one list (the SDK has no
// paging: the real axis answered 111,000 agencies at once). They are
// written agency by agency, not built in memory first.

// agencyItem is an item of getAgenciesList.
type agencyItem struct {
	ID      string `json:"id"`
	PID     string `json:"pid"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Mail    string `json:"mail"`
	OldCode string `json:"oldCode"`
}

// qd20Item is an item of getAgenciesListQD20 (code102 the QCVN 102 code).
type qd20Item struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Mail    string `json:"mail"`
	Code102 string `json:"code102"`
}

// unitItem is an item of getSynchronizeUnit.
type unitItem struct {
	ID         string `json:"id"`
	PID        string `json:"pid"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Mail       string `json:"mail"`
	Version    uint64 `json:"version"`
	CenterCode string `json:"centerCode"`
	Deleted    bool   `json:"deleted"`
	ModifyDate string `json:"modifyDate"`
	IsAgency   bool   `json:"isAgency"`
}

// agencies returns the directory sorted by code.
func (h *Handler) agencies() []gateway.Agency {
	all := h.dir.Agencies()
	sort.Slice(all, func(i, j int) bool { return all[i].Code < all[j].Code })
	return all
}

// getAgenciesList answers the whole directory: id and code are the
// agency's code, pid its parent's, oldCode its first former code.
func (h *Handler) getAgenciesList(w http.ResponseWriter, r *http.Request, _ *System, _ params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	all := h.agencies()
	writeList(w, len(all), func(i int) any {
		a := all[i]
		item := agencyItem{ID: a.Code, PID: a.Parent, Code: a.Code, Name: a.Name}
		if len(a.OldCodes) > 0 {
			item.OldCode = a.OldCodes[0]
		}
		return item
	})
	return CodeOK
}

// getAgenciesListQD20 answers the directory by the levels of Decision
// 20/2020/QĐ-TTg's codes: level 1 the ministries and provinces
// (000.00.00.Xnn), 2 their units, 3 and 4 below; no level is all.
func (h *Handler) getAgenciesListQD20(w http.ResponseWriter, r *http.Request, _ *System, p params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	level := 0
	if v, ok, _ := p.get("level"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 4 {
			f := badParameter("level", "phải là 1, 2, 3 hoặc 4", "must be 1, 2, 3 or 4")
			writeFail(w, f)
			return f.Code
		}
		level = n
	}
	all := h.agencies()
	if level > 0 {
		kept := all[:0:0]
		for _, a := range all {
			if levelOf(a.Code) == level {
				kept = append(kept, a)
			}
		}
		all = kept
	}
	writeList(w, len(all), func(i int) any {
		a := all[i]
		return qd20Item{ID: a.Code, Code: a.Code, Name: a.Name, Code102: a.Code}
	})
	return CodeOK
}

// levelOf is the level of a code: 1 for 000.00.00.H41, 2 for 000.00.12.H41,
// 3 for 000.01.12.H41, 4 for 001.01.12.H41; 0 if it is not a code.
func levelOf(code string) int {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return 0
	}
	parts := strings.Split(c.String(), ".")
	if len(parts) != 4 {
		return 0
	}
	switch {
	case parts[0] != "000":
		return 4
	case parts[1] != "00":
		return 3
	case parts[2] != "00":
		return 2
	}
	return 1
}

// getSynchronizeUnit answers the directory with each entry's version (the
// administrator's), the gateway that hosts it (centerCode) and when it
// changed.
func (h *Handler) getSynchronizeUnit(w http.ResponseWriter, r *http.Request, _ *System, _ params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	all := h.agencies()
	writeList(w, len(all), func(i int) any {
		a := all[i]
		item := unitItem{ID: a.Code, PID: a.Parent, Code: a.Code, Name: a.Name, Version: a.Version,
			CenterCode: a.Gateway, IsAgency: true}
		if !a.UpdatedAt.IsZero() {
			item.ModifyDate = showTime(a.UpdatedAt)
		}
		return item
	})
	return CodeOK
}

// registerAgency and deleteAgency are refused: in lienthong the directory
// is what its administrator signed (lienthong directory put, remove), and
// no gateway, nor a DMS through it, writes it.
func (h *Handler) registerAgency(w http.ResponseWriter, r *http.Request, sys *System, _ params) string {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var req struct {
		Code string `json:"code"`
	}
	json.Unmarshal(bytes.TrimSpace(body), &req)
	f := fail(CodeNotPermitted,
		"Danh bạ liên thông do quản trị trục ký và cập nhật (lienthong directory put); đề nghị đăng ký đơn vị %q với quản trị trục",
		"the directory is signed and kept by the axis administrator (lienthong directory put); ask them to register %q", req.Code)
	writeFail(w, f)
	return f.Code
}

func (h *Handler) deleteAgency(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	code, _, _ := p.get("AgencyCode")
	f := fail(CodeNotPermitted,
		"Danh bạ liên thông do quản trị trục ký và cập nhật (lienthong directory remove); đề nghị quản trị trục gỡ đơn vị %q",
		"the directory is signed and kept by the axis administrator (lienthong directory remove); ask them to remove %q", code)
	writeFail(w, f)
	return f.Code
}

// writeList writes the success envelope with data, the n items item gives,
// each encoded as it is written.
func writeList(w http.ResponseWriter, n int, item func(i int) any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var b bytes.Buffer
	b.WriteString(`{"status":"OK","ErrorCode":"0","ErrorDesc":"` + okDesc + `","data":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, item(i))
		if b.Len() >= 32<<10 {
			if _, err := w.Write(b.Bytes()); err != nil {
				return // the client went away
			}
			b.Reset()
		}
	}
	b.WriteString(`]}`)
	w.Write(b.Bytes())
}
