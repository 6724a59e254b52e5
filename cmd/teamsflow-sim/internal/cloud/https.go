package cloud

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// signallingHandler answers every Teams (or Zoom) API path with a small
// JSON body; what matters to an observer is the TLS handshake (SNI) and
// the flow's shape, not the content.
func signallingHandler(log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		log.Debug().Str("host", r.Host).Str("method", r.Method).Str("path", r.URL.Path).
			Str("sni", r.TLS.ServerName).Msg("request")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"host": r.Host, "path": r.URL.Path, "time": time.Now().UTC().Format(time.RFC3339Nano),
		})
	})
}

func newHTTPServer(cert tls.Certificate, log zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           signallingHandler(log),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          nil,
	}
}
