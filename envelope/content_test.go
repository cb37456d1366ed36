package envelope

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The summary of an attachment's text (summarize, used by FromTree for
// large ones) against the same answers computed on the decoded bytes, as
// for any attachment whose Data is set.

// sameSummary checks that summarize(text, window) tells what decoding
// text whole does: the same error, or the same size, head, ZIP, signed PDF
// and ZIP error, and a reader of the same bytes.
func sameSummary(t *testing.T, text string, window int) {
	t.Helper()
	data, wantErr := decodeBase64(text)
	e, err := summarize(text, window)
	if wantErr != nil || err != nil {
		if wantErr == nil || err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("%s, window %d: error %v, want %v", describe(text), window, err, wantErr)
		}
		return
	}
	whole := &Attachment{Name: "tệp", Data: data}
	lazy := &Attachment{Name: "tệp", encoded: e}
	if got, want := lazy.Size(), whole.Size(); got != want {
		t.Fatalf("%s, window %d: size %d, want %d", describe(text), window, got, want)
	}
	if !bytes.Equal(lazy.Head(), whole.Head()) {
		t.Fatalf("%s, window %d: head %.40q, want %.40q", describe(text), window, lazy.Head(), whole.Head())
	}
	if got, want := lazy.IsZip(), whole.IsZip(); got != want {
		t.Fatalf("%s, window %d: IsZip %t, want %t", describe(text), window, got, want)
	}
	if got, want := lazy.SignedPDF(), whole.SignedPDF(); got != want {
		t.Fatalf("%s, window %d: SignedPDF %t, want %t", describe(text), window, got, want)
	}
	if got, want := errText(lazy.ZipError()), errText(whole.ZipError()); got != want {
		t.Fatalf("%s, window %d: ZipError %s, want %s", describe(text), window, got, want)
	}
	if whole.IsZip() {
		const limit = 1 << 20 // what a bomb is refused at
		gi, gerr := lazy.Inner(limit)
		wi, werr := whole.Inner(limit)
		if errText(gerr) != errText(werr) || (gi == nil) != (wi == nil) ||
			gi != nil && (gi.Name != wi.Name || gi.ContentType != wi.ContentType || !bytes.Equal(gi.Data, wi.Data)) {
			t.Fatalf("%s, window %d: Inner %v, want %v", describe(text), window, gerr, werr)
		}
	}
	got, err := lazy.Content()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s, window %d: Content %d bytes, %v; want %d bytes", describe(text), window, len(got), err, len(data))
	}
	sameReads(t, lazy, data)
}

// sameReads reads the attachment at offsets that go forwards, backwards,
// across marks and past the end, and as a stream.
func sameReads(t *testing.T, a *Attachment, data []byte) {
	t.Helper()
	r := a.Open()
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("ReadAll: %d bytes, %v; want %d bytes", len(all), err, len(data))
	}
	n := len(data)
	offsets := []int{0, 1, n / 2, n - 1, n, n + 1, markEvery - 1, markEvery, markEvery + 5, 3 * markEvery / 2, 7, 0}
	for _, off := range offsets {
		if off < 0 {
			continue
		}
		for _, size := range []int{1, 5, 4096, decodeWindow + 7} {
			p := make([]byte, size)
			got, err := r.ReadAt(p, int64(off))
			want := 0
			if off < n {
				want = min(size, n-off)
			}
			if got != want || (got < size) != (err == io.EOF) || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d bytes, %d) of %d: %d, %v", size, off, n, got, err)
			}
			if got > 0 && !bytes.Equal(p[:got], data[off:off+got]) {
				t.Fatalf("ReadAt(%d bytes, %d) of %d: other bytes", size, off, n)
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func describe(text string) string {
	if len(text) > 60 {
		return strings.ReplaceAll(text[:60], "\n", `\n`) + "…"
	}
	return strings.ReplaceAll(text, "\n", `\n`)
}

// layouts are the ways senders write base64: as Go writes it, unpadded,
// wrapped in lines (MIME's 76 with CRLF, PEM's 64 with LF), indented as
// in a pretty-printed packet, with padding or spaces to spare.
var layouts = []struct {
	name   string
	layout func(s string) string
}{
	{"Std", func(s string) string { return s }},
	{"Raw", func(s string) string { return strings.TrimRight(s, "=") }},
	{"CRLF76", func(s string) string { return wrap(s, 76, "\r\n") }},
	{"LF64", func(s string) string { return wrap(s, 64, "\n") }},
	{"Indented", func(s string) string { return wrap(s, 72, "\n        ") }},
	{"Tabs", func(s string) string { return wrap(s, 5, "\t") }},
	{"RawWrapped", func(s string) string { return wrap(strings.TrimRight(s, "="), 76, "\r\n") }},
	{"MorePadding", func(s string) string { return s + "==" }},
	{"SpacedPadding", func(s string) string {
		t := strings.TrimRight(s, "=")
		return t + strings.Repeat(" =\n", len(s)-len(t))
	}},
	{"TrailingSpace", func(s string) string { return wrap(s, 76, " \r\n") + " \n" }},
}

func wrap(s string, width int, sep string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width])
		b.WriteString(sep)
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

// windows are sizes of the scratch buffer: tiny ones put every keyword
// across an edge somewhere, and the real one.
var windows = []int{3, 4, 7, 8, 13, 64, 1000, decodeWindow}

// contents are the attachments the differential test decodes.
func contents(t *testing.T) map[string][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(20, 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	signed := testPDF(testSigObject(" /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached"))
	out := map[string][]byte{
		"Empty": {}, "1": random(1), "2": random(2), "3": random(3), "4": random(4), "5": random(5),
		"1028": random(1028), "1029": random(1029), "1030": random(1030),
		"Marks": random(3*markEvery + 11), // several marks
		"Text":  []byte(strings.Repeat("Công văn số 5000/VPCP-LON. ", 400)),

		"PDF/Signed":            signed,
		"PDF/SignedCompact":     testPDF(testSigObject("/Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached")),
		"PDF/SubFilterOnly":     testPDF(testSigObject(" /SubFilter /adbe.pkcs7.sha1")),
		"PDF/TypeSigCRLF":       testPDF(testSigObject("\r\n/Type\r\n/Sig")),
		"PDF/AfterJunk":         append(bytes.Repeat([]byte{'x'}, 1024), signed...),
		"PDF/JunkTooLong":       append(bytes.Repeat([]byte{'x'}, 1025), signed...),
		"PDF/Unterminated":      signed[:bytes.Index(signed, []byte("endobj\ntrailer"))],
		"PDF/Unsigned":          testPDF(),
		"PDF/ByteRangeAlone":    testPDF("4 0 obj\n<< /ByteRange [0 1 2 3] >>\nendobj\n"),
		"PDF/DocTimeStamp":      testPDF(testSigObject(" /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161")),
		"PDF/DocTimeStampLater": testPDF(testSigObject(" /Type /Sig") + "6 0 obj\n<< /ByteRange [0 1 2 3] /Type\n\n/DocTimeStamp>>endobj"),
		"PDF/LongerNames":       testPDF(testSigObject(" /Type /SigRef /SubFilter /adbe.pkcs7.detachedX /Filter /Adobe.PPKLiteY")),
		"PDF/TypeXSig":          testPDF(testSigObject(" /TypeX /Sig")),
		"PDF/TypeTypeSig":       testPDF(testSigObject(" /Type /Type /Sig")),
		"PDF/SigAtEnd":          []byte("%PDF-1.7\n1 0 obj << /ByteRange [0 1 2 3] /Type /Sig"),
		"PDF/HandlerAtEnd":      []byte("%PDF-1.7\n1 0 obj << /ByteRange [0 1 2 3] /Filter /Adobe.PPKLite"),
		"PDF/ByteRangendobj":    []byte("%PDF-1.7\n1 0 obj << /Type /Sig /ByteRangendobj 2 0 obj /ByteRange /Sig endobj"),
		"PDF/ByteRangendobjSig": []byte("%PDF-1.7\n1 0 obj /ByteRangendobj /Type /Sig endobj"),
		"PDF/ObjInsideName":     []byte("%PDF-1.7\n1 0 obj << /Type /Sig >> 2 0 obj/ByteRange /Filter/Adobe.PPKMS endobj"),
		"PDF/ObjAfterRange":     []byte("%PDF-1.7\n/Type /Sig obj /ByteRange [1] endobj obj /ByteRange obj /Type /Sig endobj"),
		"PDF/SigBeforeObj":      []byte("%PDF-1.7\n/Type /Sig /ByteRange endobj /ByteRange endobj"),
		"PDF/SigOutsideObj":     []byte("%PDF-1.7\n/Type /Sig 1 0 obj /ByteRange [0 1 2 3] endobj"),
		"PDF/SigEndobj":         []byte("%PDF-1.7\n1 0 obj << /ByteRange [0] /Type /Sigendobj"),
		"PDF/HandlerEndobj":     []byte("%PDF-1.7\n1 0 obj << /ByteRange [0] /Filter /Adobe.PPKLiteendobj"),
		"PDF/LongWhiteSpace":    testPDF("4 0 obj << /ByteRange [0 1 2 3] /Type" + strings.Repeat(" \r\n\t\f\x00", 20000) + "/Sig >> endobj\n"),
		"PDF/LongObject":        testPDF("4 0 obj << /ByteRange [0 1 2 3] " + strings.Repeat("/K (v) ", 30000) + "/SubFilter /ETSI.CAdES.detached>> endobj\n"),
		"PDF/ManyRanges": testPDF(strings.Repeat("4 0 obj\n<< /ByteRange [0 1 2 3] /K (v) >>\nendobj\n", 2000) +
			testSigObject(" /Type /Sig")),
		"PDF/Binary": append(append([]byte("%PDF-1.7\n"), random(200000)...), testSigObject(" /Type /Sig")...),
	}
	// The head (headSize bytes) is scanned in one piece: the same PDFs
	// with their objects after it are scanned a window at a time.
	for name, data := range out {
		if strings.HasPrefix(name, "PDF/") && !strings.Contains(name, "Junk") {
			out[name+"/AfterHead"] = afterHead(data)
		}
	}
	out["ZIP/Stored"] = testZip(t, signed, zip.Store)
	out["ZIP/Deflated"] = testZip(t, random(100000), zip.Deflate)
	out["ZIP/Bomb"] = testZip(t, make([]byte, 3<<20), zip.Deflate) // over the limit sameSummary gives Inner
	z := out["ZIP/Deflated"]
	out["ZIP/Truncated"] = z[:len(z)-10]
	out["ZIP/NoDirectory"] = z[:len(z)/2]
	bad := bytes.Clone(z)
	bad[len(bad)-6] ^= 0xff // the directory's offset
	out["ZIP/BadOffset"] = bad
	out["ZIP/Empty"] = []byte("PK\x05\x06" + strings.Repeat("\x00", 18))
	out["ZIP/HeaderOnly"] = []byte("PK\x03\x04")
	return out
}

// afterHead puts a comment of more than headSize bytes after a PDF's
// header line, so that what follows is not in the head.
func afterHead(pdf []byte) []byte {
	i := bytes.IndexByte(pdf, '\n') + 1
	return slices.Concat(pdf[:i], []byte("%"), bytes.Repeat([]byte("x"), headSize), []byte("\n"), pdf[i:])
}

// testPDF and testSigObject are attachment_test.go's pdf and sigObject.
func testPDF(objects ...string) []byte {
	return []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" +
		"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n" +
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n" +
		strings.Join(objects, "") + "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n0\n%%EOF\n")
}

func testSigObject(dict string) string {
	return "5 0 obj\n<<" + dict + " /ByteRange [0 1234 5678 910] /Contents <3082" +
		strings.Repeat("0", 64) + "> /M (D:20260302083000+07'00') /Reason (Ph\xea duy\xeat) >>\nendobj\n"
}

func testZip(t *testing.T, data []byte, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "công văn.pdf", Method: method})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSummary_SameAsDecoded: for every content, in every layout, through
// scratch windows of every size, the summary is what the decoded bytes
// tell.
func TestSummary_SameAsDecoded(t *testing.T) {
	for name, data := range contents(t) {
		t.Run(name, func(t *testing.T) {
			std := base64.StdEncoding.EncodeToString(data)
			for _, l := range layouts {
				text := l.layout(std)
				for _, w := range windows {
					if len(text) > 100000 && w < 64 {
						continue // slow, and the small contents put keywords on every edge
					}
					sameSummary(t, text, w)
				}
			}
		})
	}
}

// TestSummary_ShiftedPDF moves a PDF's objects across the window's edges
// a byte at a time.
func TestSummary_ShiftedPDF(t *testing.T) {
	docs := [][]byte{
		testPDF(testSigObject(" /Type /Sig")),
		testPDF(testSigObject(" /Type /DocTimeStamp /SubFilter /ETSI.RFC3161")),
		testPDF("4 0 obj\n<< /ByteRange [0 1 2 3] >>\nendobj\n", testSigObject(" /Filter/Adobe.PPKLite")),
		[]byte("%PDF-1.7\n1 0 obj << /Type /Sig /ByteRangendobj 2 0 obj /ByteRange /Sig endobj"),
		[]byte("%PDF-1.7\n/Type /Sig 1 0 obj /ByteRange [0 1 2 3] endobj"),
		[]byte("%PDF-1.7\n1 0 obj << /ByteRange [0] /Type /Sigendobj"),
	}
	for _, doc := range docs {
		for junk := range 40 {
			data := afterHead(doc)
			data = slices.Concat(data[:9], bytes.Repeat([]byte{' '}, junk), data[9:])
			for _, w := range []int{3, 6, 9, 12, 15, 24, 48} {
				sameSummary(t, base64.StdEncoding.EncodeToString(data), w)
			}
		}
	}
}

// TestSummary_NotBase64: text that does not decode, broken at every kind
// of place, fails with the error decoding it whole gives.
func TestSummary_NotBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 2))
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, l := range layouts {
		s := l.layout(base64.StdEncoding.EncodeToString(data))
		for _, at := range []int{0, 1, 2, 3, 4, 5, 77, 78, len(s) / 2, len(s) - 5, len(s) - 3, len(s) - 2, len(s) - 1} {
			for _, c := range []string{"-", "*", "\x00", "é", "=", "==", "A", "\f", "."} {
				for _, w := range []int{3, 64, decodeWindow} {
					sameSummary(t, s[:at]+c+s[at:], w)
					sameSummary(t, s[:at]+c+s[at+1:], w)
					sameSummary(t, s[:at], w)
				}
			}
		}
	}
	for _, s := range base64Seeds {
		for _, w := range []int{3, 64} {
			sameSummary(t, s, w)
		}
	}
}

// TestStdDecodeError: the error found without decoding is encoding/
// base64's.
func TestStdDecodeError(t *testing.T) {
	for _, s := range base64Seeds {
		sameStdError(t, s)
	}
	for _, s := range []string{"QQ=\n\n=", "QQ=\n\nx", "QQ=\n", "QUJD\n=", "QUJD=\r\n", "QUI=\n\nQ", "QQ", "Q", "=", "\n\r", "QUJD\n\r"} {
		sameStdError(t, s)
	}
}

func sameStdError(t *testing.T, s string) {
	t.Helper()
	_, want := base64.StdEncoding.DecodeString(s)
	if got := stdDecodeError(s); errText(got) != errText(want) {
		t.Fatalf("%q: %v, want %v", s, got, want)
	}
}

// TestFromTree_LargeAttachment: a packet with an attachment of more than
// lazyMin bytes of text reads without its bytes decoded, and everything
// that reads an attachment gets the same from it as from the bytes.
func TestFromTree_LargeAttachment(t *testing.T) {
	data := append(testPDF(testSigObject(" /Type /Sig")), make([]byte, lazyMin)...)
	p := &Packet{Edoc: &Edoc{Header: MessageHeader{
		From: Organization{OrganID: "000.00.00.G22", OrganName: "Văn phòng Chính phủ"},
		To:   []Organization{{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An"}},
	}}}
	p.Edoc.AddAttachment(Attachment{Name: "công văn.pdf", ContentType: "application/pdf", Data: data})
	b, err := Encoder{Lenient: true}.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	var parser Parser
	q, _, err := parser.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	a := &q.Edoc.Attachments[0]
	if a.Data != nil || a.encoded == nil {
		t.Fatalf("a %d-byte attachment was decoded by the parser", len(data))
	}
	if a.Size() != len(data) || !a.SignedPDF() || a.IsZip() || a.ZipError() != nil {
		t.Errorf("Size %d (want %d), SignedPDF %t, IsZip %t, ZipError %v", a.Size(), len(data), a.SignedPDF(), a.IsZip(), a.ZipError())
	}
	if got, err := a.Content(); err != nil || !bytes.Equal(got, data) {
		t.Errorf("Content: %d bytes, %v", len(got), err)
	}
	again, err := Encoder{Lenient: true}.Encode(q)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("encoded again: %d bytes, %v; want the %d bytes read", len(again), err, len(b))
	}
	js, err := a.MarshalJSON()
	if err != nil || !bytes.Contains(js, []byte(`"data":"`+base64.StdEncoding.EncodeToString(data)+`"`)) {
		t.Errorf("JSON without the data: %.100s, %v", js, err)
	}

	// One base64 character out of place: the same error as decoding.
	text := base64.StdEncoding.EncodeToString(data)
	i := bytes.Index(b, []byte(text))
	broken := bytes.Clone(b)
	broken[i+len(text)/2] = '*'
	q, warns, err := parser.ParseBytes(broken)
	if err != nil {
		t.Fatal(err)
	}
	_, want := decodeBase64(string(broken[i : i+len(text)]))
	a = &q.Edoc.Attachments[0]
	if want == nil || a.DecodeError != "ContentTransferEncoded is not base64: "+want.Error() ||
		a.Undecoded != string(broken[i:i+len(text)]) || a.Size() != 0 || a.Data != nil {
		t.Errorf("DecodeError %q, want %v", a.DecodeError, want)
	}
	if !hasWarning(warns, "attachment-decode") {
		t.Errorf("no attachment-decode warning: %v", warns)
	}
	if err := Validate(q, ProfileReceive()); !errors.Is(err, ErrBadFormat) || !strings.Contains(err.Error(), a.DecodeError) {
		t.Errorf("Validate: %v, want ErrBadFormat with %q", err, a.DecodeError)
	}
}

func hasWarning(warns []Warning, code string) bool {
	for _, w := range warns {
		if w.Code == code {
			return true
		}
	}
	return false
}

// TestContentReader_TextChanged: a reader of text that no longer decodes
// as it did says so rather than return other bytes.
func TestContentReader_TextChanged(t *testing.T) {
	data := make([]byte, 4*markEvery)
	text := []byte(base64.StdEncoding.EncodeToString(data))
	e, err := summarize(string(text), decodeWindow)
	if err != nil {
		t.Fatal(err)
	}
	e.text = e.text[:len(e.text)/2] + "*" + e.text[len(e.text)/2+1:]
	if _, err := io.ReadAll(io.NewSectionReader(e.reader(), 0, int64(e.size))); !errors.Is(err, errTextChanged) {
		t.Errorf("read: %v, want errTextChanged", err)
	}
	if _, err := e.content(); !errors.Is(err, errTextChanged) {
		t.Errorf("content: %v, want errTextChanged", err)
	}
}

// FuzzSummary compares the summary with the decoded bytes' answers for
// text as a sender may write it (content, in one of the layouts, after a
// head-long comment when layout's high bit is set, so that a PDF is
// scanned a window at a time) and for any text, through a scratch window
// of any small size.
func FuzzSummary(f *testing.F) {
	f.Add([]byte(testPDF(testSigObject(" /Type /Sig"))), uint8(0), uint8(0), "QUJD\r\nQUI=")
	f.Add([]byte(testPDF(testSigObject(" /Type /Sig"))), uint8(0x80), uint8(4), "")
	f.Add([]byte("%PDF-1.7\n/Type /Sig 1 0 obj /ByteRangendobj /Filter/Adobe.PPKMS endobj"), uint8(0x81), uint8(9), "")
	f.Add([]byte("%PDF-1.7\n1 0 obj << /ByteRange [0] /Type /Sigendobj"), uint8(0x80), uint8(0), "")
	f.Add([]byte("%PDF-1.4 obj /ByteRange /Type/Sig endobj"), uint8(3), uint8(5), "QQ==QQ==")
	f.Add([]byte("PK\x03\x04 not a zip"), uint8(4), uint8(1), " Q U J D ")
	f.Add([]byte("%PDF- 1 0 obj /Type /DocTimeStamp /ByteRange /Adobe.PPKLite endobj"), uint8(7), uint8(9), "QUJ=D")
	for _, s := range base64Seeds {
		f.Add([]byte(s), uint8(len(s)), uint8(len(s)/3), s)
	}
	f.Fuzz(func(t *testing.T, content []byte, layout, window uint8, text string) {
		if layout&0x80 != 0 {
			content = afterHead(content) // scanned a window at a time
		}
		w := 3 + int(window)%61
		sameSummary(t, layouts[int(layout)%len(layouts)].layout(base64.StdEncoding.EncodeToString(content)), w)
		sameSummary(t, text, w)
	})
}

// BenchmarkAttachmentText compares what FromTree does with a large
// attachment's text, a 50 MiB PDF's: decoding it whole and scanning the
// bytes (Decoded), as for a small one, or the summary (Summary).
func BenchmarkAttachmentText(b *testing.B) {
	r := rand.New(rand.NewPCG(20, 3))
	data := make([]byte, 50<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	copy(data, "%PDF-1.7\n")
	text := base64.StdEncoding.EncodeToString(data)
	b.Run("Decoded", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			d, err := decodeBase64(text)
			if err != nil || signedPDF(d) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Summary", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			if e, err := summarize(text, decodeWindow); err != nil || e.signedPDF {
				b.Fatal(err)
			}
		}
	})
}

// TestPDFDelimiter: the bit sets are the delimiters and white space of
// PDF (ISO 32000-1, 7.2.2).
func TestPDFDelimiter(t *testing.T) {
	for b := range 256 {
		if got, want := pdfDelimiter(byte(b)), strings.IndexByte(" \t\r\n\f\x00()<>[]{}/%", byte(b)) >= 0; got != want {
			t.Errorf("pdfDelimiter(%q) = %t", byte(b), got)
		}
	}
}

// TestContentReader_Concurrent: reads at offsets from several goroutines
// at once, as io.ReaderAt allows (run with -race).
func TestContentReader_Concurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 4))
	data := make([]byte, 5*markEvery+3)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	e, err := summarize(wrap(base64.StdEncoding.EncodeToString(data), 76, "\r\n"), decodeWindow)
	if err != nil {
		t.Fatal(err)
	}
	ra := e.reader()
	done := make(chan error)
	for g := range 4 {
		go func() {
			p := make([]byte, 1000)
			for i := range 200 {
				off := (g*7919 + i*104729) % len(data)
				n, err := ra.ReadAt(p, int64(off))
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], data[off:off+n]) || n != min(len(p), len(data)-off) {
					done <- fmt.Errorf("ReadAt(%d): %d bytes, %v", off, n, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
