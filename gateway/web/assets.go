package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded file served under a URL carrying its checksum.
type asset struct {
	data        []byte
	contentType string
}

// assets are the embedded stylesheet and scripts: by URL file name
// ("app.1a2b3c4d5e6f.css") and the URL of each source name.
type assets struct {
	byFile map[string]asset
	urls   map[string]string
}

// loadAssets reads the embedded files and names each by its checksum, so
// that a URL's content never changes and browsers may keep it for a year.
func loadAssets() (*assets, error) {
	a := &assets{byFile: map[string]asset{}, urls: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		sum := sha256.Sum256(data)
		ext := path.Ext(name)
		file := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = http.DetectContentType(data)
		}
		a.byFile[file] = asset{data: data, contentType: ctype}
		a.urls[name] = "/static/" + file
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: embedded assets: %w", err)
	}
	return a, nil
}

// url returns the URL of an embedded file by its source name; an unknown
// name is an error, so that a template naming a missing file fails when it
// is rendered in tests rather than in a browser.
func (a *assets) url(name string) (string, error) {
	u, ok := a.urls[name]
	if !ok {
		return "", fmt.Errorf("web: no embedded asset %q", name)
	}
	return u, nil
}

// asset serves an embedded file by its checksum name.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets.byFile[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}
