package api

import (
	"encoding/json"
	"net/http"

	"go.uber.org/zap"
)

// The response helpers, named by outcome. Every JSON body, success or
// error, goes through writeJSON.

const jsonContentType = "application/json; charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		// A value the store returned that JSON cannot carry (a state
		// outside the lifecycle's): a fault of the server.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","messageVi":"Lỗi máy chủ; sự cố đã được ghi nhật ký","messageEn":"internal server error; it was logged"}}`)
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return err
}

// jsonOK answers 200 with body. If body cannot be written as JSON it
// answers 500 and the access log says why.
func jsonOK(w http.ResponseWriter, r *http.Request, body any) {
	if err := writeJSON(w, http.StatusOK, body); err != nil {
		infoOf(r).err = err
	}
}

// jsonAccepted answers 202 with body, as jsonOK does 200.
func jsonAccepted(w http.ResponseWriter, r *http.Request, body any) {
	if err := writeJSON(w, http.StatusAccepted, body); err != nil {
		infoOf(r).err = err
	}
}

// jsonError answers with e's status and e as the error body.
func jsonError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, ErrorBody{Error: e})
}

// jsonBadRequest answers 400: e is a CodeMalformed, CodeForbiddenXML or
// CodeBadParameter error.
func jsonBadRequest(w http.ResponseWriter, e *Error) {
	e.Status = http.StatusBadRequest
	jsonError(w, e)
}

// jsonUnauthorized answers 401; the caller sets WWW-Authenticate.
func jsonUnauthorized(w http.ResponseWriter) {
	jsonError(w, newError(http.StatusUnauthorized, CodeUnauthorized,
		"Thiếu khóa API hoặc khóa không hợp lệ (Authorization: Bearer <khóa>)",
		"a valid API key is required (Authorization: Bearer <key>)"))
}

// jsonNotFound answers 404. It says the same whether the thing does not
// exist or the key may not see it.
func jsonNotFound(w http.ResponseWriter) {
	jsonError(w, newError(http.StatusNotFound, CodeNotFound, "Không tìm thấy", "not found"))
}

// jsonMethodNotAllowed answers 405; the caller sets Allow.
func jsonMethodNotAllowed(w http.ResponseWriter) {
	jsonError(w, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"Phương thức không được hỗ trợ trên đường dẫn này", "method not allowed on this path"))
}

// jsonUnsupportedMediaType answers 415.
func jsonUnsupportedMediaType(w http.ResponseWriter, vi, en string) {
	jsonError(w, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, vi, en))
}

// jsonUnprocessable answers 422 with field errors.
func jsonUnprocessable(w http.ResponseWriter, e *Error) {
	e.Status = http.StatusUnprocessableEntity
	jsonError(w, e)
}

// jsonServerError answers 500 without saying why, and logs why with the
// request's method and path.
func jsonServerError(w http.ResponseWriter, r *http.Request, log *zap.Logger, err error) {
	log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	jsonError(w, newError(http.StatusInternalServerError, CodeInternal,
		"Lỗi máy chủ; sự cố đã được ghi nhật ký", "internal server error; it was logged"))
}

// jsonFailure answers an error of the gateway or the store: e if the
// mapping found one, else 500.
func jsonFailure(w http.ResponseWriter, r *http.Request, log *zap.Logger, e *Error, err error) {
	if e == nil {
		jsonServerError(w, r, log, err)
		return
	}
	jsonError(w, e)
}
