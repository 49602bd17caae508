package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/team"
)

// Webhook endpoints live in the account partition, beside its counter;
// their deliveries in a partition of their own per endpoint.
//
//	endpoint        pk ACCOUNT#{a}                 sk WEBHOOK#{id}
//	endpoint count  pk ACCOUNT#{a}                 sk WEBHOOKS        count
//	delivery        pk DELIVERIES#{a}#{endpoint}   sk {event time}#{event id}  ttl
//
// One Query (pk, begins_with WEBHOOK#) lists an account's endpoints: the
// count item's sort key does not match the prefix. The count keeps an
// account at MaxWebhooks endpoints (created and deleted in the same
// transaction as the endpoint). An endpoint's signing secret is stored
// sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
// store's cursor key, the account and endpoint ids as additional data: a
// table read alone does not reveal it, and a sealed secret cannot be moved
// to another endpoint. Deliveries are keyed by the event's time, so a
// reverse Query lists them newest first, and one event's retries update
// one record; they expire DeliveryRetention after their last update.
const (
	prefixWebhook    = "WEBHOOK"
	skWebhookCount   = "WEBHOOKS"
	prefixDeliveries = "DELIVERIES"
	typeWebhook      = "webhook"
	typeDelivery     = "delivery"
)

func webhookKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixWebhook, id))
}
func webhookCountKey(a string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), skWebhookCount)
}
func deliveriesPK(a, endpoint string) string { return key(prefixDeliveries, a, endpoint) }

// MaxWebhooks is the most endpoints an account may have.
const MaxWebhooks = 20

// DeliveryRetention is how long a delivery record is kept after its last
// update.
const DeliveryRetention = 30 * 24 * time.Hour

// Webhook failures.
var (
	ErrWebhookNotFound = errors.New("webhook endpoint not found")
	// ErrWebhookLimit: the account has MaxWebhooks endpoints already.
	ErrWebhookLimit = errors.New("webhook endpoint limit reached")
	// ErrWebhookStale: the endpoint changed since it was read.
	ErrWebhookStale = errors.New("webhook endpoint changed meanwhile")
)

// Webhook endpoint statuses.
const (
	WebhookActive   = "active"
	WebhookDisabled = "disabled"
)

// Webhook is one endpoint of an account.
type Webhook struct {
	ID        string
	AccountID string
	URL       string
	// Types the endpoint receives; empty means every type.
	Types       []string
	Description string
	// Secret is the signing secret, "whsec_...": in memory only; the
	// item holds it sealed.
	Secret string
	Status string
	// FailingSince is the first failure of the current run of failures;
	// zero when the last delivery succeeded.
	FailingSince time.Time
	DisabledAt   time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

// Wants reports whether the endpoint receives events of type t.
func (w Webhook) Wants(t string) bool {
	if len(w.Types) == 0 {
		return true
	}
	for _, x := range w.Types {
		if x == t {
			return true
		}
	}
	return false
}

type webhookItem struct {
	PK           string   `dynamodbav:"pk"`
	SK           string   `dynamodbav:"sk"`
	Type         string   `dynamodbav:"type"`
	ID           string   `dynamodbav:"id"`
	AccountID    string   `dynamodbav:"accountId"`
	URL          string   `dynamodbav:"url"`
	Types        []string `dynamodbav:"types,omitempty"`
	Description  string   `dynamodbav:"description,omitempty"`
	SealedSecret string   `dynamodbav:"sealedSecret"`
	Status       string   `dynamodbav:"status"`
	FailingSince string   `dynamodbav:"failingSince,omitempty"`
	DisabledAt   string   `dynamodbav:"disabledAt,omitempty"`
	CreatedAt    string   `dynamodbav:"createdAt"`
	UpdatedAt    string   `dynamodbav:"updatedAt"`
	Version      int64    `dynamodbav:"version"`
}

// secretSealer seals webhook secrets under a key derived from the cursor
// key.
func newSecretSealer(cursorKey []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, cursorKey, nil, "steward webhook secrets v1", 32)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key: %w", err)
	}
	return cipher.NewGCM(block)
}

func secretAD(account, id string) []byte { return []byte("webhook\x00" + account + "\x00" + id) }

func (s *Store) sealSecret(account, id, secret string) (string, error) {
	if s.secrets == nil {
		return "", errors.New("store has no secret key")
	}
	nonce := make([]byte, s.secrets.NonceSize(), s.secrets.NonceSize()+len(secret)+s.secrets.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(s.secrets.Seal(nonce, nonce, []byte(secret), secretAD(account, id))), nil
}

func (s *Store) openSecret(account, id, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	ns := s.secrets.NonceSize()
	if err != nil || len(raw) < ns+s.secrets.Overhead() {
		return "", fmt.Errorf("webhook %s: stored secret is malformed", id)
	}
	plain, err := s.secrets.Open(nil, raw[:ns], raw[ns:], secretAD(account, id))
	if err != nil {
		// Another cursor key (the store was built with a per-process key?)
		return "", fmt.Errorf("webhook %s: stored secret does not open under this store's key", id)
	}
	return string(plain), nil
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timeKey(t)
}

func (s *Store) toWebhookItem(w Webhook) (webhookItem, error) {
	sealed, err := s.sealSecret(w.AccountID, w.ID, w.Secret)
	if err != nil {
		return webhookItem{}, err
	}
	return webhookItem{
		PK: accountPK(w.AccountID), SK: key(prefixWebhook, w.ID), Type: typeWebhook,
		ID: w.ID, AccountID: w.AccountID, URL: w.URL, Types: w.Types, Description: w.Description,
		SealedSecret: sealed, Status: w.Status, FailingSince: optTime(w.FailingSince), DisabledAt: optTime(w.DisabledAt),
		CreatedAt: timeKey(w.CreatedAt), UpdatedAt: timeKey(w.UpdatedAt), Version: w.Version,
	}, nil
}

func (s *Store) webhook(it webhookItem) (Webhook, error) {
	w := Webhook{
		ID: it.ID, AccountID: it.AccountID, URL: it.URL, Types: it.Types, Description: it.Description,
		Status: it.Status, Version: it.Version,
	}
	if w.Types == nil {
		w.Types = []string{}
	}
	var err error
	for _, f := range []struct {
		name string
		v    string
		t    *time.Time
	}{{"failingSince", it.FailingSince, &w.FailingSince}, {"disabledAt", it.DisabledAt, &w.DisabledAt}, {"createdAt", it.CreatedAt, &w.CreatedAt}, {"updatedAt", it.UpdatedAt, &w.UpdatedAt}} {
		if *f.t, err = parseKeyTime(f.name, f.v); err != nil {
			return Webhook{}, fmt.Errorf("webhook %s: %w", it.ID, err)
		}
	}
	if w.Secret, err = s.openSecret(it.AccountID, it.ID, it.SealedSecret); err != nil {
		return Webhook{}, err
	}
	return w, nil
}

// webhookTarget is webhook without the secret (not opened: the reader
// needs no key).
func webhookTarget(it webhookItem) Webhook {
	w := Webhook{ID: it.ID, AccountID: it.AccountID, URL: it.URL, Types: it.Types, Status: it.Status, Version: it.Version}
	if w.Types == nil {
		w.Types = []string{}
	}
	return w
}

// CreateWebhook writes a new endpoint of an existing account with its
// event, in one transaction; ErrWebhookLimit when the account has
// MaxWebhooks already.
func (s *Store) CreateWebhook(ctx context.Context, w Webhook, ev audit.Event) error {
	if w.ID == "" || w.AccountID == "" || w.Secret == "" {
		return errors.New("create webhook: id, account and secret are required")
	}
	it, err := s.toWebhookItem(w)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	tx := NewTx(ev)
	tx.Check(accountKey(w.AccountID), ItemPresent(), team.ErrAccountNotFound)
	tx.Update(webhookCountKey(w.AccountID), Cond{
		Expr:   "SET #type = :type ADD #n :one",
		Names:  map[string]string{"#type": AttrType},
		Values: map[string]types.AttributeValue{":type": str(typeWebhook + "count"), ":one": num(1)},
	}, &Cond{
		Expr:   "attribute_not_exists(#n) OR #n < :max",
		Names:  map[string]string{"#n": "count"},
		Values: map[string]types.AttributeValue{":max": num(MaxWebhooks)},
	}, ErrWebhookLimit)
	tx.Put(marshal(it), ItemAbsent(), nil)
	return s.Commit(ctx, tx)
}

// GetWebhook reads an endpoint of an account, its secret opened;
// ErrWebhookNotFound when the account has no such endpoint.
func (s *Store) GetWebhook(ctx context.Context, account, id string) (Webhook, error) {
	if !validWebhookID(id) {
		return Webhook{}, ErrWebhookNotFound
	}
	var it webhookItem
	if err := s.getItem(ctx, webhookKey(account, id), &it, ErrWebhookNotFound); err != nil {
		return Webhook{}, err
	}
	return s.webhook(it)
}

func validWebhookID(id string) bool { return id != "" && len(id) <= 64 && !strings.Contains(id, sep) }

// ListWebhooks lists an account's endpoints (at most MaxWebhooks, so one
// page) in id order, with one strongly consistent Query.
func (s *Store) ListWebhooks(ctx context.Context, account string) ([]Webhook, error) {
	items, err := s.webhookItems(ctx, account)
	if err != nil {
		return nil, err
	}
	ws := make([]Webhook, 0, len(items))
	for _, it := range items {
		w, err := s.webhook(it)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// ListWebhookTargets lists an account's endpoints without their secrets
// (id, URL, types, status): what the event publisher matches events
// against. One strongly consistent Query, so an endpoint created just
// before a change hears of it.
func (s *Store) ListWebhookTargets(ctx context.Context, account string) ([]Webhook, error) {
	items, err := s.webhookItems(ctx, account)
	if err != nil {
		return nil, err
	}
	ws := make([]Webhook, 0, len(items))
	for _, it := range items {
		ws = append(ws, webhookTarget(it))
	}
	return ws, nil
}

func (s *Store) webhookItems(ctx context.Context, account string) ([]webhookItem, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefixWebhook + sep)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	var items []webhookItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return items, nil
}

// UpdateWebhook replaces an endpoint read at version with w (its version
// one more), with its event: updates, secret rotations, disabling and
// re-enabling. ErrWebhookStale when the endpoint changed meanwhile,
// ErrWebhookNotFound when it is gone.
func (s *Store) UpdateWebhook(ctx context.Context, w Webhook, version int64, ev audit.Event) error {
	it, err := s.toWebhookItem(w)
	if err != nil {
		return fmt.Errorf("update webhook: %w", err)
	}
	tx := NewTx(ev)
	tx.Put(marshal(it), VersionIs(version), ErrWebhookStale)
	err = s.Commit(ctx, tx)
	if errors.Is(err, ErrWebhookStale) {
		var ce *ConditionError
		if errors.As(err, &ce) && len(ce.Item) == 0 {
			return ErrWebhookNotFound
		}
	}
	return err
}

// DeleteWebhook deletes an endpoint with its event; its deliveries expire
// on their own. ErrWebhookNotFound when there is none.
func (s *Store) DeleteWebhook(ctx context.Context, account, id string, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Delete(webhookKey(account, id), ItemPresent(), ErrWebhookNotFound)
	tx.Update(webhookCountKey(account), Cond{
		Expr:   "ADD #n :minus",
		Names:  map[string]string{"#n": "count"},
		Values: map[string]types.AttributeValue{":minus": num(-1)},
	}, nil, nil)
	return s.Commit(ctx, tx)
}

// MarkWebhookFailing records the first failure of a run of failures at
// at, unless one is recorded already; ClearWebhookFailing ends the run.
// Neither writes an audit event (the delivery records say what happened)
// nor changes the version, so that they never race an administrator's
// change.
func (s *Store) MarkWebhookFailing(ctx context.Context, account, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: webhookKey(account, id),
		UpdateExpression:          aws.String("SET #fs = :at"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#fs)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#fs": "failingSince"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(timeKey(at))},
	})
	if err := mapWriteError("mark webhook failing", err, nil); err != nil && !IsConditionFailed(err) {
		return err
	}
	return nil
}

// ClearWebhookFailing forgets the endpoint's run of failures.
func (s *Store) ClearWebhookFailing(ctx context.Context, account, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: webhookKey(account, id),
		UpdateExpression:         aws.String("REMOVE #fs"),
		ConditionExpression:      aws.String("attribute_exists(#fs)"),
		ExpressionAttributeNames: map[string]string{"#fs": "failingSince"},
	})
	if err := mapWriteError("clear webhook failing", err, nil); err != nil && !IsConditionFailed(err) {
		return err
	}
	return nil
}

// Delivery statuses.
const (
	DeliveryPending          = "pending"
	DeliverySucceeded        = "succeeded"
	DeliveryFailed           = "failed"
	DeliveryEndpointDisabled = "endpoint_disabled"
)

// Delivery is the record of one event's delivery to one endpoint, updated
// by each attempt.
type Delivery struct {
	AccountID    string
	EndpointID   string
	EventID      string
	EventType    string
	EventTime    time.Time
	Attempts     int
	Status       string
	ResponseCode int
	// LastError is short and holds no secret.
	LastError string
	// NextTry is zero unless a retry is scheduled.
	NextTry   time.Time
	UpdatedAt time.Time
}

type deliveryItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Type         string `dynamodbav:"type"`
	AccountID    string `dynamodbav:"accountId"`
	EndpointID   string `dynamodbav:"endpointId"`
	EventID      string `dynamodbav:"eventId"`
	EventType    string `dynamodbav:"eventType"`
	EventTime    string `dynamodbav:"eventTime"`
	Attempts     int    `dynamodbav:"attempts"`
	Status       string `dynamodbav:"status"`
	ResponseCode int    `dynamodbav:"responseCode,omitempty"`
	LastError    string `dynamodbav:"lastError,omitempty"`
	NextTry      string `dynamodbav:"nextTry,omitempty"`
	UpdatedAt    string `dynamodbav:"updatedAt"`
	TTL          int64  `dynamodbav:"ttl"`
}

// PutDelivery writes a delivery record (no audit event: deliveries change
// nothing people made).
func (s *Store) PutDelivery(ctx context.Context, d Delivery) error {
	if d.AccountID == "" || d.EndpointID == "" || d.EventID == "" {
		return errors.New("put delivery: account, endpoint and event are required")
	}
	if len(d.LastError) > 200 {
		d.LastError = d.LastError[:200]
	}
	it := deliveryItem{
		PK: deliveriesPK(d.AccountID, d.EndpointID), SK: key(timeKey(d.EventTime), d.EventID), Type: typeDelivery,
		AccountID: d.AccountID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType,
		EventTime: timeKey(d.EventTime), Attempts: d.Attempts, Status: d.Status, ResponseCode: d.ResponseCode,
		LastError: d.LastError, NextTry: optTime(d.NextTry), UpdatedAt: timeKey(d.UpdatedAt),
		TTL: d.UpdatedAt.Add(DeliveryRetention).Unix(),
	}
	return s.put(ctx, "put delivery", marshal(it), nil, nil)
}

// ListDeliveries lists an endpoint's delivery records, newest event first,
// limit at a time.
func (s *Store) ListDeliveries(ctx context.Context, account, endpoint string, limit int, cursor string) (Page[Delivery], error) {
	list := "deliveries\x00" + endpoint
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[Delivery]{}, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(deliveriesPK(account, endpoint))},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return Page[Delivery]{}, fmt.Errorf("list deliveries: %w", err)
	}
	var items []deliveryItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page[Delivery]{}, fmt.Errorf("list deliveries: %w", err)
	}
	page := Page[Delivery]{Items: make([]Delivery, 0, len(items))}
	for _, it := range items {
		d := Delivery{
			AccountID: it.AccountID, EndpointID: it.EndpointID, EventID: it.EventID, EventType: it.EventType,
			Attempts: it.Attempts, Status: it.Status, ResponseCode: it.ResponseCode, LastError: it.LastError,
		}
		if d.EventTime, err = parseKeyTime("eventTime", it.EventTime); err != nil {
			return Page[Delivery]{}, err
		}
		if d.NextTry, err = parseKeyTime("nextTry", it.NextTry); err != nil {
			return Page[Delivery]{}, err
		}
		if d.UpdatedAt, err = parseKeyTime("updatedAt", it.UpdatedAt); err != nil {
			return Page[Delivery]{}, err
		}
		page.Items = append(page.Items, d)
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}
