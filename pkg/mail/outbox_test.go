package mail_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/mail"
)

// mapDeduper is a test double of the mail.Deduper interface (not of
// DynamoDB): a mutex-guarded map from key to message id ("" while open).
type mapDeduper struct {
	mu   sync.Mutex
	keys map[string]string
}

func newMapDeduper() *mapDeduper { return &mapDeduper{keys: map[string]string{}} }

func (d *mapDeduper) Claim(_ context.Context, key string) (bool, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.keys[key]; ok {
		return false, id, nil
	}
	d.keys[key] = ""
	return true, "", nil
}

func (d *mapDeduper) Done(_ context.Context, key, messageID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[key] = messageID
	return nil
}

func (d *mapDeduper) Release(_ context.Context, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys[key] == "" {
		delete(d.keys, key)
	}
	return nil
}

// flakySender fails its first n sends, then passes them to next.
type flakySender struct {
	next  mail.Sender
	fails int
}

var errFlaky = errors.New("ses unavailable")

func (f *flakySender) Send(ctx context.Context, m mail.Message) (string, error) {
	if f.fails > 0 {
		f.fails--
		return "", errFlaky
	}
	return f.next.Send(ctx, m)
}

func countTo(t *testing.T, emu *testenv.SESEmulator, addr string) int {
	t.Helper()
	n := 0
	for _, e := range emu.Emails(t, time.Time{}) {
		if e.SentTo(addr) {
			n++
		}
	}
	return n
}

func outboxMessage(to string) mail.Message {
	return mail.Message{To: []mail.Address{{Email: to}}, Subject: "Approval needed", Text: "text", HTML: "<p>html</p>"}
}

func TestOutboxSendsOncePerKey(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	o := mail.Outbox{Sender: s, Deduper: newMapDeduper()}
	to := testenv.NewID("approver") + "@example.com"
	key := testenv.NewID("approval") + "/level-1/" + to
	ctx := context.Background()

	id1, sent1, err := o.Send(ctx, key, outboxMessage(to))
	if err != nil || !sent1 || id1 == "" {
		t.Fatalf("first Send = %q, %v, %v; want an id, sent", id1, sent1, err)
	}
	id2, sent2, err := o.Send(ctx, key, outboxMessage(to))
	if err != nil || sent2 || id2 != id1 {
		t.Fatalf("second Send = %q, %v, %v; want %q, not sent", id2, sent2, err, id1)
	}
	if n := countTo(t, emu, to); n != 1 {
		t.Fatalf("%d emails to %s, want 1", n, to)
	}

	// Another key sends again.
	if _, sent, err := o.Send(ctx, key+"/reminder", outboxMessage(to)); err != nil || !sent {
		t.Fatalf("Send with another key = %v, %v", sent, err)
	}
	if n := countTo(t, emu, to); n != 2 {
		t.Fatalf("%d emails to %s, want 2", n, to)
	}
}

func TestOutboxReleasesOnFailure(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	o := mail.Outbox{Sender: &flakySender{next: s, fails: 1}, Deduper: newMapDeduper()}
	to := testenv.NewID("retry") + "@example.com"
	key := testenv.NewID("invite")
	ctx := context.Background()

	if _, sent, err := o.Send(ctx, key, outboxMessage(to)); !errors.Is(err, errFlaky) || sent {
		t.Fatalf("first Send = %v, %v; want the send error", sent, err)
	}
	id, sent, err := o.Send(ctx, key, outboxMessage(to))
	if err != nil || !sent || id == "" {
		t.Fatalf("retry = %q, %v, %v; want sent", id, sent, err)
	}
	if n := countTo(t, emu, to); n != 1 {
		t.Fatalf("%d emails to %s, want 1", n, to)
	}

	// An invalid message releases its claim too.
	bad := outboxMessage(to)
	bad.Subject = "a\nb"
	key2 := testenv.NewID("invite")
	if _, _, err := o.Send(ctx, key2, bad); !errors.Is(err, mail.ErrInvalid) {
		t.Fatalf("Send invalid = %v, want ErrInvalid", err)
	}
	if _, sent, err := o.Send(ctx, key2, outboxMessage(to)); err != nil || !sent {
		t.Fatalf("Send after invalid = %v, %v; want sent", sent, err)
	}
}

func TestOutboxOpenClaim(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	d := newMapDeduper()
	o := mail.Outbox{Sender: s, Deduper: d}
	to := testenv.NewID("open") + "@example.com"
	key := testenv.NewID("approval")
	// An attempt that claimed the key and died before Done.
	if first, _, _ := d.Claim(context.Background(), key); !first {
		t.Fatal("claim not first")
	}
	if _, sent, err := o.Send(context.Background(), key, outboxMessage(to)); !errors.Is(err, mail.ErrInProgress) || sent {
		t.Fatalf("Send = %v, %v; want ErrInProgress", sent, err)
	}
	if n := countTo(t, emu, to); n != 0 {
		t.Fatalf("%d emails sent under an open claim", n)
	}
	if _, _, err := o.Send(context.Background(), "", outboxMessage(to)); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestOutboxConcurrentRetries(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	o := mail.Outbox{Sender: s, Deduper: newMapDeduper()}
	to := testenv.NewID("concurrent") + "@example.com"
	key := testenv.NewID("digest")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := o.Send(context.Background(), key, outboxMessage(to)); err != nil && !errors.Is(err, mail.ErrInProgress) {
				t.Errorf("Send: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := countTo(t, emu, to); n != 1 {
		t.Fatalf("%d emails to %s, want 1", n, to)
	}
}
