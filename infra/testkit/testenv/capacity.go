package testenv

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Capacity sums the capacity units DynamoDB reports consuming: its
// middleware asks for ReturnConsumedCapacity TOTAL on every read and
// write (DynamoDB Local reports them as the service would for on-demand
// tables), so benchmarks and the cost test can count units per operation.
// Install it with dynamodb.New(opts, meter.Option) or any client option
// list. Safe for concurrent use.
type Capacity struct {
	mu          sync.Mutex
	read, write float64
	calls       int
}

// Usage is what a Capacity counted since its last Reset.
type Usage struct {
	// Read and Write are capacity units (RCU, WCU); Calls counts the
	// requests that reported any.
	Read, Write float64
	Calls       int
}

// Reset returns the usage so far and starts again from zero.
func (c *Capacity) Reset() Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := Usage{Read: c.read, Write: c.write, Calls: c.calls}
	c.read, c.write, c.calls = 0, 0, 0
	return u
}

// Option installs the meter on a DynamoDB client.
func (c *Capacity) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, c.middleware)
}

func (c *Capacity) add(read bool, ccs ...types.ConsumedCapacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	for _, cc := range ccs {
		if cc.CapacityUnits == nil {
			continue
		}
		if read {
			c.read += *cc.CapacityUnits
		} else {
			c.write += *cc.CapacityUnits
		}
	}
}

// one turns an optional single ConsumedCapacity into a list.
func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

func (c *Capacity) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("stewardConsumedCapacity", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		total := types.ReturnConsumedCapacityTotal
		switch p := in.Parameters.(type) {
		case *dynamodb.QueryInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.ScanInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.GetItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.BatchGetItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.TransactGetItemsInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.PutItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.UpdateItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.DeleteItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.BatchWriteItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.TransactWriteItemsInput:
			p.ReturnConsumedCapacity = total
		}
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		switch r := out.Result.(type) {
		case *dynamodb.QueryOutput:
			c.add(true, one(r.ConsumedCapacity)...)
		case *dynamodb.ScanOutput:
			c.add(true, one(r.ConsumedCapacity)...)
		case *dynamodb.GetItemOutput:
			c.add(true, one(r.ConsumedCapacity)...)
		case *dynamodb.BatchGetItemOutput:
			c.add(true, r.ConsumedCapacity...)
		case *dynamodb.TransactGetItemsOutput:
			c.add(true, r.ConsumedCapacity...)
		case *dynamodb.PutItemOutput:
			c.add(false, one(r.ConsumedCapacity)...)
		case *dynamodb.UpdateItemOutput:
			c.add(false, one(r.ConsumedCapacity)...)
		case *dynamodb.DeleteItemOutput:
			c.add(false, one(r.ConsumedCapacity)...)
		case *dynamodb.BatchWriteItemOutput:
			c.add(false, r.ConsumedCapacity...)
		case *dynamodb.TransactWriteItemsOutput:
			c.add(false, r.ConsumedCapacity...)
		}
		return out, md, nil
	}), middleware.After)
}
