package envelope

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
)

// Attachment is one AttachmentEncoded/Attachment, its content decoded.
type Attachment struct {
	// ContentID ties the attachment to its manifest Reference. Senders
	// write it with or without "cid:"; compare with [SameContentID].
	ContentID   string `json:"contentId"`
	Name        string `json:"attachmentName"`
	Description string `json:"description,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	// Data is the decoded content of ContentTransferEncoded, exactly as
	// sent: when it is a ZIP (the common vendor convention), Data is the
	// ZIP; [Attachment.Inner] opens it.
	//
	// A packet read by [FromTree] (or [Parser.ParseBytes]) leaves Data
	// nil for an attachment of more than 1 MiB of base64 text: it keeps
	// the text, which may be memory of the packet read, and decodes it
	// once, a window at a time, to know what [Attachment.Size],
	// [Attachment.Head], [Attachment.IsZip], [Attachment.ZipError] and
	// [Attachment.SignedPDF] tell. Whoever needs the bytes reads them
	// with [Attachment.Open] or [Attachment.Content], which decode the
	// text again; the packet's bytes must not be changed meanwhile.
	Data []byte `json:"data"`
	// DecodeError says why ContentTransferEncoded could not be decoded;
	// Data is then nil and Undecoded holds the text as received, so that
	// nothing received is lost (for more than 1 MiB of text, the memory
	// of the packet read, as a large attachment's text: see Data). Only
	// the parser sets them; [Validate] reports DecodeError.
	DecodeError string `json:"decodeError,omitempty"`
	Undecoded   string `json:"undecoded,omitempty"`

	// encoded, set by the parser instead of Data for a large
	// attachment, is its text and what decoding it found.
	encoded *encoded
}

// MarshalJSON writes the attachment with its data, decoding it if the
// parser did not.
func (a Attachment) MarshalJSON() ([]byte, error) {
	type plain Attachment // without this method
	if a.Data == nil && a.encoded != nil {
		data, err := a.encoded.content()
		if err != nil {
			return nil, err
		}
		a.Data = data
	}
	return json.Marshal(plain(a))
}

// Size is the number of bytes of the decoded content.
func (a *Attachment) Size() int {
	if a.Data == nil && a.encoded != nil {
		return a.encoded.size
	}
	return len(a.Data)
}

// Head returns the first bytes of the decoded content, at least the 512
// that [ContentTypeOf] sniffs, or all of it when it is shorter. It shares
// memory with the attachment.
func (a *Attachment) Head() []byte {
	// Capped at its length: a caller's append copies rather than writes
	// into what the attachment keeps.
	if a.Data == nil && a.encoded != nil {
		h := a.encoded.head
		return h[:len(h):len(h)]
	}
	n := min(len(a.Data), headSize)
	return a.Data[:n:n]
}

// Content returns the decoded content: Data, or for an attachment the
// parser did not decode (see Data), its text decoded into a new slice. An
// error says that the text no longer decodes as it did when it was read:
// the packet was changed meanwhile in its length or its structure (a
// change that keeps both is not seen: the bytes are those decoded now).
func (a *Attachment) Content() ([]byte, error) {
	if a.Data == nil && a.encoded != nil {
		return a.encoded.content()
	}
	return a.Data, nil
}

// Open returns a reader of the decoded content, which seeks and reads at
// any offset without decoding it all (see Data): for serving or hashing a
// large attachment.
func (a *Attachment) Open() *io.SectionReader {
	if a.Data == nil && a.encoded != nil {
		return io.NewSectionReader(a.encoded.reader(), 0, int64(a.encoded.size))
	}
	return io.NewSectionReader(bytes.NewReader(a.Data), 0, int64(len(a.Data)))
}

// readerAt returns what reads the decoded content at offsets, and its
// size.
func (a *Attachment) readerAt() (io.ReaderAt, int64) {
	if a.Data == nil && a.encoded != nil {
		return a.encoded.reader(), int64(a.encoded.size)
	}
	return bytes.NewReader(a.Data), int64(len(a.Data))
}

// SameContentID reports whether two ContentIds name the same content,
// ignoring a "cid:" prefix and case of the prefix.
func SameContentID(a, b string) bool {
	return trimCID(a) == trimCID(b)
}

func trimCID(s string) string {
	if len(s) >= 4 && strings.EqualFold(s[:4], "cid:") {
		return s[4:]
	}
	return s
}

// decodeBase64 decodes an attachment's text. Line breaks (which Go's
// decoder skips) and other white space inside the text are tolerated, as is
// missing padding.
func decodeBase64(s string) ([]byte, error) {
	b, err := decodeStd(s)
	if err == nil {
		return b, nil
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	if b, err2 := decodeStd(clean); err2 == nil {
		return b, nil
	}
	if b, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "=")); err2 == nil {
		return b, nil
	}
	return nil, err
}

// IsZip reports whether the content is a ZIP archive.
func (a *Attachment) IsZip() bool {
	return isZip(a.Head())
}

// isZip reports whether content that begins with b is a ZIP archive.
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// ErrBrokenZip is returned by [Attachment.ZipError] for content that begins
// as a ZIP archive but cannot be opened as one.
var ErrBrokenZip = errors.New("envelope: the ZIP archive cannot be opened")

// ZipError reports why an attachment that begins as a ZIP archive
// ([Attachment.IsZip]) cannot be opened: its end-of-central-directory
// record or central directory is missing, cut short or inconsistent. The
// error wraps [ErrBrokenZip] and names the attachment. It is nil for an
// archive whose directory reads, and for content that is not a ZIP at all.
// The files inside are not decompressed. Data is left untouched: a broken
// archive is still kept and served as it came, only said to be broken.
func (a *Attachment) ZipError() error {
	if !a.IsZip() {
		return nil
	}
	err := a.zipError()
	if err != nil {
		return fmt.Errorf("%w: attachment %q: %w", ErrBrokenZip, a.Name, err)
	}
	return nil
}

// zipError is zip.NewReader's error, found when the attachment was parsed
// if it was not decoded then.
func (a *Attachment) zipError() error {
	if a.Data == nil && a.encoded != nil {
		return a.encoded.zipErr
	}
	_, err := zip.NewReader(bytes.NewReader(a.Data), int64(len(a.Data)))
	return err
}

// InnerFile is the file inside a zipped attachment.
type InnerFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// ErrNotZip is returned by [Attachment.Inner] for content that is not a ZIP
// archive holding exactly one file.
var ErrNotZip = errors.New("envelope: attachment is not a single-file ZIP")

// DefaultMaxInnerSize bounds what [Attachment.Inner] decompresses, against
// ZIP bombs: 256 MiB.
const DefaultMaxInnerSize = 256 << 20

// Inner opens a zipped attachment holding one file (the common vendor
// convention: ContentType application/zip, AttachmentName the inner file's
// name) and returns that file. maxSize bounds the decompressed size; zero
// means [DefaultMaxInnerSize]. Data is left untouched.
func (a *Attachment) Inner(maxSize int64) (*InnerFile, error) {
	if !a.IsZip() {
		return nil, ErrNotZip
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxInnerSize
	}
	zr, err := zip.NewReader(a.readerAt())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotZip, err)
	}
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%w: it holds %d files", ErrNotZip, len(files))
	}
	f := files[0]
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("envelope: open %q in zipped attachment %q: %w", f.Name, a.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("envelope: read %q in zipped attachment %q: %w", f.Name, a.Name, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("envelope: %q in zipped attachment %q decompresses to more than %d bytes", f.Name, a.Name, maxSize)
	}
	return &InnerFile{Name: f.Name, ContentType: ContentTypeOf(f.Name, data), Data: data}, nil
}

// contentTypes are the types of the files government documents travel in.
// The standard mime package knows few of them without the host's tables, and
// the answer must not depend on the host.
var contentTypes = map[string]string{
	".pdf":   "application/pdf",
	".doc":   "application/msword",
	".docx":  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":   "application/vnd.ms-excel",
	".xlsx":  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":   "application/vnd.ms-powerpoint",
	".pptx":  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":   "application/vnd.oasis.opendocument.text",
	".ods":   "application/vnd.oasis.opendocument.spreadsheet",
	".rtf":   "application/rtf",
	".txt":   "text/plain; charset=utf-8",
	".xml":   "application/xml",
	".edxml": "application/xml",
	".zip":   "application/zip",
	".rar":   "application/vnd.rar",
	".7z":    "application/x-7z-compressed",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".png":   "image/png",
	".tif":   "image/tiff",
	".tiff":  "image/tiff",
	".p7s":   "application/pkcs7-signature",
}

// ContentTypeOf names the media type of a file from its name, or failing
// that from its first bytes.
func ContentTypeOf(name string, data []byte) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return http.DetectContentType(data)
}

// pdfHeader starts a PDF file; readers find it within the first
// [pdfJunkLimit] bytes.
const (
	pdfHeader    = "%PDF-"
	pdfJunkLimit = 1024
)

// signatureHandlers name the security handlers (Filter) and the signature
// encodings (SubFilter) of PDF digital signatures: ISO 32000 and PAdES, and
// the Adobe and vendor handlers the software of Vietnamese agencies writes.
var signatureHandlers = [][]byte{
	[]byte("/adbe.pkcs7.detached"),
	[]byte("/adbe.pkcs7.sha1"),
	[]byte("/adbe.x509.rsa_sha1"),
	[]byte("/ETSI.CAdES.detached"),
	[]byte("/Adobe.PPKLite"),
	[]byte("/Adobe.PPKMS"),
	[]byte("/VeriSign.PPKVS"),
	[]byte("/Entrust.PPKEF"),
	[]byte("/CICI.SignIt"),
}

// SignedPDF reports whether the content is a PDF that carries a digital
// signature: it starts with "%PDF-" (after at most 1024 bytes of anything
// else, as PDF readers allow) and holds a signature dictionary, an object
// with a /ByteRange and either /Type /Sig or a /Filter or /SubFilter naming
// a signature handler (adbe.pkcs7.detached, ETSI.CAdES.detached,
// Adobe.PPKLite …). A document time stamp (/Type /DocTimeStamp) alone is not
// a signature.
//
// It scans bytes and does not parse the PDF, nor check the signature: a
// signature dictionary is always written uncompressed, since its /ByteRange
// counts the file's own bytes. It looks at the content only: a ZIP is not a
// PDF, even with a PDF stored in it (see [Attachment.Inner]). For an
// attachment the parser did not decode (see Data), the answer was found
// as it read the text.
func (a *Attachment) SignedPDF() bool {
	if a.Data == nil && a.encoded != nil {
		return a.encoded.signedPDF
	}
	return signedPDF(a.Data)
}

// signedPDF is SignedPDF of content held whole.
func signedPDF(data []byte) bool {
	if isZip(data) {
		return false
	}
	start := bytes.Index(data[:min(len(data), pdfJunkLimit+len(pdfHeader))], []byte(pdfHeader))
	if start < 0 {
		return false
	}
	data = data[start:]
	// Each object with a /ByteRange is looked at once: off moves past it.
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("/ByteRange"))
		if i < 0 {
			return false
		}
		at := off + i
		// The object runs from the end of the keyword before it ("n g
		// obj", or the previous object's "endobj") to its "endobj".
		from := off
		if j := bytes.LastIndex(data[off:at], []byte("obj")); j >= 0 {
			from = off + j + len("obj")
		}
		end := len(data)
		if j := bytes.Index(data[at:], []byte("endobj")); j >= 0 {
			end = at + j
		}
		if signatureObject(data[from:end]) {
			return true
		}
		if end == len(data) {
			return false
		}
		off = end
	}
}

// signatureObject reports whether the text of an object that has a
// /ByteRange is a signature dictionary.
func signatureObject(obj []byte) bool {
	if hasName(obj, "/Type", "/DocTimeStamp") {
		return false
	}
	if hasName(obj, "/Type", "/Sig") {
		return true
	}
	for _, h := range signatureHandlers {
		for rest := obj; ; {
			i := bytes.Index(rest, h)
			if i < 0 {
				break
			}
			if end := i + len(h); end == len(rest) || pdfDelimiter(rest[end]) {
				return true
			}
			rest = rest[i+len(h):]
		}
	}
	return false
}

// hasName reports whether obj holds key followed by the name value, such
// as "/Type /Sig" or "/Type/Sig", the name ending at a delimiter.
func hasName(obj []byte, key, value string) bool {
	for rest := obj; ; {
		i := bytes.Index(rest, []byte(key))
		if i < 0 {
			return false
		}
		rest = rest[i+len(key):]
		if len(rest) > 0 && !pdfDelimiter(rest[0]) {
			continue // a longer key, such as /TypeX
		}
		v := bytes.TrimLeft(rest, " \t\r\n\f\x00")
		if bytes.HasPrefix(v, []byte(value)) && (len(v) == len(value) || pdfDelimiter(v[len(value)])) {
			return true
		}
	}
}

// pdfDelimiter reports whether b ends a PDF name: white space (NUL, tab,
// LF, FF, CR, space) or a delimiter character (% ( ) / < > [ ] { }).
func pdfDelimiter(b byte) bool {
	// The bytes below 64, then those from 64 to 127.
	const (
		low = 1<<0 | 1<<'\t' | 1<<'\n' | 1<<'\f' | 1<<'\r' | 1<<' ' |
			1<<'%' | 1<<'(' | 1<<')' | 1<<'/' | 1<<'<' | 1<<'>'
		high = 1<<('['-64) | 1<<(']'-64) | 1<<('{'-64) | 1<<('}'-64)
	)
	switch {
	case b < 64:
		return low>>b&1 != 0
	case b < 128:
		return high>>(b-64)&1 != 0
	}
	return false
}
