package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// NewHandlerWithMaxBody is NewHandler with another body limit, to test
// the 413 of http.MaxBytesReader without sending the gateway's MaxPacketSize bytes.
func NewHandlerWithMaxBody(gw Gateway, reports gateway.Reports, keys []Key, log *zap.Logger, maxBody int64) http.Handler {
	h := newHandler(gw, reports, keys, log)
	h.maxBody = maxBody
	return h.routes()
}
