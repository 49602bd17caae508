package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Token is a one-time token as stored: only its hash, never the token.
// Each (Kind, SubjectID) has one current token; issuing a new one makes
// the older unusable.
type Token struct {
	Hash      string
	Kind      string
	AccountID string
	// SubjectID is what the token acts on: an identity, an invitation, an
	// approval.
	SubjectID string
	ExpiresAt time.Time
	UsedAt    time.Time
	// Data carries small kind-specific values (e.g. the approver's email).
	Data map[string]string
}

// Token failures, classified after a consume loses.
var (
	// ErrTokenInvalid: no such token, or it was replaced by a newer one.
	ErrTokenInvalid = errors.New("token invalid")
	// ErrTokenUsed: the token was used already.
	ErrTokenUsed = errors.New("token already used")
	// ErrTokenExpired: the token's time ran out.
	ErrTokenExpired = errors.New("token expired")
)

// tokenGrace keeps token items a day past expiry, so that a late click
// can be told "expired" rather than "invalid".
const tokenGrace = 24 * time.Hour

type tokenItem struct {
	PK        string            `dynamodbav:"pk"`
	SK        string            `dynamodbav:"sk"`
	Type      string            `dynamodbav:"type"`
	Hash      string            `dynamodbav:"hash"`
	Kind      string            `dynamodbav:"kind"`
	AccountID string            `dynamodbav:"accountId,omitempty"`
	SubjectID string            `dynamodbav:"subjectId"`
	ExpiresAt int64             `dynamodbav:"expiresAt"`
	UsedAt    int64             `dynamodbav:"usedAt,omitempty"`
	Data      map[string]string `dynamodbav:"data,omitempty"`
	TTL       int64             `dynamodbav:"ttl"`
}

func (it tokenItem) token() Token {
	t := Token{Hash: it.Hash, Kind: it.Kind, AccountID: it.AccountID, SubjectID: it.SubjectID, ExpiresAt: time.Unix(it.ExpiresAt, 0), Data: it.Data}
	if it.UsedAt != 0 {
		t.UsedAt = time.Unix(it.UsedAt, 0)
	}
	return t
}

// currentTokenKey points at the current token of a kind for a subject.
func currentTokenKey(kind, subject string) map[string]types.AttributeValue {
	return itemKey(key(prefixToken, kind, subject), "CURRENT")
}

// IssueToken adds to tx the writes that make t the current token of its
// kind for its subject, replacing any earlier one.
func (tx *Tx) IssueToken(t Token) *Tx {
	k := tokenItemKey(t.Kind, t.Hash)
	tx.Put(marshal(tokenItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: prefixToken, Type: typeToken,
		Hash: t.Hash, Kind: t.Kind, AccountID: t.AccountID, SubjectID: t.SubjectID,
		ExpiresAt: t.ExpiresAt.Unix(), Data: t.Data, TTL: t.ExpiresAt.Add(tokenGrace).Unix(),
	}), ItemAbsent(), nil)
	cur := currentTokenKey(t.Kind, t.SubjectID)
	cur[AttrType] = str(typeToken)
	cur["hash"] = str(t.Hash)
	cur[AttrTTL] = &types.AttributeValueMemberN{Value: fmt.Sprint(t.ExpiresAt.Add(tokenGrace).Unix())}
	tx.Put(cur, nil, nil)
	return tx
}

// ConsumeToken adds to tx the writes that use the token: it must exist,
// be of kind, unused, unexpired at now, and still the current token of its
// subject. When the transaction fails on them, Commit returns a
// *ConditionError wrapping ErrTokenInvalid; call TokenFailure to tell
// used and expired apart.
func (tx *Tx) ConsumeToken(hash, kind, subject string, now time.Time) *Tx {
	tx.Update(tokenItemKey(kind, hash), Cond{
		Expr:   "SET #used = :now",
		Values: map[string]types.AttributeValue{":now": num(now.Unix())},
	}, &Cond{
		Expr:   "attribute_exists(#pk) AND #kind = :kind AND attribute_not_exists(#used) AND #exp > :now",
		Names:  map[string]string{"#pk": AttrPK, "#kind": "kind", "#used": "usedAt", "#exp": "expiresAt"},
		Values: map[string]types.AttributeValue{":kind": str(kind)},
	}, ErrTokenInvalid)
	tx.Check(currentTokenKey(kind, subject), &Cond{
		Expr: "#hash = :hash", Names: map[string]string{"#hash": "hash"},
		Values: map[string]types.AttributeValue{":hash": str(hash)},
	}, ErrTokenInvalid)
	return tx
}

// GetToken reads a token by hash (strongly consistent). It finds every
// kind but unsubscribe tokens, which are keyed by kind: read those with
// GetTokenOfKind.
func (s *Store) GetToken(ctx context.Context, hash string) (Token, error) {
	return s.getToken(ctx, tokenKey(hash))
}

// GetTokenOfKind reads a token of kind by hash (strongly consistent); a
// token of another kind is ErrTokenInvalid.
func (s *Store) GetTokenOfKind(ctx context.Context, kind, hash string) (Token, error) {
	t, err := s.getToken(ctx, tokenItemKey(kind, hash))
	if err == nil && t.Kind != kind {
		return Token{}, ErrTokenInvalid
	}
	return t, err
}

func (s *Store) getToken(ctx context.Context, k map[string]types.AttributeValue) (Token, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Token{}, fmt.Errorf("get token: %w", err)
	}
	if out.Item == nil {
		return Token{}, ErrTokenInvalid
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Token{}, fmt.Errorf("get token: %w", err)
	}
	return it.token(), nil
}

// TokenFailure explains why a token could not be consumed at now:
// ErrTokenUsed, ErrTokenExpired or ErrTokenInvalid.
func (s *Store) TokenFailure(ctx context.Context, hash, kind string, now time.Time) error {
	t, err := s.GetTokenOfKind(ctx, kind, hash)
	switch {
	case err != nil:
		return err
	case t.Kind != kind:
		return ErrTokenInvalid
	case !t.UsedAt.IsZero():
		return ErrTokenUsed
	case !now.Before(t.ExpiresAt):
		return ErrTokenExpired
	}
	return ErrTokenInvalid // replaced by a newer token
}

func num(n int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }

// maxIssuePerTx keeps IssueLinkTokens' transactions (two items a token)
// within DynamoDB's 100 items.
const maxIssuePerTx = 45

// IssueLinkTokens makes each of ts the current token of its kind for its
// subject, in transactions of at most 45 tokens. Like
// IssueUnsubscribeToken it writes no audit event: issuing a link changes
// nothing a person sees; using it does (the approval workflow's links,
// minted batch by batch as their emails go out, would otherwise add an
// event per batch).
func (s *Store) IssueLinkTokens(ctx context.Context, ts []Token) error {
	for rest := ts; len(rest) > 0; {
		n := min(len(rest), maxIssuePerTx)
		tx := &Tx{}
		for _, t := range rest[:n] {
			tx.IssueToken(t)
		}
		for i := range tx.items {
			s.setTable(&tx.items[i])
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx.items})
		if err := mapWriteError("issue link tokens", err, tx.onFail); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}
