package store

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/clock"
)

// Store is the DynamoDB-backed store. Build one per cold start and share it.
type Store struct {
	db      *dynamodb.Client
	table   string
	cursors *Cursors
	// secrets seals webhook signing secrets (webhooks.go), under a key
	// derived from the cursor key.
	secrets cipher.AEAD
	now     clock.Clock
	// actor, when set (Acting), is checked by every Commit.
	actor *Actor
	// roles caches each account's custom roles by version (roles.go).
	roles *rolesCache
	// retention remembers accounts' retention settings (retention.go),
	// shared by the stores Acting returns.
	retention *retentionCache
}

// New returns a Store over the table. cursorKey (32 bytes) seals the
// pagination cursors handed to clients and, through a key derived from it,
// webhook signing secrets at rest (webhooks.go).
func New(db *dynamodb.Client, table string, cursorKey []byte) (*Store, error) {
	c, err := NewCursors(cursorKey)
	if err != nil {
		return nil, err
	}
	sec, err := newSecretSealer(cursorKey)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, table: table, cursors: c, secrets: sec, now: time.Now, roles: &rolesCache{}, retention: newRetentionCache()}, nil
}

// Table is the table name.
func (s *Store) Table() string { return s.table }

// Ping checks that the table answers.
func (s *Store) Ping(ctx context.Context) error {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return fmt.Errorf("describe table: %w", err)
	}
	if out.Table == nil || out.Table.TableStatus != types.TableStatusActive {
		return fmt.Errorf("table %s is not active", s.table)
	}
	return nil
}

// Sentinel errors of the store.
var (
	// ErrNotFound: the item does not exist. Reads never answer nil, nil.
	ErrNotFound = errors.New("store: not found")
	// ErrConditionFailed: a conditional write lost. Writes that name a
	// domain error for their condition return that error instead, which
	// wraps ErrConditionFailed.
	ErrConditionFailed = errors.New("store: condition failed")
)

// NewID returns a random identifier with the given prefix, e.g. "m_3f…".
func NewID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
