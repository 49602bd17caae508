package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stewardhq/steward/pkg/fault"
)

// ErrBadCursor: a pagination cursor that this server did not issue for this
// account and this list, or that was altered.
var ErrBadCursor = fault.ErrBadCursor

// Cursors seals DynamoDB's LastEvaluatedKey into an opaque cursor with
// AES-256-GCM. The account id and the list name are the additional data, so
// a cursor cannot be forged, read, or replayed in another account or list.
type Cursors struct {
	aead cipher.AEAD
}

// CursorKeySize is the size of the cursor key.
const CursorKeySize = 32

// NewCursors returns a sealer over a 32-byte key.
func NewCursors(k []byte) (*Cursors, error) {
	if len(k) != CursorKeySize {
		return nil, fmt.Errorf("cursor key must be %d bytes, got %d", CursorKeySize, len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	return &Cursors{aead: aead}, nil
}

func cursorAD(account, list string) []byte { return []byte(account + "\x00" + list) }

// Seal returns the cursor for a LastEvaluatedKey, or "" when there is no
// next page. Every key attribute of the table is a string.
func (c *Cursors) Seal(account, list string, last map[string]types.AttributeValue) (string, error) {
	if len(last) == 0 {
		return "", nil
	}
	plain := make(map[string]string, len(last))
	for k, v := range last {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("seal cursor: key attribute %s is not a string", k)
		}
		plain[k] = s.Value
	}
	raw, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("seal cursor: %w", err)
	}
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(raw)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nonce, nonce, raw, cursorAD(account, list))), nil
}

// Open returns the ExclusiveStartKey of a cursor, nil for "", or
// ErrBadCursor when the cursor is not one this server sealed for this
// account and list.
func (c *Cursors) Open(account, list, cursor string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	if len(cursor) > 2048 {
		return nil, ErrBadCursor
	}
	sealed, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(sealed) < c.aead.NonceSize()+c.aead.Overhead() {
		return nil, ErrBadCursor
	}
	ns := c.aead.NonceSize()
	raw, err := c.aead.Open(nil, sealed[:ns], sealed[ns:], cursorAD(account, list))
	if err != nil {
		return nil, ErrBadCursor
	}
	var plain map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil || len(plain) == 0 {
		return nil, ErrBadCursor
	}
	out := make(map[string]types.AttributeValue, len(plain))
	for k, v := range plain {
		out[k] = str(v)
	}
	return out, nil
}
