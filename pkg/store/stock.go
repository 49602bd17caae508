package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Stock levels pushed by the host app, one item per store and SKU. An item
// below its threshold also carries the sparse gsi3 keys, so that the alert
// job finds an account's low-stock items with one query of gsi3 and never
// scans the account's whole stock.
//
//	stock  pk ACCOUNT#{a}  sk STOCK#{store}#{sku}
//	       gsi3pk LOWSTOCK#{a}  gsi3sk {store}#{sku}   (only while onHand < threshold)
const (
	prefixStock    = "STOCK"
	prefixLowStock = "LOWSTOCK"
	typeStock      = "stock"
)

func stockSK(storeID, sku string) string { return key(prefixStock, storeID, sku) }
func lowStockPK(a string) string         { return key(prefixLowStock, a) }

// StockLevel is one product's stock in one store.
type StockLevel struct {
	Store     string
	SKU       string
	Name      string
	OnHand    float64
	Threshold float64
	UpdatedAt time.Time
}

// Low reports whether the level is below its threshold.
func (l StockLevel) Low() bool { return l.OnHand < l.Threshold }

type stockItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	GSI3PK    string    `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK    string    `dynamodbav:"gsi3sk,omitempty"`
	Type      string    `dynamodbav:"type"`
	Store     string    `dynamodbav:"store"`
	SKU       string    `dynamodbav:"sku"`
	Name      string    `dynamodbav:"name"`
	OnHand    float64   `dynamodbav:"onHand"`
	Threshold float64   `dynamodbav:"threshold"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// MaxBatchWrite is DynamoDB's limit on items in one BatchWriteItem.
const MaxBatchWrite = 25

// ErrBadStockKey: a store id or SKU is empty or contains the key
// separator "#".
var ErrBadStockKey = errors.New("store and sku must be non-empty and must not contain '#'")

// PutStockLevels writes levels (replacing the stored ones) in
// BatchWriteItem calls of MaxBatchWrite, retrying unprocessed items. A
// level below its threshold gets the gsi3 keys; one at or above it is
// written without them, which takes it out of the sparse index. The caller
// validates the whole batch first; a failure part way leaves earlier
// chunks written (each level is a whole, independent item: pushing the
// batch again converges). No audit event: stock levels are a data feed
// from the host app, not a change made by a person; the API writes one
// summary event per batch (PutStockEvent).
func (s *Store) PutStockLevels(ctx context.Context, account string, levels []StockLevel) error {
	for _, l := range levels {
		if l.Store == "" || l.SKU == "" || strings.Contains(l.Store, sep) || strings.Contains(l.SKU, sep) {
			return ErrBadStockKey
		}
	}
	now := s.now().UTC()
	for start := 0; start < len(levels); start += MaxBatchWrite {
		end := min(start+MaxBatchWrite, len(levels))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, l := range levels[start:end] {
			it := stockItem{
				PK: accountPK(account), SK: stockSK(l.Store, l.SKU), Type: typeStock,
				Store: l.Store, SKU: l.SKU, Name: l.Name, OnHand: l.OnHand, Threshold: l.Threshold, UpdatedAt: now,
			}
			if l.Low() {
				it.GSI3PK, it.GSI3SK = lowStockPK(account), key(l.Store, l.SKU)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: marshal(it)}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return fmt.Errorf("put stock levels: %w", err)
		}
	}
	return nil
}

// batchWrite runs one BatchWriteItem of at most MaxBatchWrite requests,
// retrying unprocessed items with backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	req := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 10 {
				return errors.New("batch write: unprocessed items remain")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
		if err != nil {
			return err
		}
		req = out.UnprocessedItems
	}
	return nil
}

// LowStock returns an account's stock levels below their threshold, in
// store and SKU order, from the sparse gsi3 (eventually consistent, as
// every GSI read). Only low items are read: the cost is proportional to
// them, not to the account's stock.
func (s *Store) LowStock(ctx context.Context, account string) ([]StockLevel, error) {
	var out []StockLevel
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexGSI3),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI3PK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(lowStockPK(account))},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("low stock: %w", err)
		}
		var items []stockItem
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return nil, fmt.Errorf("low stock: %w", err)
		}
		for _, it := range items {
			out = append(out, StockLevel{Store: it.Store, SKU: it.SKU, Name: it.Name, OnHand: it.OnHand, Threshold: it.Threshold, UpdatedAt: it.UpdatedAt})
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = res.LastEvaluatedKey
	}
}

// GetStockLevel reads one stock level (ErrNotFound when none).
func (s *Store) GetStockLevel(ctx context.Context, account, storeID, sku string) (StockLevel, error) {
	var it stockItem
	if err := s.getItem(ctx, itemKey(accountPK(account), stockSK(storeID, sku)), &it, ErrNotFound); err != nil {
		return StockLevel{}, err
	}
	return StockLevel{Store: it.Store, SKU: it.SKU, Name: it.Name, OnHand: it.OnHand, Threshold: it.Threshold, UpdatedAt: it.UpdatedAt}, nil
}
