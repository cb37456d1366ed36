package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// Packets as real systems produce them (issue 15), made from an official
// sample by hand: inspect and validate -profile receive must take them and
// say what is odd.

// editedSample writes the sample edoc_new.edxml with edits (each replacing
// the first occurrence of its old text) to a temporary file.
func editedSample(t *testing.T, edits ...[2]string) string {
	t.Helper()
	s := string(readFile(t, sample("edoc_new.edxml")))
	for _, e := range edits {
		if !strings.Contains(s, e[0]) {
			t.Fatalf("no %q in the sample", e[0])
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	path := filepath.Join(t.TempDir(), "p.edxml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFirstContact_HubTraceHeaders(t *testing.T) {
	path := editedSample(t, [2]string{"</edXML:TraceHeader>", "</edXML:TraceHeader>" +
		"<edXML:TraceHeader><edXML:Timestamp>2018/09/28 00:00:05</edXML:Timestamp></edXML:TraceHeader>" +
		"<edXML:TraceHeader><edXML:OrganId>null</edXML:OrganId><edXML:Timestamp>2018/09/28 00:00:06</edXML:Timestamp></edXML:TraceHeader>"})

	r := run(t, nil, "edxml", "validate", "-profile", "receive", path)
	r.wantCode(t, 0)
	for _, s := range []string{
		"cảnh báo  TraceHeaderList/TraceHeader[2]/OrganId: TraceHeader không có OrganId",
		"cảnh báo  TraceHeaderList/TraceHeader[3]/OrganId: OrganId của TraceHeader là chữ \"null\"",
		"hợp lệ (profile receive)",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("validate -profile receive does not say %q:\n%s", s, r.stdout)
		}
	}
	r = run(t, nil, "edxml", "validate", "-profile", "send", path)
	r.wantCode(t, exitFailed)
	if !strings.Contains(r.stdout, "lỗi       TraceHeaderList/TraceHeader[2]/OrganId: Thiếu OrganId") {
		t.Errorf("validate -profile send does not refuse the header without OrganId:\n%s", r.stdout)
	}

	r = run(t, nil, "edxml", "inspect", path)
	r.wantCode(t, 0)
	want := []string{"000.00.00.G22 lúc 00:00:00 28/09/2018", "(không có OrganId) lúc 00:00:05 28/09/2018", "null lúc 00:00:06 28/09/2018"}
	if got := summaryField(r.stdout, "Hành trình"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Hành trình %q, want %q\n%s", got, want, r.stdout)
	}
}

func TestFirstContact_OneAgencyTwoCodes(t *testing.T) {
	path := editedSample(t, [2]string{"</edXML:To>", "</edXML:To>" +
		"<edXML:To><edXML:OrganId>G12</edXML:OrganId><edXML:OrganName>Bộ Tài chính</edXML:OrganName></edXML:To>" +
		"<edXML:To><edXML:OrganId>000.00.00.G12</edXML:OrganId><edXML:OrganName>Bộ tài chính (Mã cũ)</edXML:OrganName></edXML:To>"})
	r := run(t, nil, "edxml", "validate", "-profile", "receive", "-json", path)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, `"code": "duplicate-recipient"`) || !strings.Contains(r.stdout, `"valid": true`) {
		t.Errorf("validate -profile receive -json:\n%s", r.stdout)
	}
	r = run(t, nil, "edxml", "validate", "-profile", "send", path)
	r.wantCode(t, exitFailed)
	if !strings.Contains(r.stdout, "trùng với To[") {
		t.Errorf("validate -profile send does not refuse the repeat:\n%s", r.stdout)
	}
}

func TestFirstContact_BrokenZip(t *testing.T) {
	p, _, err := envelope.Parse(readFile(t, sample("edoc_new.edxml")))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("cong-van.pdf")
	w.Write([]byte("%PDF-1.4\n%%EOF\n"))
	zw.Close()
	p.Edoc.Attachments[0].Data = buf.Bytes()[:buf.Len()-10] // the end record cut short
	b, err := envelope.Encoder{Lenient: true}.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.edxml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "edxml", "inspect", path)
	r.wantCode(t, 0)
	if got := summaryField(r.stdout, "Tệp đính kèm"); len(got) != 1 || !strings.Contains(got[0], "tệp nén không mở được") || strings.Contains(got[0], "bên trong") {
		t.Errorf("Tệp đính kèm %q: the broken archive is not said to be broken\n%s", got, r.stdout)
	}
}

func TestFirstContact_Direction(t *testing.T) {
	// The national axis's samples carry OtherInfo/Direction: a known
	// element, not an extension.
	r := run(t, nil, "edxml", "inspect", sample("edoc_new.edxml"))
	r.wantCode(t, 0)
	if strings.Contains(r.stdout, "Direction") || summaryField(r.stdout, "Phần tử ngoài quy chuẩn") != nil {
		t.Errorf("inspect reports Direction as unknown:\n%s", r.stdout)
	}
	r = run(t, nil, "edxml", "inspect", "-json", sample("edoc_new.edxml"))
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, `"direction": "false"`) {
		t.Errorf("inspect -json has no direction:\n%s", r.stdout)
	}
}
