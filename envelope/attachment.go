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
	b, err := base64.StdEncoding.DecodeString(s)
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
	if b, err2 := base64.StdEncoding.DecodeString(clean); err2 == nil {
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
