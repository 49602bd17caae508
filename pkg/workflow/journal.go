package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Clock is Runner's time source: the wall clock, or a fake in tests.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed, and a
	// function that releases the timer early.
	After(d time.Duration) (<-chan time.Time, func())
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After starts a time.Timer.
func (RealClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Snapshot is an execution as a Journal stores it.
type Snapshot struct {
	Execution
	// Data is the execution's data (the state's input) at State.
	Data json.RawMessage `json:"data,omitempty"`
	// Token is the pending task token when Awaiting.
	Token string `json:"token,omitempty"`
	// Deadline is when the pending await times out.
	Deadline time.Time `json:"deadline,omitzero"`
	// Awaiting is true once State's await Lambda has run and the
	// execution waits for Token's result: a resumed Runner waits again
	// with the same token until Deadline, without invoking the step.
	Awaiting bool `json:"awaiting,omitempty"`
}

// Journal persists Runner's executions so that a new Runner resumes them.
type Journal interface {
	// Save stores s, replacing the snapshot of the same name.
	Save(ctx context.Context, s Snapshot) error
	// Load returns every stored snapshot.
	Load(ctx context.Context) ([]Snapshot, error)
}

// DirJournal is a Journal keeping one JSON file per execution in a folder
// (created if missing). Writes replace files atomically.
type DirJournal struct {
	dir string
}

var _ Journal = (*DirJournal)(nil)

// NewDirJournal returns a DirJournal in dir, creating dir.
func NewDirJournal(dir string) (*DirJournal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("workflow: journal: %w", err)
	}
	return &DirJournal{dir: dir}, nil
}

// Save writes s to <dir>/<name>.json.
func (j *DirJournal) Save(_ context.Context, s Snapshot) error {
	if err := validName(s.Name); err != nil {
		return fmt.Errorf("workflow: journal: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(j.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("workflow: journal: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("workflow: journal: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(j.dir, s.Name+".json")); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("workflow: journal: %w", err)
	}
	return nil
}

// Load reads every <dir>/*.json, sorted by name.
func (j *DirJournal) Load(_ context.Context) ([]Snapshot, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("workflow: journal: %w", err)
	}
	sort.Slice(entries, func(a, b int) bool { return entries[a].Name() < entries[b].Name() })
	var out []Snapshot
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(j.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("workflow: journal: %w", err)
		}
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("workflow: journal %s: %w", e.Name(), err)
		}
		out = append(out, s)
	}
	return out, nil
}
