package onetime

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var (
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	hashRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, h := New()
		if !tokenRE.MatchString(tok) || !hashRE.MatchString(h) {
			t.Fatalf("New() = %q, %q", tok, h)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q decodes to %d bytes, %v", tok, len(raw), err)
		}
		want := sha256.Sum256([]byte(tok))
		if h != hex.EncodeToString(want[:]) {
			t.Fatalf("hash %s is not hex(SHA-256(token))", h)
		}
		got, err := Hash(tok)
		if err != nil || got != h {
			t.Fatalf("Hash(%q) = %q, %v; want %q", tok, got, err, h)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
	}
}

func TestHashRejects(t *testing.T) {
	tok, _ := New()
	// The last character of 43 carries 2 unused bits; "A" has them clear
	// and "B" has them set.
	clean := tok[:42] + "A"
	if _, err := Hash(clean); err != nil {
		t.Fatalf("control %q: %v", clean, err)
	}
	for _, bad := range []string{
		"",
		tok[:42],
		tok + "A",
		tok + "=",
		clean[:42] + "B", // non-canonical: stray low bits
		"+" + tok[1:],    // standard alphabet
		"/" + tok[1:],
		"=" + tok[1:],
		tok[:20] + "\n" + tok[21:],
		tok[:20] + "." + tok[21:],
		tok[:20] + " " + tok[21:],
		tok[:20] + "é" + tok[22:], // right byte length, wrong alphabet
		strings.Repeat("A", 64),
		strings.Repeat("a", 1<<20),
	} {
		if h, err := Hash(bad); !errors.Is(err, ErrMalformed) || h != "" {
			t.Errorf("Hash(%q) = %q, %v; want ErrMalformed", bad, h, err)
		}
	}
}

func TestEqual(t *testing.T) {
	_, a := New()
	_, b := New()
	if !Equal(a, a) || Equal(a, b) || Equal(a, a[:63]) || Equal("", a) || !Equal("", "") {
		t.Fatal("Equal")
	}
}

func TestRefresh(t *testing.T) {
	const sid = "s_0123456789abcdef0123"
	tok, h := NewRefresh(sid)
	if !strings.HasPrefix(tok, sid+".") || !tokenRE.MatchString(strings.TrimPrefix(tok, sid+".")) {
		t.Fatalf("refresh token %q", tok)
	}
	gotSID, gotHash, err := ParseRefresh(tok)
	if err != nil || gotSID != sid || !Equal(gotHash, h) {
		t.Fatalf("ParseRefresh(%q) = %q, %q, %v; want %q, %q", tok, gotSID, gotHash, err, sid, h)
	}
	// The stored hash is the hash of the secret part, the same as Hash.
	if want, _ := Hash(strings.TrimPrefix(tok, sid+".")); want != h {
		t.Fatal("refresh hash differs from Hash(secret)")
	}
	long := strings.Repeat("a", MaxSessionIDLen)
	if tok, _ := NewRefresh(long); tok == "" {
		t.Fatal("64-character session id")
	}
	if _, _, err := ParseRefresh(refreshTok(long)); err != nil {
		t.Fatalf("64-character session id: %v", err)
	}
	secret, _ := New()
	for _, bad := range []string{
		"",
		".",
		sid,
		sid + ".",
		"." + secret,
		secret,
		sid + "." + secret + ".",
		sid + "." + secret + "." + secret,
		sid + ".." + secret,
		sid + "." + secret[:42],
		sid + "." + secret + "A",
		"S_0123." + secret,   // upper case
		"s-0123." + secret,   // hyphen
		"s_01 23." + secret,  // space
		"s_0123\n." + secret, // newline
		"s_é." + secret,
		strings.Repeat("a", MaxSessionIDLen+1) + "." + secret,
		strings.Repeat("a", 1<<20) + "." + secret,
		sid + "." + strings.Repeat("A", 42) + "B",
	} {
		s, h, err := ParseRefresh(bad)
		if !errors.Is(err, ErrMalformed) || s != "" || h != "" {
			t.Errorf("ParseRefresh(%q) = %q, %q, %v; want ErrMalformed", bad, s, h, err)
		}
	}
}

func refreshTok(sid string) string {
	tok, _ := NewRefresh(sid)
	return tok
}

func TestNewRefreshPanicsOnBadSessionID(t *testing.T) {
	for _, sid := range []string{"", "S_1", "s.1", "s 1", strings.Repeat("a", 65)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRefresh(%q) did not panic", sid)
				}
			}()
			NewRefresh(sid)
		}()
	}
}

// FuzzHash checks that Hash never panics, accepts only canonical 43
// character base64url strings of 32 bytes, and that every accepted input
// round-trips through decoding and hashes to hex(SHA-256(input)).
func FuzzHash(f *testing.F) {
	tok, _ := New()
	f.Add(tok)
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("_", 42) + "w")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Hash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || h != "" {
				t.Fatalf("Hash(%q) = %q, %v", s, h, err)
			}
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(s)
		if derr != nil || len(raw) != TokenBytes || base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("Hash accepted non-canonical %q", s)
		}
		want := sha256.Sum256([]byte(s))
		if h != hex.EncodeToString(want[:]) {
			t.Fatalf("Hash(%q) = %q", s, h)
		}
	})
}

// FuzzParseRefresh checks that ParseRefresh never panics, and that what
// it accepts is exactly a valid session id, a dot and a canonical secret
// whose hash it returns.
func FuzzParseRefresh(f *testing.F) {
	tok, _ := NewRefresh("s_0123456789abcdef0123")
	f.Add(tok)
	f.Add("")
	f.Add(".")
	f.Add("s_1." + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		sid, h, err := ParseRefresh(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || sid != "" || h != "" {
				t.Fatalf("ParseRefresh(%q) = %q, %q, %v", s, sid, h, err)
			}
			return
		}
		if !validSessionID(sid) || !strings.HasPrefix(s, sid+".") {
			t.Fatalf("ParseRefresh(%q) accepted session id %q", s, sid)
		}
		secret := strings.TrimPrefix(s, sid+".")
		if want, err := Hash(secret); err != nil || want != h {
			t.Fatalf("ParseRefresh(%q) hash %q; Hash(secret) = %q, %v", s, h, want, err)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	tok, _ := New()
	for b.Loop() {
		_, _ = Hash(tok)
	}
}
