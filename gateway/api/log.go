package api

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// requestInfo is what handlers learn about a request that the access log
// reports: the key's name, the document concerned, and an error of
// writing the response.
type requestInfo struct {
	key      string
	document string
	// err is why a response that was meant to succeed could not be
	// written.
	err error
}

type requestInfoKey struct{}

// infoOf returns the request's info, or a throwaway one outside the access
// log (tests of a single handler).
func infoOf(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// setDocument records the local id of the document a request concerns,
// for the access log.
func setDocument(r *http.Request, id string) { infoOf(r).document = id }

// accessLog logs every request once it is answered: method, path,
// status, duration, and the key and document when there are.
func (h *handler) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		fields := []zap.Field{
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", sw.status),
			zap.Duration("duration", time.Since(start)),
			zap.Int64("bytes", sw.written),
		}
		if ri.key != "" {
			fields = append(fields, zap.String("key", ri.key))
		}
		if ri.document != "" {
			fields = append(fields, zap.String("document", ri.document))
		}
		if ri.err != nil {
			h.log.Error("request", append(fields, zap.Error(ri.err))...)
			return
		}
		h.log.Info("request", fields...)
	})
}

// statusWriter keeps the status and the size of a response.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
