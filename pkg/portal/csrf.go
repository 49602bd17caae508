package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// csrfToken is the CSRF token of a session's forms: an HMAC of a fixed
// label keyed by the session cookie's value (its secret is per session
// and never leaves the browser's cookie jar but in requests to us).
func csrfToken(cookie, label string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("portal-csrf:" + label))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid checks a form's token against the cookie, in constant time.
func csrfValid(cookie, label, token string) bool {
	if cookie == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(csrfToken(cookie, label)), []byte(token))
}
