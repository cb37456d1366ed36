package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/envelope"
)

// packetDescription is what "edxml new" reads: the packet in the JSON shape
// of [envelope.Packet], plus files to attach.
type packetDescription struct {
	Edoc   *envelope.Edoc   `json:"edoc"`
	Status *envelope.Status `json:"status"`
	Files  []attachmentFile `json:"files"`
}

// attachmentFile is a file to attach. Name, ContentType and ContentID
// default to the file's name, its sniffed type and "cid:<n>".
type attachmentFile struct {
	File        string `json:"file"`
	Name        string `json:"attachmentName"`
	Description string `json:"description"`
	ContentType string `json:"contentType"`
	ContentID   string `json:"contentId"`
	// Zip wraps the file in a ZIP archive, as many document systems do;
	// the attachment keeps the inner file's name.
	Zip bool `json:"zip"`
}

const newExample = `
Builds a packet from a description in YAML or JSON (the JSON shape of the
packet, as "lienthong edxml inspect -json" prints it, plus files to attach),
fills what can be derived, validates it strictly and writes it.

Derived when left out: the DocumentId (sender, promulgation date,
number/notation), a TraceHeader for the sender, a Bussiness of type 0 (new,
electronic only), the manifest, a status's Timestamp. Quote numbers that have
leading zeros.

Example description (paths are relative to the description file):

  edoc:
    header:
      from: {organId: 000.00.00.G22, organName: Văn phòng Chính phủ}
      to:
        - {organId: 000.00.00.H41, organName: UBND tỉnh Nghệ An}
      code: {codeNumber: "7816", codeNotation: VPCP-TTĐT}
      promulgationInfo: {place: Hà Nội, promulgationDate: 2025/11/20}
      documentType: {type: 2, typeDetail: 18, typeName: Công văn}
      subject: V/v kết nối, liên thông phần mềm quản lý văn bản
      signerInfo: {competence: KT. BỘ TRƯỞNG, position: Thứ trưởng, fullName: Nguyễn Văn A}
      otherInfo: {priority: 0}
  files:
    - file: congvan.pdf
`

func runEdxmlNew(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml new", "edxml new [-o FILE] [-time TIMESTAMP] DESCRIPTION", newExample)
	out := fs.String("o", "-", "write the packet to this `file` (- for standard output)")
	at := fs.String("time", "", "use this moment, written yyyy/MM/dd HH:mm:ss (UTC+7), instead of now for derived timestamps")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml new")
	if err != nil {
		return err
	}
	now := time.Now()
	if *at != "" {
		if now, err = envelope.Timestamp(*at).Time(); err != nil {
			return usageError{msg: "edxml new: -time: " + err.Error(),
				vi: fmt.Sprintf("Thời điểm -time %q không dùng được; viết yyyy/MM/dd HH:mm:ss (giờ Việt Nam).", *at)}
		}
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	desc, err := decodeDescription(raw)
	if err != nil {
		return withVI(fmt.Errorf("%s: %w", name, err), "Bản mô tả gói tin trong tệp %q không đúng", name)
	}
	pkt, err := desc.packet(filepath.Dir(name), now)
	if err != nil {
		return withVI(fmt.Errorf("%s: %w", name, err), "Không dựng được gói tin từ bản mô tả %q", name)
	}
	b, err := envelope.Encode(pkt)
	if errs, ok := envelope.IsValidationError(err); ok {
		for _, e := range errs {
			fmt.Fprintf(m.Stderr, "lỗi  %s: %s (%s)\n", e.Path, e.MessageVI, e.MessageEN)
		}
		return exitError{code: exitFailed, msg: fmt.Sprintf("%s: the packet is not valid: %d errors", name, len(errs)),
			vi: fmt.Sprintf("Gói tin dựng từ %q không hợp lệ: %d lỗi, kể ở trên; không ghi gói tin.", name, len(errs))}
	}
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = m.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// decodeDescription reads YAML or JSON (YAML is a superset of JSON) into a
// description. Scalars are turned into strings first, because the packet's
// values are strings on the wire while people write priority: 0.
func decodeDescription(raw []byte) (*packetDescription, error) {
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	j, err := json.Marshal(stringify(v))
	if err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var d packetDescription
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}
	if (d.Edoc == nil) == (d.Status == nil) {
		return nil, fmt.Errorf("description: give exactly one of edoc and status")
	}
	if d.Status != nil && len(d.Files) > 0 {
		return nil, fmt.Errorf("description: a status packet has no attachments")
	}
	return &d, nil
}

// stringify turns numbers into strings, keeping booleans for the few
// boolean settings of a description.
func stringify(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = stringify(x)
		}
	case []any:
		for i, x := range t {
			t[i] = stringify(x)
		}
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return v
}

// packet fills what can be derived and loads the files.
func (d *packetDescription) packet(dir string, now time.Time) (*envelope.Packet, error) {
	if s := d.Status; s != nil {
		if s.StatusCode != "" {
			code, err := envelope.ParseStatusCode(string(s.StatusCode))
			if err != nil {
				return nil, err
			}
			s.StatusCode = code
		}
		if s.Timestamp == "" {
			s.Timestamp = envelope.TimestampOf(now)
		}
		return &envelope.Packet{Status: s}, nil
	}
	e := d.Edoc
	h := &e.Header
	if h.DocumentID == "" {
		h.DocumentID = envelope.MakeDocumentID(h.From.OrganID, h.Promulgation.Date, h.Code)
	}
	if len(e.Trace) == 0 {
		e.Trace = []envelope.TraceHeader{{OrganID: h.From.OrganID, Timestamp: envelope.TimestampOf(now)}}
	}
	if e.Bussiness == nil {
		e.Bussiness = &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"}
	}
	if len(e.Manifest) == 0 {
		// Inline attachments without a manifest: number and list them.
		inline := e.Attachments
		e.Attachments = nil
		for _, a := range inline {
			e.AddAttachment(a)
		}
	}
	for _, f := range d.Files {
		a, err := f.attachment(dir, now)
		if err != nil {
			return nil, err
		}
		e.AddAttachment(a)
	}
	return &envelope.Packet{Edoc: e}, nil
}

func (f attachmentFile) attachment(dir string, now time.Time) (envelope.Attachment, error) {
	if f.File == "" {
		return envelope.Attachment{}, fmt.Errorf("files: an entry has no file")
	}
	path := f.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return envelope.Attachment{}, fmt.Errorf("files: %w", err)
	}
	a := envelope.Attachment{ContentID: f.ContentID, Name: f.Name, Description: f.Description, ContentType: f.ContentType, Data: data}
	if a.Name == "" {
		a.Name = filepath.Base(path)
	}
	if !f.Zip {
		if a.ContentType == "" {
			a.ContentType = envelope.ContentTypeOf(a.Name, data)
		}
		return a, nil
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name, Method: zip.Deflate, Modified: now})
	if err != nil {
		return a, fmt.Errorf("files: zip %s: %w", path, err)
	}
	if _, err := w.Write(data); err != nil {
		return a, fmt.Errorf("files: zip %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return a, fmt.Errorf("files: zip %s: %w", path, err)
	}
	a.Data = buf.Bytes()
	if f.ContentType == "" {
		a.ContentType = "application/zip"
	}
	return a, nil
}
