// Package streamtail is the local stack's stand-in for the Lambda event
// source mapping that feeds the eventpublisher function in AWS: it reads
// the stream of the table in DynamoDB Local (which serves DynamoDB
// Streams on its own endpoint) and hands each batch of new audit items to
// the same publisher (pkg/events.Publisher) the Lambda runs.
//
// It starts at the stream's end (changes made before it started are not
// published again on a restart of make run), follows new shards from
// their start, and retries a batch the publisher fails until it succeeds,
// as the event source mapping does.
package streamtail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/store"
)

// StreamsAPI is the part of the DynamoDB Streams client the tail uses.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Tail reads one stream.
type Tail struct {
	Client StreamsAPI
	// Stream is the stream's ARN (store.LatestStream).
	Stream string
	// Publish receives each batch of audit events, oldest first.
	Publish func(ctx context.Context, batch []audit.Event) error
	Logger  *slog.Logger
	// Every is the polling interval (default 100 ms).
	Every time.Duration
}

type shard struct {
	iterator string
	pending  []audit.Event
}

// Run reads until ctx ends. started, when not nil, is closed once the
// tail has found the stream's open shards (changes from then on are
// published).
func (t *Tail) Run(ctx context.Context, started chan<- struct{}) error {
	every := t.Every
	if every == 0 {
		every = 100 * time.Millisecond
	}
	log := t.Logger
	if log == nil {
		log = slog.Default()
	}
	shards := map[string]*shard{}
	done := map[string]bool{}
	first := true
	lastDescribe := time.Time{}
	for {
		if time.Since(lastDescribe) > time.Second || first {
			if err := t.discover(ctx, shards, done, first); err != nil {
				log.WarnContext(ctx, "stream tail: describe", "error", err)
			} else {
				lastDescribe = time.Now()
				if first {
					first = false
					if started != nil {
						close(started)
					}
				}
			}
		}
		for id, sh := range shards {
			if err := t.read(ctx, sh); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.WarnContext(ctx, "stream tail: read", "shard", id, "error", err)
				var expired *stypes.ExpiredIteratorException
				if errors.As(err, &expired) {
					delete(shards, id)
				}
				continue
			}
			if sh.iterator == "" && len(sh.pending) == 0 {
				delete(shards, id)
				done[id] = true
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// discover adds the shards not yet read: at the start, the open ones from
// their end; later, new ones from their start.
func (t *Tail) discover(ctx context.Context, shards map[string]*shard, done map[string]bool, atStart bool) error {
	var last *string
	for {
		out, err := t.Client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(t.Stream), ExclusiveStartShardId: last})
		if err != nil {
			return err
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if shards[id] != nil || done[id] {
				continue
			}
			closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			kind := stypes.ShardIteratorTypeTrimHorizon
			if atStart {
				if closed {
					done[id] = true
					continue
				}
				kind = stypes.ShardIteratorTypeLatest
			}
			it, err := t.Client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(t.Stream), ShardId: s.ShardId, ShardIteratorType: kind})
			if err != nil {
				return fmt.Errorf("shard %s: %w", id, err)
			}
			shards[id] = &shard{iterator: aws.ToString(it.ShardIterator)}
		}
		last = out.StreamDescription.LastEvaluatedShardId
		if last == nil {
			return nil
		}
	}
}

// read publishes what a shard holds: first a batch that failed before,
// then the next records.
func (t *Tail) read(ctx context.Context, sh *shard) error {
	if len(sh.pending) == 0 && sh.iterator != "" {
		out, err := t.Client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(sh.iterator), Limit: aws.Int32(1000)})
		if err != nil {
			return err
		}
		sh.iterator = aws.ToString(out.NextShardIterator)
		for _, r := range out.Records {
			if r.EventName != stypes.OperationTypeInsert || r.Dynamodb == nil {
				continue
			}
			img, err := ImageFromStreams(r.Dynamodb.NewImage)
			if err != nil {
				return err
			}
			ev, ok, err := store.AuditFromImage(img)
			if err != nil {
				return err
			}
			if ok {
				sh.pending = append(sh.pending, ev)
			}
		}
	}
	if len(sh.pending) == 0 {
		return nil
	}
	if err := t.Publish(ctx, sh.pending); err != nil {
		return fmt.Errorf("publish %d audit events (retried): %w", len(sh.pending), err)
	}
	sh.pending = nil
	return nil
}
