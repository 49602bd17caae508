package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/localstack/streamtail"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// Events is the local stack's change-events pipeline, the same code as in
// AWS with two stand-ins: the stream of DynamoDB Local is read by
// streamtail (the event source mapping in AWS) and delivery tasks wait in
// an in-process delay queue (SQS in AWS). The publisher, the scheduler,
// the deliverer, its signing, URL checks, retry schedule and disabling
// are the production ones. There is no EventBridge bus locally.
//
// Tasks waiting in the queue are lost when the process stops (make run
// starts the stream from its end again); AWS keeps them in SQS.
type Events struct {
	Publisher *events.Publisher
	Deliverer *webhooks.Deliverer
	Queue     *LocalQueue
	cfg       config.Config
	log       *slog.Logger
}

// NewEvents builds the pipeline over d's store, feed and mail, and points
// d's webhook replays at its queue.
func NewEvents(cfg config.Config, d *server.Deps, log *slog.Logger) *Events {
	q := &LocalQueue{Logger: log}
	del := &webhooks.Deliverer{
		Store: d.Store, Events: d.Events, Queue: q, Policy: webhooks.PolicyFor(cfg.Stage), Logger: log,
	}
	if d.Auth != nil && d.Auth.Mail != nil {
		del.Notify = &webhooks.MailNotifier{Store: d.Store, Mail: d.Auth.Mail}
	}
	q.Handle = del.Handle
	if d.Webhooks != nil {
		d.Webhooks.Queue, d.Webhooks.Source = q, d.Events
	}
	return &Events{
		Publisher: &events.Publisher{Subscribers: &webhooks.Scheduler{Store: d.Store, Queue: q}, Logger: log},
		Deliverer: del, Queue: q, cfg: cfg, log: log,
	}
}

// Run reads the table's stream until ctx ends; started is closed once
// changes from then on are published.
func (ev *Events) Run(ctx context.Context, started chan<- struct{}) error {
	ev.Queue.start(ctx)
	awsCfg, err := awsclient.LoadConfig(ctx, ev.cfg.Region, ev.cfg.Endpoints)
	if err != nil {
		return err
	}
	arn, err := store.LatestStream(ctx, awsclient.DynamoDB(awsCfg, ev.cfg.Endpoints.DynamoDB), ev.cfg.Table)
	if err != nil {
		return err
	}
	if arn == "" {
		return errors.New("the table has no stream (store.EnsureTable switches it on)")
	}
	client := dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(ev.cfg.Endpoints.DynamoDB)
	})
	tail := &streamtail.Tail{Client: client, Stream: arn, Publish: ev.Publisher.Publish, Logger: ev.log}
	return tail.Run(ctx, started)
}

// LocalQueue holds delivery tasks in the process until their delay has
// passed, then runs them (at most 16 at once); a task that fails is run
// again 5 seconds later, as SQS makes a failed message visible again.
type LocalQueue struct {
	Handle func(context.Context, webhooks.Task) error
	Logger *slog.Logger
	mu     sync.Mutex
	ctx    context.Context
	sem    chan struct{}
}

func (q *LocalQueue) start(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ctx, q.sem = ctx, make(chan struct{}, 16)
}

// Send implements webhooks.Queue.
func (q *LocalQueue) Send(_ context.Context, tasks []webhooks.Task, delay time.Duration) error {
	q.mu.Lock()
	ctx, sem := q.ctx, q.sem
	q.mu.Unlock()
	if ctx == nil {
		return errors.New("local delivery queue: not running")
	}
	for _, t := range tasks {
		q.after(ctx, sem, t, delay)
	}
	return nil
}

func (q *LocalQueue) after(ctx context.Context, sem chan struct{}, t webhooks.Task, delay time.Duration) {
	time.AfterFunc(delay, func() {
		if ctx.Err() != nil {
			return
		}
		sem <- struct{}{}
		err := q.Handle(ctx, t)
		<-sem
		if err != nil && ctx.Err() == nil {
			if q.Logger != nil {
				q.Logger.WarnContext(ctx, "webhook delivery task failed; retried in 5 s", "event", t.EventID, "endpoint", t.EndpointID, "error", err)
			}
			q.after(ctx, sem, t, 5*time.Second)
		}
	})
}
