package router

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

// IdempotencyKeyHeader names the header of a retry-safe creating POST.
const IdempotencyKeyHeader = "Idempotency-Key"

// validIdempotencyKey reports whether k is 1 to 128 letters, digits or
// . _ : - (^[A-Za-z0-9._:-]{1,128}$; a loop, as compiling the counted
// repeat cost every cold start).
func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

var (
	errIdempotencyKey      = httpapi.InvalidField(IdempotencyKeyHeader, "must be 1 to 128 letters, digits or . _ : -")
	errIdempotencyReused   = fault.New(fault.Unprocessable, "idempotency_key_reused", "This Idempotency-Key was used for a different request.")
	errIdempotencyInFlight = fault.New(fault.Conflict, "idempotency_in_progress", "A request with this Idempotency-Key is still running; retry shortly.")
)

// bufferedResponse captures a handler's answer so that it can be
// remembered and then written.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// idempotent makes a creating POST safe to retry: with an Idempotency-Key,
// the first request runs and its successful answer is remembered for a
// day per caller; a retry gets the same answer (Idempotent-Replayed:
// true) and creates nothing. The key used with another body answers 422.
// A failed request forgets the key, so a corrected retry runs.
func idempotent(st *store.Store, caller func(*http.Request) (accountID, memberID string), next http.Handler) http.Handler {
	return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		k := r.Header.Get(IdempotencyKeyHeader)
		if k == "" {
			next.ServeHTTP(w, r)
			return nil
		}
		if !validIdempotencyKey(k) {
			return errIdempotencyKey
		}
		accountID, memberID := caller(r)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return httpapi.ErrBodyTooLarge
			}
			return fault.New(fault.Invalid, "bad_body", "The request body could not be read.")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
		fp := hex.EncodeToString(sum[:])
		prev, err := st.BeginIdempotent(r.Context(), accountID, memberID, k, fp)
		switch {
		case errors.Is(err, store.ErrIdempotencyInProgress):
			if prev.Fingerprint != fp {
				return errIdempotencyReused
			}
			return errIdempotencyInFlight
		case err != nil:
			return err
		case prev != nil:
			if prev.Fingerprint != fp {
				return errIdempotencyReused
			}
			h := w.Header()
			h.Set("Content-Type", prev.ContentType)
			if prev.Location != "" {
				h.Set("Location", prev.Location)
			}
			if prev.ETag != "" {
				h.Set("ETag", prev.ETag)
			}
			h.Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			_, err := w.Write(prev.Body)
			return err
		}
		rec := &bufferedResponse{header: w.Header()}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := st.FinishIdempotent(r.Context(), accountID, memberID, k, store.IdempotentResponse{
			Status: rec.status, ContentType: rec.header.Get("Content-Type"), Location: rec.header.Get("Location"), ETag: rec.header.Get("ETag"), Body: rec.body.Bytes(),
		}); err != nil {
			httpapi.Logger(r.Context()).Warn("remember idempotent response", "error", err.Error())
		}
		w.WriteHeader(rec.status)
		_, err = w.Write(rec.body.Bytes())
		return err
	})
}
