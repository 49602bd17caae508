package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
)

// Session is a signed-in session: the refresh token's current hash (only
// hashes are stored), the last few hashes it replaced (to detect reuse),
// and who it is for.
//
// A session ends at ExpiresAt (its absolute life, fixed at sign-in), at
// IdleExpiresAt (moved forward by every refresh), or when revoked.
type Session struct {
	ID         string
	IdentityID string
	AccountID  string
	MemberID   string
	// ImpersonatorID is the admin acting as MemberID, for an impersonated
	// session.
	ImpersonatorID string
	RefreshHash    string
	// PortalHash is the hash of the secret of a portal session's cookie
	// (pkg/portal): set only on portal sessions, whose RefreshHash is
	// unusable (they never refresh).
	PortalHash string
	// BackURL is where a portal session links back to (the host app's
	// returnUrl on its allowed origins), when given.
	BackURL string
	// ReturnSessionID is, for a portal session in which an administrator
	// acts as a member, the administrator's own portal session it was
	// opened from (stopping returns to it).
	ReturnSessionID string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	// IdleExpiresAt is when the session ends unless refreshed before;
	// zero means no idle limit (sessions written before it existed).
	IdleExpiresAt time.Time
	// Refreshes counts the rotations of the refresh token; Replaced is how
	// many replaced hashes the session remembers (at most
	// MaxReplacedHashes).
	Refreshes, Replaced int
	RevokedAt           time.Time
}

// Active reports whether the session can be used at now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && (s.IdleExpiresAt.IsZero() || now.Before(s.IdleExpiresAt))
}

// Session failures.
var (
	// ErrSessionNotFound: no such session (or it aged out).
	ErrSessionNotFound = errors.New("session not found")
	// ErrRefreshInvalid: the refresh token is not the session's current
	// one, nor a recently replaced one; or the session ended.
	ErrRefreshInvalid = errors.New("refresh token invalid")
	// ErrRefreshReused: a replaced refresh token of the session was used
	// again; the session is now revoked.
	ErrRefreshReused = errors.New("refresh token reused; session revoked")
)

// Reuse detection keeps the hashes of the refresh tokens a session
// replaced, bounded: the list grows to MaxReplacedHashes, and the refresh
// that would pass it keeps only the newest KeptReplacedHashes (itself
// included). So a session's item stays small however often it is
// refreshed, and reusing any of at least the last KeptReplacedHashes
// replaced tokens revokes the session; an older one is merely invalid.
const (
	MaxReplacedHashes  = 16
	KeptReplacedHashes = 8
)

type sessionItem struct {
	PK             string    `dynamodbav:"pk"`
	SK             string    `dynamodbav:"sk"`
	GSI1PK         string    `dynamodbav:"gsi1pk"`
	GSI1SK         string    `dynamodbav:"gsi1sk"`
	Type           string    `dynamodbav:"type"`
	ID             string    `dynamodbav:"id"`
	IdentityID     string    `dynamodbav:"identityId"`
	AccountID      string    `dynamodbav:"accountId"`
	MemberID       string    `dynamodbav:"memberId"`
	ImpersonatorID string    `dynamodbav:"impersonatorId,omitempty"`
	RefreshHash    string    `dynamodbav:"refreshHash"`
	PortalHash     string    `dynamodbav:"portalHash,omitempty"`
	BackURL        string    `dynamodbav:"backUrl,omitempty"`
	ReturnSession  string    `dynamodbav:"returnSessionId,omitempty"`
	PrevHashes     []string  `dynamodbav:"prevHashes"`
	CreatedAt      time.Time `dynamodbav:"createdAt"`
	ExpiresAt      int64     `dynamodbav:"expiresAt"`
	IdleExpiresAt  int64     `dynamodbav:"idleExpiresAt,omitempty"`
	Refreshes      int       `dynamodbav:"refreshes,omitempty"`
	RevokedAt      int64     `dynamodbav:"revokedAt,omitempty"`
	TTL            int64     `dynamodbav:"ttl"`
}

func toSessionItem(s Session) sessionItem {
	it := sessionItem{
		PK: key(prefixSession, s.ID), SK: prefixSession,
		GSI1PK: identitySessionsPK(s.IdentityID), GSI1SK: s.ID, Type: typeSession,
		ID: s.ID, IdentityID: s.IdentityID, AccountID: s.AccountID, MemberID: s.MemberID,
		ImpersonatorID: s.ImpersonatorID, RefreshHash: s.RefreshHash, PortalHash: s.PortalHash, BackURL: s.BackURL, ReturnSession: s.ReturnSessionID, PrevHashes: []string{},
		CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.Unix(), TTL: s.ExpiresAt.Add(tokenGrace).Unix(),
	}
	if !s.IdleExpiresAt.IsZero() {
		it.IdleExpiresAt = s.IdleExpiresAt.Unix()
		if s.IdleExpiresAt.Before(s.ExpiresAt) {
			it.TTL = s.IdleExpiresAt.Add(tokenGrace).Unix()
		}
	}
	return it
}

func (it sessionItem) session() Session {
	s := Session{
		ID: it.ID, IdentityID: it.IdentityID, AccountID: it.AccountID, MemberID: it.MemberID,
		ImpersonatorID: it.ImpersonatorID, RefreshHash: it.RefreshHash, PortalHash: it.PortalHash, BackURL: it.BackURL, ReturnSessionID: it.ReturnSession,
		CreatedAt: it.CreatedAt, ExpiresAt: time.Unix(it.ExpiresAt, 0), Refreshes: it.Refreshes,
		Replaced: len(it.PrevHashes),
	}
	if it.IdleExpiresAt != 0 {
		s.IdleExpiresAt = time.Unix(it.IdleExpiresAt, 0)
	}
	if it.RevokedAt != 0 {
		s.RevokedAt = time.Unix(it.RevokedAt, 0)
	}
	return s
}

// CreateSession writes a new session with its event (sign-in,
// impersonation).
func (s *Store) CreateSession(ctx context.Context, sess Session, ev audit.Event) error {
	return s.Commit(ctx, NewTx(ev).Put(marshal(toSessionItem(sess)), ItemAbsent(), nil))
}

// CreateSessionWithToken writes a new session with its event in the
// transaction that consumes the one-time token (hash, of kind, current for
// subject) it was opened with: a portal link opens one session at most.
// When the token cannot be used, the error wraps ErrTokenInvalid
// (TokenFailure tells used and expired apart).
func (s *Store) CreateSessionWithToken(ctx context.Context, sess Session, hash, kind, subject string, now time.Time, ev audit.Event) error {
	return s.Commit(ctx, NewTx(ev).ConsumeToken(hash, kind, subject, now).Put(marshal(toSessionItem(sess)), ItemAbsent(), nil))
}

// TouchSession moves a live session's idle end to idleAt (and its expiry
// attribute with it, never past the absolute end): a portal session's
// requests keep it alive. A session that ended meanwhile is
// ErrSessionNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, now, idleAt time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: sessionKey(id),
		UpdateExpression:    aws.String("SET #idle = :idle, #ttl = :ttl"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND attribute_not_exists(#rev) AND #exp > :now AND #idle > :now"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#rev": "revokedAt", "#exp": "expiresAt", "#idle": "idleExpiresAt", "#ttl": AttrTTL,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.Unix()), ":idle": num(idleAt.Unix()), ":ttl": num(idleAt.Add(tokenGrace).Unix()),
		},
	})
	if IsConditionFailed(err) {
		return ErrSessionNotFound
	}
	return mapWriteError("touch session", err, nil)
}

// ReplaceSession revokes session old (which must still be unrevoked) and
// writes next in one transaction with its event: an impersonation's end
// gives the administrator a fresh portal session for the one it left.
func (s *Store) ReplaceSession(ctx context.Context, old string, next Session, now time.Time, ev audit.Event) error {
	return s.Commit(ctx, NewTx(ev).
		Update(sessionKey(old), Cond{Expr: "SET #rev = :now", Names: map[string]string{"#rev": "revokedAt"}, Values: map[string]types.AttributeValue{":now": num(now.Unix())}},
			&Cond{Expr: "attribute_exists(#pk) AND attribute_not_exists(#rev)", Names: map[string]string{"#pk": AttrPK, "#rev": "revokedAt"}}, ErrSessionNotFound).
		Put(marshal(toSessionItem(next)), ItemAbsent(), nil))
}

// GetSession reads a session.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	var it sessionItem
	if err := s.getItem(ctx, sessionKey(id), &it, ErrSessionNotFound); err != nil {
		return Session{}, err
	}
	return it.session(), nil
}

// RotateRefresh replaces the session's refresh hash presented with next,
// in one conditional write, so that of two refreshes with one token only
// one succeeds; the session's idle limit moves to now+idle (never past
// its absolute end, which does not move). Presenting a replaced hash that
// is still remembered revokes the session and answers ErrRefreshReused;
// anything else that does not match, or a session that ended (revoked,
// past its absolute or idle limit), answers ErrRefreshInvalid.
func (s *Store) RotateRefresh(ctx context.Context, id, presented, next string, now time.Time, idle time.Duration) (Session, error) {
	idleAt := now.Add(idle)
	names := map[string]string{
		"#rh": "refreshHash", "#prev": "prevHashes", "#rev": "revokedAt", "#exp": "expiresAt",
		"#idle": "idleExpiresAt", "#gen": "refreshes", "#ttl": AttrTTL,
	}
	values := map[string]types.AttributeValue{
		":next": str(next), ":cur": str(presented), ":now": num(now.Unix()),
		":idle": num(idleAt.Unix()), ":ttl": num(idleAt.Add(tokenGrace).Unix()),
		":zero": num(0), ":one": num(1),
	}
	live := "#rh = :cur AND attribute_not_exists(#rev) AND #exp > :now AND (attribute_not_exists(#idle) OR #idle > :now)"
	set := "SET #rh = :next, #idle = :idle, #ttl = :ttl, #gen = if_not_exists(#gen, :zero) + :one, "
	// The usual rotation appends to the list while it has room.
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: sessionKey(id),
		UpdateExpression:                    aws.String(set + "#prev = list_append(if_not_exists(#prev, :empty), :presented)"),
		ConditionExpression:                 aws.String(live + " AND (attribute_not_exists(#prev) OR size(#prev) < :max)"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           withValues(values, map[string]types.AttributeValue{":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, ":max": num(MaxReplacedHashes), ":presented": &types.AttributeValueMemberL{Value: []types.AttributeValue{str(presented)}}}),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for attempt := 0; ; attempt++ {
		out, err := s.db.UpdateItem(ctx, in)
		if err == nil {
			var it sessionItem
			if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
				return Session{}, fmt.Errorf("rotate refresh: %w", err)
			}
			return it.session(), nil
		}
		ce := conditionFailed(err, nil)
		if ce == nil {
			return Session{}, fmt.Errorf("rotate refresh: %w", err)
		}
		if ce.Item == nil {
			return Session{}, ErrRefreshInvalid
		}
		var it sessionItem
		if err := attributevalue.UnmarshalMap(ce.Item, &it); err != nil {
			return Session{}, fmt.Errorf("rotate refresh: %w", err)
		}
		sess := it.session()
		if !sess.RevokedAt.IsZero() {
			return Session{}, ErrRefreshInvalid
		}
		if slices.Contains(it.PrevHashes, presented) {
			if err := s.RevokeSession(ctx, id, now); err != nil {
				return Session{}, err
			}
			return Session{}, ErrRefreshReused
		}
		if it.RefreshHash != presented || !sess.Active(now) || len(it.PrevHashes) < MaxReplacedHashes || attempt > 0 {
			return Session{}, ErrRefreshInvalid
		}
		// The list is full: the same rotation, keeping only the newest
		// replaced hashes, on the condition that the list is still the one
		// read (the current hash, checked too, makes that so).
		kept := it.PrevHashes[len(it.PrevHashes)-(KeptReplacedHashes-1):]
		list := make([]types.AttributeValue, 0, KeptReplacedHashes)
		for _, h := range kept {
			list = append(list, str(h))
		}
		list = append(list, str(presented))
		in.UpdateExpression = aws.String(set + "#prev = :kept")
		in.ConditionExpression = aws.String(live)
		in.ExpressionAttributeValues = withValues(values, map[string]types.AttributeValue{":kept": &types.AttributeValueMemberL{Value: list}})
	}
}

func withValues(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// RevokeSession ends a session (logout, reuse detected, member removed).
// Revoking an ended or missing session is not an error.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: sessionKey(id),
		UpdateExpression:          aws.String("SET #rev = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#rev)"),
		ExpressionAttributeNames:  map[string]string{"#rev": "revokedAt", "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if err := mapWriteError("revoke session", err, nil); err != nil && !IsConditionFailed(err) {
		return err
	}
	return nil
}

// RevokeSessions ends every session of an identity (password reset), or
// only those in one account for one member when member is set (a member
// suspended or deleted). It reads the identity's sessions through gsi1.
func (s *Store) RevokeSessions(ctx context.Context, identityID, accountID, memberID string, now time.Time) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(identitySessionsPK(identityID))},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list sessions: %w", err)
		}
		var items []sessionItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return fmt.Errorf("list sessions: %w", err)
		}
		for _, it := range items {
			if it.RevokedAt != 0 || (memberID != "" && (it.AccountID != accountID || it.MemberID != memberID)) {
				continue
			}
			if err := s.RevokeSession(ctx, it.ID, now); err != nil {
				return err
			}
		}
	}
	return nil
}
