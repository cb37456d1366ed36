package envelope

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
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
	Data []byte `json:"data"`
	// DecodeError says why ContentTransferEncoded could not be decoded;
	// Data is then nil and Undecoded holds the text as received, so that
	// nothing received is lost. Only the parser sets them; [Validate]
	// reports DecodeError.
	DecodeError string `json:"decodeError,omitempty"`
	Undecoded   string `json:"undecoded,omitempty"`
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
	return bytes.HasPrefix(a.Data, []byte("PK\x03\x04")) || bytes.HasPrefix(a.Data, []byte("PK\x05\x06"))
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
	if _, err := zip.NewReader(bytes.NewReader(a.Data), int64(len(a.Data))); err != nil {
		return fmt.Errorf("%w: attachment %q: %w", ErrBrokenZip, a.Name, err)
	}
	return nil
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
	zr, err := zip.NewReader(bytes.NewReader(a.Data), int64(len(a.Data)))
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
// counts the file's own bytes. It looks at Data only: a ZIP is not a PDF,
// even with a PDF stored in it (see [Attachment.Inner]).
func (a *Attachment) SignedPDF() bool {
	if a.IsZip() {
		return false
	}
	data := a.Data
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

// pdfDelimiter reports whether b ends a PDF name: white space or a
// delimiter character.
func pdfDelimiter(b byte) bool {
	switch b {
	case ' ', '\t', '\r', '\n', '\f', 0, '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}
