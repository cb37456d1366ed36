package vxp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/vxp/client"
)

// The directory's answers carry every agency in one list (the SDK has no
// paging: the real axis answered 111,000 agencies at once). They are
// written agency by agency, not built in memory first.

// getAgenciesList answers the whole directory: id and code are the
// agency's code, pid its parent's, oldCode its first former code.
func (h *Handler) getAgenciesList(w http.ResponseWriter, r *http.Request, _ *System, _ params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	h.directoryAnswer(w, r, "getAgenciesList", func(all []gateway.Agency) ([]gateway.Agency, func(a gateway.Agency) any) {
		return all, agencyItemOf
	})
	return CodeOK
}

// agencyItemOf is an agency as getAgenciesList writes it.
func agencyItemOf(a gateway.Agency) any {
	item := client.Agency{ID: a.Code, PID: a.Parent, Code: a.Code, Name: a.Name}
	if len(a.OldCodes) > 0 {
		item.OldCode = a.OldCodes[0]
	}
	return item
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
	h.directoryAnswer(w, r, "getAgenciesListQD20:"+strconv.Itoa(level), func(all []gateway.Agency) ([]gateway.Agency, func(a gateway.Agency) any) {
		if level > 0 {
			kept := all[:0:0]
			for _, a := range all {
				if levelOf(a.Code) == level {
					kept = append(kept, a)
				}
			}
			all = kept
		}
		return all, func(a gateway.Agency) any {
			return client.AgencyQD20{ID: a.Code, Code: a.Code, Name: a.Name, Code102: a.Code}
		}
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
	h.directoryAnswer(w, r, "getSynchronizeUnit", func(all []gateway.Agency) ([]gateway.Agency, func(a gateway.Agency) any) {
		return all, func(a gateway.Agency) any {
			item := client.Unit{ID: a.Code, PID: a.Parent, Code: a.Code, Name: a.Name, Version: a.Version,
				CenterCode: a.Gateway, IsAgency: true}
			if !a.UpdatedAt.IsZero() {
				item.ModifyDate = showTime(a.UpdatedAt)
			}
			return item
		}
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

// directoryAnswer answers a directory operation from its cached answer,
// made again only when the directory changed: the answer is the whole
// directory (17 MB at 111,000 agencies), asked for by every DMS. It is
// kept gzipped (the SDK's HTTP client asks for gzip) and unzipped on the
// way for a client that does not. select picks the agencies and how each
// is written.
func (h *Handler) directoryAnswer(w http.ResponseWriter, r *http.Request, key string, pick func([]gateway.Agency) ([]gateway.Agency, func(gateway.Agency) any)) {
	gz, err := h.cachedDirectory(key, pick)
	if err != nil {
		h.log.Error("vxp: the directory's answer", zap.Error(err))
		writeFail(w, unavailable())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
		w.WriteHeader(http.StatusOK)
		w.Write(gz)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		h.log.Error("vxp: the directory's answer", zap.Error(err))
		writeFail(w, unavailable())
		return
	}
	w.WriteHeader(http.StatusOK)
	io.Copy(w, zr)
}

// cachedAnswer is a directory answer, gzipped, as of the directory's
// version.
type cachedAnswer struct {
	updated time.Time
	gz      []byte
}

func (h *Handler) cachedDirectory(key string, pick func([]gateway.Agency) ([]gateway.Agency, func(gateway.Agency) any)) ([]byte, error) {
	h.dirMu.Lock()
	defer h.dirMu.Unlock()
	updated := h.dir.Updated()
	if c, ok := h.dirCache[key]; ok && c.updated.Equal(updated) && !updated.IsZero() {
		return c.gz, nil
	}
	all, item := pick(h.dir.Agencies())
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	bw := bufio.NewWriterSize(zw, 64<<10)
	var b bytes.Buffer
	b.WriteString(`{"status":"OK","ErrorCode":"0","ErrorDesc":"` + okDesc + `","data":[`)
	for i, a := range all {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, item(a))
		if b.Len() >= 32<<10 {
			bw.Write(b.Bytes())
			b.Reset()
		}
	}
	b.WriteString(`]}`)
	bw.Write(b.Bytes())
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	h.dirCache[key] = cachedAnswer{updated: updated, gz: buf.Bytes()}
	return buf.Bytes(), nil
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
