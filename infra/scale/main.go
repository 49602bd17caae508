// Command scale is the bounded loopback scale run of `make scale`: it
// starts DynamoDB Local (in memory) and aws-ses-v2-local on free ports,
// serves Steward's whole API in this process on 127.0.0.1 (every service,
// the in-process approval workflow runner, the alert job's service) over
// a DynamoDB client whose middleware sums the capacity units DynamoDB
// reports (testenv.Capacity, ReturnConsumedCapacity TOTAL), seeds one
// large tenant and many small accounts, then measures each flow over HTTP
// as a signed-in member:
//
//   - checks naming a userId (POST /v1/authz/check);
//   - "waiting for me" (GET /v1/approval-requests?mine=decide), first
//     page, when the newest requests are decided;
//   - deleting a custom role held by many members, reassigning them;
//   - an approval level whose role many members hold, until every one of
//     them has its email (aws-ses-v2-local's store);
//   - the alert preview (GET /v1/alerts/preview) of the large tenant;
//   - one run of the alert job over every account (alerts.Service.Run);
//   - many invitations with custom roles sent at once;
//   - sign-in of an identity that is a member of many accounts.
//
// It prints, per flow, PASS or FAIL against a stated criterion (mostly the
// function timeouts of infra/sizing), the wall time and the read and
// write units consumed, after the seed time. A failing flow does not stop
// the run; the exit status is 1 only when the setup fails, or with
// -strict when a flow failed. Sizes: -preset full (the sizes) or
// small, each overridable by a flag. Every child is stopped on exit.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/localstack/app"
	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/store"
)

// Sizes shape the data set and the flows.
type Sizes struct {
	// Members of the large tenant (owner included), its Stores, custom
	// Roles (at most store.MaxCustomRoles) and purchase-order Documents,
	// each with an approval request; the newest Decided are decided.
	Members, Stores, Roles, Documents, Decided int
	// SmallAccounts besides the large tenant; one identity is a member of
	// Memberships of them.
	SmallAccounts, Memberships int
	// RoleHolders hold the role the delete flow deletes; Approvers the
	// role of the wide approval level.
	RoleHolders, Approvers int
	// Checks and Invitations are the flows' request counts.
	Checks, Invitations int
}

// Presets: full is the sizes; small a quick check of the tool.
var Presets = map[string]Sizes{
	"full":  {Members: 5000, Stores: 200, Roles: 100, Documents: 10000, Decided: 300, SmallAccounts: 1000, Memberships: 120, RoleHolders: 1000, Approvers: 500, Checks: 50, Invitations: 200},
	"small": {Members: 400, Stores: 20, Roles: 20, Documents: 600, Decided: 300, SmallAccounts: 130, Memberships: 120, RoleHolders: 120, Approvers: 60, Checks: 50, Invitations: 50},
}

// Validate reports sizes the seed cannot honour.
func (s Sizes) Validate() error {
	var errs []error
	if s.Roles < 4 || s.Roles > store.MaxCustomRoles {
		errs = append(errs, fmt.Errorf("roles must be 4 to %d", store.MaxCustomRoles))
	}
	if s.Members < s.RoleHolders+s.Approvers+reviewers+2 {
		errs = append(errs, fmt.Errorf("members must be at least role holders + approvers + %d", reviewers+2))
	}
	if s.Stores < 1 || s.Documents < 1 || s.Decided < 0 || s.Decided > s.Documents {
		errs = append(errs, errors.New("need a store, a document, and 0 to documents decided"))
	}
	if s.Memberships < 2 || s.Memberships > s.SmallAccounts {
		errs = append(errs, errors.New("memberships must be 2 to small accounts"))
	}
	if s.RoleHolders < 1 || s.Approvers < 1 || s.Checks < 1 || s.Invitations < 1 {
		errs = append(errs, errors.New("role holders, approvers, checks and invitations must be positive"))
	}
	return errors.Join(errs...)
}

func (s Sizes) String() string {
	return fmt.Sprintf("%d members, %d stores, %d custom roles, %d documents and approval requests (%d decided), %d small accounts; "+
		"role held by %d, level of %d approvers, %d memberships, %d checks, %d invitations",
		s.Members, s.Stores, s.Roles, s.Documents, s.Decided, s.SmallAccounts, s.RoleHolders, s.Approvers, s.Memberships, s.Checks, s.Invitations)
}

func main() {
	preset := flag.String("preset", "full", "sizes: full (the issue's) or small (a quick check)")
	var over Sizes
	flag.IntVar(&over.Members, "members", 0, "members of the large tenant (0: the preset's)")
	flag.IntVar(&over.Stores, "stores", 0, "stores of the large tenant")
	flag.IntVar(&over.Roles, "roles", 0, "custom roles of the large tenant")
	flag.IntVar(&over.Documents, "documents", 0, "documents (each with an approval request)")
	flag.IntVar(&over.Decided, "decided", 0, "newest requests decided")
	flag.IntVar(&over.SmallAccounts, "small-accounts", 0, "small accounts")
	flag.IntVar(&over.Memberships, "memberships", 0, "accounts of the many-membership identity")
	flag.IntVar(&over.RoleHolders, "role-holders", 0, "holders of the deleted role")
	flag.IntVar(&over.Approvers, "approvers", 0, "approvers of the wide level")
	flag.IntVar(&over.Checks, "checks", 0, "checks with userId")
	flag.IntVar(&over.Invitations, "invitations", 0, "invitations sent at once")
	strict := flag.Bool("strict", false, "exit 1 when a flow fails")
	conc := flag.Int("concurrency", 8, "seed writes at once")
	limit := flag.Duration("timeout", time.Hour, "bound on the whole run")
	flag.Parse()

	sizes, ok := Presets[*preset]
	if !ok {
		fmt.Fprintf(os.Stderr, "scale: unknown preset %q (full or small)\n", *preset)
		os.Exit(2)
	}
	sizes = overlay(sizes, over)
	if err := sizes.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}

	emulator.TermWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	rs, err := run(ctx, os.Stdout, sizes, *preset, *conc)
	code := 0
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "scale: stopped early:", context.Cause(ctx))
		}
		fmt.Fprintln(os.Stderr, "scale:", err)
		code = 1
	} else if n := Failed(rs); n > 0 && *strict {
		fmt.Fprintf(os.Stderr, "scale: %d flows failed (-strict)\n", n)
		code = 1
	}
	stop()
	cancel()
	os.Exit(code)
}

// overlay replaces s's fields by o's non-zero ones.
func overlay(s, o Sizes) Sizes {
	pick := func(a *int, b int) {
		if b != 0 {
			*a = b
		}
	}
	pick(&s.Members, o.Members)
	pick(&s.Stores, o.Stores)
	pick(&s.Roles, o.Roles)
	pick(&s.Documents, o.Documents)
	pick(&s.Decided, o.Decided)
	pick(&s.SmallAccounts, o.SmallAccounts)
	pick(&s.Memberships, o.Memberships)
	pick(&s.RoleHolders, o.RoleHolders)
	pick(&s.Approvers, o.Approvers)
	pick(&s.Checks, o.Checks)
	pick(&s.Invitations, o.Invitations)
	return s
}

// run is the whole scale run; every child and the server stop when it
// returns.
func run(ctx context.Context, out io.Writer, sizes Sizes, preset string, conc int) ([]Result, error) {
	began := time.Now()
	fmt.Fprintf(out, "== scale run (%s): %s; %d CPUs, %s\n", preset, sizes, runtime.NumCPU(), runtime.Version())
	root, err := emulator.ProjectRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "steward-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	emuLog, err := os.Create(filepath.Join(tmp, "emulators.log"))
	if err != nil {
		return nil, err
	}
	defer emuLog.Close()
	if err := emulator.EnsureInstalled(ctx, root, out); err != nil {
		return nil, err
	}
	t0 := time.Now()
	dynamo, err := emulator.StartDynamoDB(ctx, emulator.Options{Root: root, Log: emuLog})
	if err != nil {
		return nil, err
	}
	defer stopLogged(out, dynamo.Name, dynamo.PID, dynamo.Stop)
	ses, err := emulator.StartSES(ctx, emulator.Options{Root: root, Log: emuLog})
	if err != nil {
		return nil, err
	}
	defer stopLogged(out, ses.Name, ses.PID, ses.Stop)
	fmt.Fprintf(out, "emulators: DynamoDB Local (in memory) %s, SES %s, ready in %.1fs\n", dynamo.URL, ses.URL, time.Since(t0).Seconds())

	// The API, in this process, on a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	apiURL := "http://" + ln.Addr().String()
	keys, err := accesstoken.NewKeySet()
	if err != nil {
		return nil, err
	}
	cursorKey := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(cursorKey)
	const table = "steward"
	cfg := config.Config{
		Stage: "scale", Table: table, Region: testenv.Region,
		Endpoints: awsclient.Endpoints{DynamoDB: dynamo.URL, SES: ses.URL},
		PublicURL: apiURL, Issuer: apiURL, Audience: "steward", CursorKey: cursorKey,
		MailFrom: "Steward <no-reply@steward.test>", LogLevel: slog.LevelWarn,
	}
	meter := &testenv.Capacity{}
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	db := awsclient.DynamoDB(awsCfg, dynamo.URL, meter.Option)
	if err := store.EnsureTable(ctx, db, table); err != nil {
		return nil, err
	}
	st, err := store.New(db, table, cursorKey)
	if err != nil {
		return nil, err
	}
	srvLog, err := os.Create(filepath.Join(tmp, "server.log"))
	if err != nil {
		return nil, err
	}
	defer srvLog.Close()
	log := slog.New(slog.NewJSONHandler(srvLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	deps, err := app.Deps(ctx, cfg, log, "", app.Secrets{SigningKeys: &keys})
	if err != nil {
		return nil, err
	}
	useStore(&deps, st)
	if c, ok := deps.Approvals.Engine.(io.Closer); ok {
		defer c.Close()
	}
	h, err := server.Handler(deps, "")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	defer printErrors(out, srvLog.Name())
	fmt.Fprintf(out, "api: in process on %s (DynamoDB client metered)\n", apiURL)
	c, err := newClient(apiURL)
	if err != nil {
		return nil, err
	}

	t0 = time.Now()
	hash, err := password.Hash(passphrase, password.DefaultParams)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "password hashed once (argon2id, %s), reused by every identity\n", time.Since(t0).Round(time.Millisecond))
	fmt.Fprintln(out, "\n== seed")
	sd := &seeder{st: st, c: c, hash: hash, sizes: sizes, out: out, conc: conc}
	t0 = time.Now()
	meter.Reset()
	if err := sd.seed(ctx); err != nil {
		return nil, err
	}
	seedTime, seedUnits := time.Since(t0), meter.Reset()
	fmt.Fprintf(out, "seeded in %s (%s write units, %s read units)\n", wall(seedTime), units(round1(seedUnits.Write)), units(round1(seedUnits.Read)))

	fmt.Fprintln(out, "\n== flows")
	f := &flows{c: c, meter: meter, sesURL: ses.URL, w: sd.w, sizes: sizes, alerts: deps.Alerts, out: out}
	rs := f.run(ctx)
	if err := ctx.Err(); err != nil {
		return rs, err
	}
	fmt.Fprintf(out, "\n== results (%s): seed %s; %d of %d flows pass\n\n", preset, wall(seedTime), len(rs)-Failed(rs), len(rs))
	PrintTable(out, rs)
	if n := c.waits.Load(); n > 0 {
		fmt.Fprintf(out, "\nthe client waited out %d answers 429 account_rate_limited (Retry-After) and sent them again\n", n)
	}
	fmt.Fprintf(out, "\nscale run took %s\n", wall(time.Since(began)))
	return rs, nil
}

// useStore points every service at st (the metered client), as the API
// tests' withDynamoOptions does.
func useStore(d *server.Deps, st *store.Store) {
	d.Store = st
	d.Auth.Store = st
	d.Auth.Mail.Deduper = st.Outbox()
	d.Invites.Store = st
	d.APIKeys.Store = st
	d.Members.Store = st
	d.Permissions.Store = st
	d.Alerts.Store = st
	d.Approvals.Store = st
}

func stopLogged(out io.Writer, name string, pid int, stop func() error) {
	if err := stop(); err != nil {
		fmt.Fprintf(out, "stop %s (pid %d): %v\n", name, pid, err)
		return
	}
	fmt.Fprintf(out, "stopped %s (pid %d)\n", name, pid)
}

// printErrors quotes the server log's last error lines, if any.
func printErrors(out io.Writer, path string) {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) == 0 {
		return
	}
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			errs = append(errs, oneLine(l, 400))
		}
	}
	if len(errs) == 0 {
		return
	}
	fmt.Fprintf(out, "\nserver log: %d error lines; the last ones:\n", len(errs))
	for _, l := range errs[max(0, len(errs)-8):] {
		fmt.Fprintln(out, "  "+l)
	}
}
