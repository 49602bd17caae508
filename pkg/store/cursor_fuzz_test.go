package store_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/store"
)

func fuzzCursors(t testing.TB, seed byte) *store.Cursors {
	c, err := store.NewCursors(bytes.Repeat([]byte{seed}, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzCursorOpen opens arbitrary cursors: never a panic, never a success
// (only a cursor sealed with the key opens), always ErrBadCursor.
func FuzzCursorOpen(f *testing.F) {
	c := fuzzCursors(f, 1)
	good, err := c.Seal("acct_1", "members", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#acct_1"}, "sk": &types.AttributeValueMemberS{Value: "MEMBER#m_1"}})
	if err != nil {
		f.Fatal(err)
	}
	// Sealed with another key: as good as garbage here.
	other, _ := fuzzCursors(f, 2).Seal("acct_1", "members", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}})
	for _, s := range []string{"garbage", "", "AAAA", strings.Repeat("A", 40), strings.Repeat("_", 3000), good[:len(good)-1], good + "A", other, "eyJwayI6IngifQ", "===="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		start, err := c.Open("acct_1", "members", cursor)
		if cursor == "" {
			if err != nil || start != nil {
				t.Fatalf("empty cursor: %v, %v", start, err)
			}
			return
		}
		if cursor == good {
			return
		}
		if err == nil || !errors.Is(err, store.ErrBadCursor) || start != nil {
			t.Fatalf("Open(%q) = %v, %v; want ErrBadCursor", cursor, start, err)
		}
	})
}

// FuzzCursorBinding seals a cursor for one account and list and opens it
// for another, and tampered: it opens only for the same account and list,
// untampered, giving back the key it sealed.
func FuzzCursorBinding(f *testing.F) {
	f.Add("acct_1", "members", "acct_1", "members", "MEMBER#m_1", 0, byte(0))
	f.Add("acct_1", "members", "acct_2", "members", "MEMBER#m_1", 3, byte(1))
	f.Add("acct_1", "members", "acct_1", "invitations", "x", 10, byte(0x80))
	f.Add("a", "bc", "ab", "c", "k", 0, byte(0))
	f.Fuzz(func(t *testing.T, account, list, account2, list2, sk string, at int, flip byte) {
		// Account ids and list names are ids of the server's own making:
		// letters, digits, '_', '.', '-' (never NUL, which separates them
		// in the sealed data).
		// Key attributes are DynamoDB strings: valid UTF-8.
		// Nothing to check for other input (a return, not a skip, so the
		// committed corpus counts as passed).
		if strings.ContainsRune(account+list+account2+list2, 0) || !utf8.ValidString(sk) {
			return
		}
		c := fuzzCursors(t, 7)
		last := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + account}, "sk": &types.AttributeValueMemberS{Value: sk}}
		cur, err := c.Seal(account, list, last)
		if err != nil {
			t.Fatal(err)
		}
		start, err := c.Open(account2, list2, cur)
		// Over 2048 characters a cursor is refused unread.
		same := account == account2 && list == list2 && len(cur) <= 2048
		if same != (err == nil) {
			t.Fatalf("sealed for %q/%q, opened for %q/%q: %v", account, list, account2, list2, err)
		}
		if same {
			if s, ok := start["sk"].(*types.AttributeValueMemberS); !ok || s.Value != sk || len(start) != 2 {
				t.Fatalf("opened %v, sealed sk %q", start, sk)
			}
		}
		// Any change to the sealed bytes is refused.
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(raw) == 0 {
			t.Fatalf("cursor %q is not base64url: %v", cur, err)
		}
		if flip == 0 {
			flip = 1
		}
		if at < 0 {
			at = -at
		}
		raw[at%len(raw)] ^= flip
		if _, err := c.Open(account, list, base64.RawURLEncoding.EncodeToString(raw)); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("tampered cursor opened: %v", err)
		}
	})
}
