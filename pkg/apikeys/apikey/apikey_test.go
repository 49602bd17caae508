package apikey_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/onetime"
)

const account = "a_0123456789abcdef0123"

func newKey(t testing.TB) (token, id, secret string) {
	t.Helper()
	id = apikey.NewID(account)
	secret, _ = onetime.New()
	return apikey.Format(id, secret), id, secret
}

func TestParseAPIKeyRoundTrip(t *testing.T) {
	for range 100 { // secrets with and without '_' and '-'
		token, id, secret := newKey(t)
		acct, gotID, hash, err := apikey.Parse(token)
		want, _ := onetime.Hash(secret)
		if err != nil || acct != account || gotID != id || hash != want {
			t.Fatalf("ParseAPIKey(%q) = %q %q %q %v", token, acct, gotID, hash, err)
		}
		if !strings.HasPrefix(token, apikey.ListedPrefix(id)) || strings.Contains(apikey.ListedPrefix(id), secret) {
			t.Fatalf("prefix %q of %q", apikey.ListedPrefix(id), token)
		}
	}
}

func TestParseAPIKeyRefusesMalformed(t *testing.T) {
	token, id, secret := newKey(t)
	other, _ := onetime.New()
	for name, bad := range map[string]string{
		"empty":              "",
		"prefix only":        "stk_",
		"no prefix":          token[len("stk_"):],
		"other prefix":       "sk_" + token[len("stk_"):],
		"upper prefix":       "STK_" + token[len("stk_"):],
		"no id":              "stk__" + secret,
		"no separator":       "stk_" + id + secret,
		"dot separator":      "stk_" + id + "." + secret,
		"short secret":       token[:len(token)-1],
		"long secret":        token + "A",
		"secret padding":     token[:len(token)-1] + "=",
		"secret stray bits":  token[:len(token)-1] + "B", // 43rd char carries 2 bits: only A, Q, g, w are canonical
		"secret bad char":    token[:len(token)-2] + "+" + token[len(token)-1:],
		"secret newline":     token[:len(token)-2] + "\n" + token[len(token)-1:],
		"id without dot":     "stk_" + strings.Replace(id, ".", "", 1) + "_" + secret,
		"id two dots":        "stk_" + account + ".x." + id[len(account)+1:] + "_" + secret,
		"id empty account":   "stk_" + id[len(account):] + "_" + secret,
		"id bad account":     "stk_a#b" + id[len(account):] + "_" + secret,
		"id upper hex":       "stk_" + strings.ToUpper(id[:len(id)-1]) + "_" + secret,
		"id short random":    "stk_" + id[:len(id)-1] + "_" + secret,
		"id bad random kind": "stk_" + account + ".m_" + id[len(account)+3:] + "_" + secret,
		"id long account":    "stk_" + strings.Repeat("a", 65) + id[len(account):] + "_" + secret,
		"huge":               "stk_" + strings.Repeat("a", 10000) + "_" + secret,
		"two secrets":        "stk_" + id + "_" + other + "_" + secret,
		"space inside":       "stk_" + id + " _" + secret[1:],
		"unicode":            "stk_" + id + "_" + secret[:41] + "é",
	} {
		if _, _, _, err := apikey.Parse(bad); !errors.Is(err, apikey.ErrMalformed) {
			t.Errorf("%s: ParseAPIKey(%q) accepted", name, bad)
		}
	}
}

func TestAPIKeyAccount(t *testing.T) {
	id := apikey.NewID(account)
	if a, ok := apikey.Account(id); !ok || a != account {
		t.Fatalf("APIKeyAccount(%q) = %q %v", id, a, ok)
	}
	for _, bad := range []string{"", "k_0123456789abcdef0123", account, account + ".", "../" + id, id + "x", "a b" + id[len(account):]} {
		if _, ok := apikey.Account(bad); ok {
			t.Errorf("APIKeyAccount(%q) accepted", bad)
		}
	}
}

// FuzzParseAPIKey: ParseAPIKey never panics, and whatever it accepts is
// exactly "stk_" + id + "_" + a well-formed secret whose hash it returns,
// with the account the id starts with.
func FuzzParseAPIKey(f *testing.F) {
	token, _, _ := newKey(f)
	f.Add(token)
	f.Add("stk_")
	f.Add("stk_a.k_00000000000000000000_" + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		acct, id, hash, err := apikey.Parse(s)
		if err != nil {
			if !errors.Is(err, apikey.ErrMalformed) || acct != "" || id != "" || hash != "" {
				t.Fatalf("ParseAPIKey(%q) = %q %q %q %v", s, acct, id, hash, err)
			}
			return
		}
		if len(s) > apikey.MaxLen {
			t.Fatalf("accepted %d bytes", len(s))
		}
		secret := s[len(s)-onetime.TokenLen:]
		want, herr := onetime.Hash(secret)
		if herr != nil || hash != want || apikey.Format(id, secret) != s {
			t.Fatalf("ParseAPIKey(%q): id %q hash %q, want %q (%v)", s, id, hash, want, herr)
		}
		if a, ok := apikey.Account(id); !ok || a != acct || !strings.HasPrefix(id, acct+".") {
			t.Fatalf("ParseAPIKey(%q): account %q of id %q", s, acct, id)
		}
	})
}
