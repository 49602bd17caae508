package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Paths of the Lambda Runtime API (version 2018-06-01), as the runtime
// client in aws-lambda-go calls them.
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathResponse  = "/2018-06-01/runtime/invocation/{id}/response"
	pathError     = "/2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "/2018-06-01/runtime/init/error"
)

// Headers of GET /next and of an error post.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// maxPayload is Lambda's limit on a synchronous response (6 MB).
const maxPayload = 6 << 20

// Kinds of answer a function process gives.
const (
	kindResponse  = "response"
	kindError     = "error"
	kindInitError = "init error"
)

// answer is what a function process posted for its invocation.
type answer struct {
	// At is when the post's body had been read.
	At time.Time
	// Kind is kindResponse, kindError or kindInitError.
	Kind string
	// Body is the posted payload.
	Body []byte
	// ErrorType is the error's type (errorType of the body, or the
	// Lambda-Runtime-Function-Error-Type header) for the error kinds.
	ErrorType string
}

// invocation is the one event a function process gets from the fake.
type invocation struct {
	// ID is the request id (Lambda-Runtime-Aws-Request-Id).
	ID string
	// Event is the payload GET /next returns.
	Event []byte
	// Deadline is sent as Lambda-Runtime-Deadline-Ms.
	Deadline time.Time
	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string
	// TraceID is sent as Lambda-Runtime-Trace-Id (an X-Ray header, not
	// sampled).
	TraceID string

	// next receives the time of the first GET /next (init done).
	next chan time.Time
	// result receives the first response, error or init error.
	result chan answer

	delivered, answered bool // guarded by runtimeAPI.mu
}

// runtimeAPI is a minimal fake of the Lambda Runtime API on 127.0.0.1 for
// one function process at a time: Arm an invocation, start the process
// with AWS_LAMBDA_RUNTIME_API=Addr; its first GET /next gets the event,
// its post of a response or an error (or an init error) is the answer.
// Any later GET /next blocks, as the real one does between events, until
// the process goes away; so does any GET /next on a connection that has
// had an event already: the late GET /next of a process being killed,
// handled after the next Arm, must not take the next process's event.
type runtimeAPI struct {
	// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
	Addr string

	srv    *http.Server
	closed chan struct{}
	once   sync.Once

	mu  sync.Mutex
	cur *invocation
}

// connKey is the context key of a connection's connState.
type connKey struct{}

// connState is one connection to the fake: whether an event went out on
// it (guarded by runtimeAPI.mu). A process keeps its connection alive
// (aws-lambda-go's client does), so a connection is one process.
type connState struct{ served bool }

// newRuntimeAPI starts the fake on a free port of 127.0.0.1.
func newRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime api: %w", err)
	}
	a := &runtimeAPI{Addr: ln.Addr().String(), closed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, a.handleNext)
	mux.HandleFunc("POST "+pathResponse, a.handlePost(kindResponse))
	mux.HandleFunc("POST "+pathError, a.handlePost(kindError))
	mux.HandleFunc("POST "+pathInitError, a.handlePost(kindInitError))
	a.srv = &http.Server{
		Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
	}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// Close stops the fake; blocked GET /next calls end.
func (a *runtimeAPI) Close() error {
	a.once.Do(func() { close(a.closed) })
	return a.srv.Close()
}

// Arm makes event the invocation the next process gets, with a new
// request id, replacing any previous one.
func (a *runtimeAPI) Arm(event []byte, timeout time.Duration, functionARN string) *invocation {
	inv := &invocation{
		ID:          newRequestID(),
		Event:       event,
		Deadline:    time.Now().Add(timeout),
		FunctionARN: functionARN,
		TraceID:     newTraceID(),
		next:        make(chan time.Time, 1),
		result:      make(chan answer, 1),
	}
	a.mu.Lock()
	a.cur = inv
	a.mu.Unlock()
	return inv
}

// Disarm drops the current invocation: nothing is handed out until the
// next Arm.
func (a *runtimeAPI) Disarm() {
	a.mu.Lock()
	a.cur = nil
	a.mu.Unlock()
}

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	conn, _ := r.Context().Value(connKey{}).(*connState)
	a.mu.Lock()
	inv := a.cur
	deliver := inv != nil && !inv.delivered && (conn == nil || !conn.served)
	if deliver {
		inv.delivered = true
		if conn != nil {
			conn.served = true
		}
	}
	a.mu.Unlock()
	if !deliver {
		// No event for this process (it has had its one): wait, like the
		// real API, until it is killed or the fake closes.
		select {
		case <-r.Context().Done():
		case <-a.closed:
			http.Error(w, `{"errorMessage":"runtime api closed","errorType":"Runtime.Closed"}`, http.StatusGone)
		}
		return
	}
	inv.next <- at
	h := w.Header()
	h.Set(headerRequestID, inv.ID)
	h.Set(headerDeadline, strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	h.Set(headerFunctionARN, inv.FunctionARN)
	h.Set(headerTraceID, inv.TraceID)
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.Event)
}

// handlePost records a response, an invocation error or an init error.
func (a *runtimeAPI) handlePost(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		at := time.Now()
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", err.Error())
				return
			}
			runtimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		ans := answer{At: at, Kind: kind, Body: body}
		if kind != kindResponse {
			ans.ErrorType = r.Header.Get(headerErrorType)
			var e struct {
				Type string `json:"errorType"`
			}
			if json.Unmarshal(body, &e) == nil && e.Type != "" {
				ans.ErrorType = e.Type
			}
		}
		a.mu.Lock()
		inv := a.cur
		var problem string
		switch {
		case inv == nil:
			problem = "no invocation in progress"
		case kind != kindInitError && r.PathValue("id") != inv.ID:
			problem = "unknown request id " + r.PathValue("id")
		case kind != kindInitError && !inv.delivered:
			problem = "invocation not handed out yet"
		case inv.answered:
			problem = "invocation already answered"
		default:
			inv.answered = true
		}
		a.mu.Unlock()
		if problem != "" {
			runtimeError(w, http.StatusBadRequest, "InvalidRequestID", problem)
			return
		}
		inv.result <- ans
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newTraceID returns an X-Ray trace header: Root=1-<time>-<96 random
// bits>, not sampled.
func newTraceID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails
	return fmt.Sprintf("Root=1-%08x-%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(b))
}

// newRequestID returns 32 random hex digits in the 8-4-4-4-12 form of a
// Lambda request id.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
