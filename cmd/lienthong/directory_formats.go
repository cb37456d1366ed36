package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	vxpclient "github.com/lienthong/lienthong/gateway/vxp/client"
)

// The national axis's directory and CSV, in and out: the administrator of
// a hub that starts from the axis's 111,000 agencies imports getAgenciesList
// as it is, and exports for the tools that read it.

// looksLikeAxisList reports whether JSON data is the axis's agency list:
// an array of objects with a code, or the answer {"status", …, "data": […]}.
func looksLikeAxisList(data []byte) bool {
	var probe struct {
		Data json.RawMessage `json:"data"`
	}
	t := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(t, []byte("[")):
		var items []map[string]json.RawMessage
		return json.Unmarshal(t, &items) == nil && (len(items) == 0 || items[0]["code"] != nil)
	case bytes.HasPrefix(t, []byte("{")):
		return json.Unmarshal(t, &probe) == nil && len(probe.Data) > 0
	}
	return false
}

// axisAgency is an agency of the axis's list: pid is the parent's id, which
// the list names by code.
type axisAgency struct {
	ID      idText `json:"id"`
	PID     idText `json:"pid"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Mail    string `json:"mail"`
	OldCode string `json:"oldCode"`
}

// idText is an id of the axis's list: a number or a string (the axis's
// own are numbers; lienthong's export writes codes).
type idText string

func (t *idText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = idText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id is a number or a string: %s", b)
	}
	*t = idText(n.String())
	return nil
}

func readAxisList(path string, data []byte, gw string, skip bool, w io.Writer) (DirectoryFile, error) {
	var items []axisAgency
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("{")) {
		var answer struct {
			Status    string       `json:"status"`
			ErrorCode string       `json:"ErrorCode"`
			ErrorDesc string       `json:"ErrorDesc"`
			Data      []axisAgency `json:"data"`
		}
		if err := json.Unmarshal(t, &answer); err != nil {
			return DirectoryFile{}, withVI(fmt.Errorf("%s: %w", path, err), "Tệp danh sách cơ quan của Trục quốc gia %q không đọc được", path)
		}
		if answer.Status == "FAIL" || answer.ErrorCode != "" && answer.ErrorCode != "0" || answer.Data == nil {
			return DirectoryFile{}, withVI(fmt.Errorf("%s: the axis answered %s %s %q, with no agencies", path, answer.Status, answer.ErrorCode, answer.ErrorDesc),
				"Tệp %q là một câu trả lời lỗi của Trục quốc gia, không có danh sách cơ quan", path)
		}
		items = answer.Data
	} else if err := json.Unmarshal(t, &items); err != nil {
		return DirectoryFile{}, withVI(fmt.Errorf("%s: %w", path, err), "Tệp danh sách cơ quan của Trục quốc gia %q không đọc được", path)
	}
	codeOfID := make(map[string]string, len(items))
	for _, it := range items {
		if it.ID != "" {
			codeOfID[string(it.ID)] = it.Code
		}
	}
	rows := make([]agencyRow, 0, len(items))
	for i, it := range items {
		parent := codeOfID[string(it.PID)]
		if parent == "" && it.PID != "" && it.PID != "0" {
			parent = string(it.PID) // a code rather than an id
		}
		r := agencyRow{where: fmt.Sprintf("%s: item %d", path, i+1), code: it.Code, name: it.Name, parent: parent, gateway: gw}
		if it.OldCode != "" {
			r.oldCodes = []string{it.OldCode}
		}
		rows = append(rows, r)
	}
	return agencyFile(rows, skip, w)
}

func readAgencyCSV(path string, data []byte, gw string, skip bool, w io.Writer) (DirectoryFile, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return DirectoryFile{}, withVI(fmt.Errorf("%s: %w", path, err), "Tệp CSV %q không có dòng tiêu đề", path)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"code", "name"} {
		if _, ok := col[need]; !ok {
			return DirectoryFile{}, withVI(fmt.Errorf("%s: the header has no column %q (it names %s)", path, need, strings.Join(header, ", ")),
				"Tệp CSV %q thiếu cột %q", path, need)
		}
	}
	get := func(rec []string, names ...string) string {
		for _, n := range names {
			if i, ok := col[n]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
		}
		return ""
	}
	var rows []agencyRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return DirectoryFile{}, withVI(fmt.Errorf("%s: %w", path, err), "Tệp CSV %q sai ở dòng %d", path, line)
		}
		row := agencyRow{
			where: fmt.Sprintf("%s:%d", path, line), code: get(rec, "code"), name: get(rec, "name"),
			parent: get(rec, "parent", "pid"), kind: get(rec, "kind"), gateway: get(rec, "gateway"),
		}
		if row.gateway == "" {
			row.gateway = gw
		}
		for _, oc := range strings.FieldsFunc(get(rec, "oldcodes", "oldcode"), func(r rune) bool { return r == ';' || r == ' ' }) {
			row.oldCodes = append(row.oldCodes, oc)
		}
		rows = append(rows, row)
	}
	return agencyFile(rows, skip, w)
}

// agencyRow is an agency read from the axis's list or a CSV file.
type agencyRow struct {
	where                             string
	code, name, parent, kind, gateway string
	oldCodes                          []string
}

// maxListed is how many refused rows an error names.
const maxListed = 10

// agencyFile checks the rows' codes and makes the entries; a row whose
// code, parent or former codes cannot be read is refused (or, with skip,
// left out and named on w).
func agencyFile(rows []agencyRow, skip bool, w io.Writer) (DirectoryFile, error) {
	f := DirectoryFile{OnlyNew: true}
	var bad []string
	for _, r := range rows {
		err := func() error {
			if _, err := envelope.ParseAgencyCode(r.code, envelope.CodeStrict); err != nil {
				return err
			}
			for _, c := range append([]string{r.parent}, r.oldCodes...) {
				if c == "" {
					continue
				}
				if _, err := envelope.ParseAgencyCode(c, envelope.CodeStrict); err != nil {
					return err
				}
			}
			if r.name == "" {
				return errors.New("no name")
			}
			if r.gateway == "" {
				return errors.New(`no gateway: give "-gateway ID" for the agencies the file gives none`)
			}
			return nil
		}()
		if err != nil {
			bad = append(bad, r.where+": "+r.code+": "+err.Error())
			continue
		}
		f.Agencies = append(f.Agencies, DirectoryAgency{Code: r.code, Name: r.name, Parent: r.parent, Kind: r.kind, Gateway: r.gateway, OldCodes: r.oldCodes})
	}
	if len(bad) == 0 {
		return f, nil
	}
	if skip {
		for _, b := range bad {
			fmt.Fprintln(w, "bỏ qua / skipped:", b)
		}
		return f, nil
	}
	shown := bad[:min(len(bad), maxListed)]
	more := ""
	if len(bad) > maxListed {
		more = fmt.Sprintf("\n… and %d more", len(bad)-maxListed)
	}
	return f, withVI(fmt.Errorf("%d entries cannot be read (-skip-invalid leaves them out):\n%s%s", len(bad), strings.Join(shown, "\n"), more),
		"%d mục không đọc được (-skip-invalid để bỏ qua chúng)", len(bad))
}

// exportAgencies writes the agencies of records in format: "axis" (the
// axis's getAgenciesList data, id and code the agency's code, pid its
// parent's) or "csv" (code, name, parent, kind, gateway, oldCodes; UTF-8
// with a BOM, which spreadsheet programs need to read Vietnamese).
func exportAgencies(w io.Writer, format string, records []gateway.DirectoryRecord) error {
	switch format {
	case "axis":
		items := []vxpclient.Agency{}
		for _, r := range records {
			if a := r.Agency; a != nil && !a.Removed {
				item := vxpclient.Agency{ID: a.Code, PID: a.Parent, Code: a.Code, Name: a.Name}
				if len(a.OldCodes) > 0 {
					item.OldCode = a.OldCodes[0]
				}
				items = append(items, item)
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(items)
	case "csv":
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		cw.Write([]string{"code", "name", "parent", "kind", "gateway", "oldCodes"})
		for _, r := range records {
			if a := r.Agency; a != nil && !a.Removed {
				cw.Write([]string{a.Code, a.Name, a.Parent, a.Kind, a.Gateway, strings.Join(a.OldCodes, ";")})
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("unknown format %q", format)
}
