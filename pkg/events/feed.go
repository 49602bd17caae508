package events

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// Settle is how old an audit event must be before the feed lists it. The
// audit log is ordered by the time each change was stamped, and a change
// stamped earlier may commit a little later than one stamped after it
// (its transaction retried); listing only events older than Settle means
// a reader that resumes from a cursor never skips one.
const Settle = 5 * time.Second

// Feed lists an account's events, oldest first (GET /v1/events).
type Feed struct {
	Store *store.Store
	Now   clock.Clock
	// Settle overrides the package's Settle (tests).
	Settle time.Duration
}

// FeedQuery is one read of the feed.
type FeedQuery struct {
	// After is the cursor of the previous page ("" for the oldest event
	// kept: audit retention, at least 30 days).
	After string
	// Types keeps only these types (none: every type).
	Types []string
	// Limit is 1 to 200 (0: 50).
	Limit int
}

// FeedPage is one page and the cursor to read after it. The cursor is
// given even when the page is empty: polling with it returns what
// happens next.
type FeedPage struct {
	Items []Event
	Next  string
}

// feedList binds feed cursors: a cursor of another list does not open.
const feedList = "events"

// feedReads bounds the audit reads of one page (a narrow types filter may
// skip many events); the page then ends early with its cursor.
const feedReads = 5

var errNoAudit = fault.New(fault.Forbidden, "forbidden", "Reading the events feed needs audit.view.")

// ParseTypes reads the types parameter: comma-separated catalogue types.
func ParseTypes(field, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for t := range strings.SplitSeq(v, ",") {
		t = strings.TrimSpace(t)
		if !Known(t) {
			return nil, fault.InvalidField(field, "unknown event type "+strconv.Quote(t)+" (see the catalogue in the OpenAPI document)")
		}
		out = append(out, t)
	}
	return out, nil
}

// List reads one page of the caller's account's events.
func (f *Feed) List(ctx context.Context, p *auth.Principal, q FeedQuery) (FeedPage, error) {
	if !p.Decide("audit.view", rbac.Resource{Account: p.AccountID(), Type: "account", ID: p.AccountID()}).Allowed {
		return FeedPage{}, errNoAudit
	}
	settle := f.Settle
	if settle == 0 {
		settle = Settle
	}
	page, _, err := f.read(ctx, p.AccountID(), feedList, q.After, "", q.Types, q.Limit, f.now().Add(-settle))
	return page, err
}

// read is one page of an account's events written before until, after
// the cursor (sealed for list) or, without one, from the position from
// ("" for the oldest kept). end says the page reached until.
func (f *Feed) read(ctx context.Context, account, list, cursor, from string, types []string, limit int, until time.Time) (page FeedPage, end bool, err error) {
	pos, err := f.Store.OpenPosition(account, list, cursor)
	if err != nil {
		return FeedPage{}, false, err
	}
	skip := 0
	if pos != nil {
		from = pos["k"]
		if n, err := strconv.Atoi(pos["n"]); err == nil && n > 0 {
			skip = n
		}
	}
	if limit <= 0 {
		limit = store.DefaultPageSize
	}
	limit = min(limit, store.MaxPageSize)
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	page = FeedPage{Items: []Event{}}
	// at, consumed: the last audit item looked at and how many of its
	// events were (the cursor).
	at, consumed := from, skip
read:
	for range feedReads {
		recs, more, err := f.Store.ReadAuditFrom(ctx, account, at, until, store.MaxPageSize)
		if err != nil {
			return FeedPage{}, false, err
		}
		for _, rec := range recs {
			evs := FromAudit(rec.Event)
			start := 0
			if rec.Key == at {
				start = consumed
			}
			at, consumed = rec.Key, start
			for i := start; i < len(evs); i++ {
				if len(page.Items) == limit {
					break read
				}
				consumed = i + 1
				if len(want) == 0 || want[evs[i].Type] {
					page.Items = append(page.Items, evs[i])
				}
			}
			consumed = len(evs)
		}
		if !more {
			end = true
			break
		}
	}
	page.Next, err = f.Store.SealPosition(account, list, map[string]string{"k": at, "n": strconv.Itoa(consumed)})
	return page, end, err
}

// ErrEventNotFound: no such event (never announced, or its audit event
// expired).
var ErrEventNotFound = errors.New("event not found")

// replayList binds replay cursors.
const replayList = "events-since"

// Since lists an account's events written at or after since, oldest
// first, limit at a time, after cursor; next is "" at the end (as of
// now). It serves webhook replays
// (webhooks.Source).
func (f *Feed) Since(ctx context.Context, account string, since time.Time, limit int, cursor string) ([]Event, string, error) {
	page, end, err := f.read(ctx, account, replayList, cursor, store.AuditKeyAt(since), nil, limit, f.now())
	if err != nil {
		return nil, "", err
	}
	if end {
		page.Next = ""
	}
	return page.Items, page.Next, nil
}

// Load finds one event again by its id and time (webhooks.EventLoader):
// one read of the audit event that announced it.
func (f *Feed) Load(ctx context.Context, account, eventID string, at time.Time) (Event, error) {
	auditID := AuditID(eventID)
	if auditID == "" {
		return Event{}, ErrEventNotFound
	}
	ev, err := f.Store.GetAuditEvent(ctx, account, auditID, at)
	if errors.Is(err, store.ErrAuditEventNotFound) {
		return Event{}, ErrEventNotFound
	}
	if err != nil {
		return Event{}, err
	}
	for _, e := range FromAudit(ev) {
		if e.ID == eventID {
			return e, nil
		}
	}
	return Event{}, ErrEventNotFound
}

func (f *Feed) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now.Now()
}
