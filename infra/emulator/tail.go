package emulator

import (
	"bytes"
	"strings"
	"sync"
)

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct {
	mu       sync.Mutex
	maxLines int
	maxBytes int
	buf      []byte
}

func newTailBuffer(maxLines, maxBytes int) *tailBuffer {
	return &tailBuffer{maxLines: maxLines, maxBytes: maxBytes}
}

// Write appends b and drops what falls outside the limits.
func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*t.maxBytes {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.maxBytes:]...)
	}
	return len(b), nil
}

// String returns at most maxLines last lines (and maxBytes bytes),
// indented for quoting in an error.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	b := bytes.TrimRight(t.buf, "\n")
	if len(b) > t.maxBytes {
		b = b[len(b)-t.maxBytes:]
	}
	s := string(b)
	t.mu.Unlock()
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > t.maxLines {
		lines = lines[len(lines)-t.maxLines:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
