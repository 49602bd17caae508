package apitest

// The seed-case driver (issue 17): every file of testdata/seeds is a set of
// cases, each quoting the sentence of a seed document it proves, run
// against the whole API over HTTP. testdata/seeds/README.md describes the
// format.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedsDir holds the case files.
const seedsDir = "testdata/seeds"

// seedFile is one case file.
type seedFile struct {
	// Preset is sent as "preset" in POST /v1/signup when not empty.
	Preset string     `json:"preset"`
	Seed   string     `json:"seed"`
	Setup  seedSetup  `json:"setup"`
	Cases  []seedCase `json:"cases"`
}

type seedSetup struct {
	Stores      []string        `json:"stores"`
	Departments []string        `json:"departments"`
	Suppliers   []string        `json:"suppliers"`
	Settings    json.RawMessage `json:"settings"`
	Members     []seedMember    `json:"members"`
	APIKeys     []seedAPIKey    `json:"apiKeys"`
}

type seedMember struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Admin       bool             `json:"admin"`
	Status      string           `json:"status"`
	Assignments []map[string]any `json:"assignments"`
}

type seedAPIKey struct {
	ID   string         `json:"id"`
	Body map[string]any `json:"body"`
}

// seedCase is either a decision (As, Action, Resource, Expect) or an API
// sequence (Steps).
type seedCase struct {
	Seed     string         `json:"seed"`
	Quote    string         `json:"quote"`
	As       string         `json:"as"`
	Action   string         `json:"action"`
	Resource map[string]any `json:"resource"`
	Expect   string         `json:"expect"`
	Steps    []seedStep     `json:"steps"`
}

type seedStep struct {
	// Mail, instead of a request: the newest email to this address whose
	// subject holds MailSubject, sent since the file started; its link's
	// token is saved under the one name in Save.
	Mail        string            `json:"mail"`
	MailSubject string            `json:"mailSubject"`
	As          string            `json:"as"`
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Headers     map[string]string `json:"headers"`
	Body        any               `json:"body"`
	Status      int               `json:"status"`
	Code        string            `json:"code"`
	Want        map[string]any    `json:"want"`
	Save        map[string]string `json:"save"`
}

// seedActor is who a case or step acts as.
type seedActor struct {
	id, email, name, token string
	status                 string
}

// seedRun is one file's account, its actors and the values saved so far.
type seedRun struct {
	e       *Env
	file    string
	account string
	actors  map[string]*seedActor
	keys    map[string]string // API key id in the file -> its secret
	vars    map[string]string
	started time.Time // when the file's account was created: emails since
}

func TestSeedCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no case files in %s", seedsDir)
	}
	seedTexts := loadSeedTexts(t)
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			f := readSeedFile(t, path)
			// Every case is checked before anything runs: a malformed
			// file fails whole, naming its cases at fault.
			if problems := f.problems(path, seedTexts); len(problems) > 0 {
				t.Fatal(strings.Join(problems, "\n"))
			}
			r := setupSeedRun(t, name, f)
			for i, c := range f.Cases {
				ok := t.Run(fmt.Sprintf("%02d_%s", i, shortQuote(c.Quote)), func(t *testing.T) {
					if c.Steps != nil {
						r.steps(t, c)
					} else {
						r.decide(t, c)
					}
				})
				if !ok && len(c.Steps) > 0 {
					// A failed sequence may leave the account half
					// changed: the cases after it would fail for that.
					t.Fatalf("stopping %s after case %d (a sequence) failed", path, i)
				}
			}
		})
	}
}

func readSeedFile(t *testing.T, path string) seedFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f seedFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// problems lists what is wrong with a case file: no cases, or cases
// check refuses.
func (f seedFile) problems(path string, seedTexts map[string]string) []string {
	if len(f.Cases) == 0 {
		return []string{path + " has no cases: a case file proves at least one seed sentence"}
	}
	var out []string
	for i, c := range f.Cases {
		if err := c.check(seedTexts); err != nil {
			out = append(out, fmt.Sprintf("%s case %d (seed %s %q): %v", path, i, c.Seed, c.Quote, err))
		}
	}
	return out
}

// check reports what is wrong with a case's shape, and, when the seed
// documents are at hand (STEWARD_SEEDS_DIR), a quote that is not in its
// seed.
func (c seedCase) check(seedTexts map[string]string) error {
	if strings.TrimSpace(c.Quote) == "" {
		return fmt.Errorf("empty quote: a case quotes the seed sentence it proves")
	}
	if strings.TrimSpace(c.Seed) == "" {
		return fmt.Errorf("no seed: name the seed document (e.g. \"004\")")
	}
	decision := c.Action != "" || c.Expect != "" || c.Resource != nil || c.As != ""
	switch {
	case decision && c.Steps != nil:
		return fmt.Errorf("both a decision (as/action/resource/expect) and steps")
	case !decision && len(c.Steps) == 0:
		return fmt.Errorf("neither a decision (as/action/resource/expect) nor steps")
	case decision && (c.As == "" || c.Action == "" || (c.Expect != "allow" && c.Expect != "deny")):
		return fmt.Errorf("a decision needs as, action and expect \"allow\" or \"deny\"")
	}
	for i, s := range c.Steps {
		if s.Mail != "" {
			if s.Method != "" || s.Path != "" || len(s.Save) != 1 {
				return fmt.Errorf("step %d reads an email: mail, mailSubject and one save name, no request", i)
			}
			continue
		}
		if s.Method == "" || !strings.HasPrefix(s.Path, "/") || s.Status == 0 {
			return fmt.Errorf("step %d needs method, path (from /) and status", i)
		}
	}
	if seedTexts != nil {
		text, ok := seedTexts[c.Seed]
		if !ok {
			return fmt.Errorf("seed %q: no such seed document in STEWARD_SEEDS_DIR", c.Seed)
		}
		if !strings.Contains(text, normalizeSpace(c.Quote)) {
			return fmt.Errorf("the quote is not in seed %s", c.Seed)
		}
	}
	return nil
}

// loadSeedTexts reads the seed documents named by STEWARD_SEEDS_DIR
// ({number}_*.txt), by number, with their white space collapsed; nil
// when it is unset (the repository does not carry them).
func loadSeedTexts(t *testing.T) map[string]string {
	dir := os.Getenv("STEWARD_SEEDS_DIR")
	if dir == "" {
		return nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("STEWARD_SEEDS_DIR=%s holds no seed documents (%v)", dir, err)
	}
	out := map[string]string{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		num, _, _ := strings.Cut(filepath.Base(p), "_")
		out[num] = normalizeSpace(string(raw))
	}
	return out
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

var notNameChar = regexp.MustCompile(`[^A-Za-z0-9]+`)

// shortQuote is the quote's first words, fit for a subtest name.
func shortQuote(q string) string {
	words := strings.Fields(notNameChar.ReplaceAllString(q, " "))
	if len(words) > 8 {
		words = words[:8]
	}
	return strings.Join(words, "_")
}

// setupSeedRun signs the owner up (with the file's preset), registers the
// stores, departments and suppliers, applies the settings, creates the
// members (invitation and acceptance, then the status asked for) and the
// API keys.
func setupSeedRun(t *testing.T, name string, f seedFile) *seedRun {
	t.Helper()
	e := New(t)
	r := &seedRun{e: e, file: name, actors: map[string]*seedActor{}, keys: map[string]string{}, vars: map[string]string{"password": goodPassword}, started: time.Now().Add(-time.Second)}

	email := newEmail("seed-" + name)
	body := map[string]string{"accountName": "Seed " + name, "email": email, "name": "Olive Owner", "password": goodPassword}
	if f.Preset != "" {
		body["preset"] = f.Preset
	}
	since := time.Now()
	e.Call(t, "POST", "/v1/signup", "", body).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, email, "verify", since)
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	ownerTk := e.login(t, email, goodPassword, "").AccessToken
	r.account = v.AccountID
	r.vars["account"] = v.AccountID
	r.actors["owner"] = &seedActor{id: v.MemberID, email: email, name: "Olive Owner", token: ownerTk, status: "active"}

	for _, id := range f.Setup.Stores {
		e.Call(t, "PUT", "/v1/stores/"+id, ownerTk, map[string]any{"name": "Store " + id}).Want(t, http.StatusCreated, "")
	}
	kinds := []string{"sales", "purchase", "manufacturing", "logistics", "accounts"}
	for _, id := range f.Setup.Departments {
		kind := "custom"
		if slices.Contains(kinds, id) {
			kind = id
		}
		e.Call(t, "PUT", "/v1/departments/"+id, ownerTk, map[string]any{"name": "Department " + id, "kind": kind}).Want(t, http.StatusCreated, "")
	}
	for _, id := range f.Setup.Suppliers {
		e.Call(t, "PUT", "/v1/suppliers/"+id, ownerTk, map[string]any{"name": "Supplier " + id}).Want(t, http.StatusCreated, "")
	}
	if len(f.Setup.Settings) > 0 {
		etag := e.Call(t, "GET", "/v1/account", ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		e.Call(t, "PATCH", "/v1/account", ownerTk, map[string]any{"settings": f.Setup.Settings}, "If-Match", etag).Want(t, http.StatusOK, "")
	}

	for _, m := range f.Setup.Members {
		if m.ID == "" || r.actors[m.ID] != nil {
			t.Fatalf("member id %q: empty or used twice (owner is the signer-up)", m.ID)
		}
		a := &seedActor{email: newEmail("seed-" + m.ID), name: m.Name, status: "active"}
		if a.name == "" {
			a.name = strings.ToUpper(m.ID[:1]) + m.ID[1:] + " Seed"
		}
		inv := map[string]any{"email": a.email, "name": a.name}
		if m.Admin {
			inv["admin"] = true
		}
		if len(m.Assignments) > 0 {
			inv["assignments"] = m.Assignments
		}
		since := time.Now()
		a.id = e.invite(t, ownerTk, inv).MemberID
		tok := e.TokenFromEmail(t, a.email, "invit", since)
		var acc accepted
		e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": a.name, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
		a.token = acc.AccessToken
		switch m.Status {
		case "", "active":
		case "inactive":
			e.Call(t, "POST", "/v1/users/"+a.id+"/deactivate", ownerTk, nil).Want(t, http.StatusOK, "")
		case "suspended":
			e.Call(t, "POST", "/v1/users/"+a.id+"/suspend", ownerTk, nil).Want(t, http.StatusOK, "")
		default:
			t.Fatalf("member %s: status %q (want active, inactive or suspended)", m.ID, m.Status)
		}
		if m.Status != "" {
			a.status = m.Status
		}
		r.actors[m.ID] = a
	}
	for id, a := range r.actors {
		r.vars["member."+id], r.vars["email."+id], r.vars["name."+id] = a.id, a.email, a.name
	}

	for _, k := range f.Setup.APIKeys {
		if k.ID == "" || r.keys[k.ID] != "" {
			t.Fatalf("API key id %q: empty or used twice", k.ID)
		}
		r.keys[k.ID] = e.createKey(t, ownerTk, r.expand(t, k.Body).(map[string]any)).Secret
	}
	return r
}

// token is the bearer token of who ("" for none, "key:{id}" for an API
// key of the setup, else a member's session).
func (r *seedRun) token(t *testing.T, who string) string {
	t.Helper()
	if who == "" {
		return ""
	}
	if id, ok := strings.CutPrefix(who, "key:"); ok {
		s, ok := r.keys[id]
		if !ok {
			t.Fatalf("no API key %q in the setup", id)
		}
		return s
	}
	a, ok := r.actors[who]
	if !ok {
		t.Fatalf("no member %q in the setup", who)
	}
	return a.token
}

// decide asks POST /v1/authz/check whether the member may do the action:
// as itself when active, else (an inactive or suspended member has no
// session) as the owner about it.
func (r *seedRun) decide(t *testing.T, c seedCase) {
	a, ok := r.actors[c.As]
	if !ok {
		t.Fatalf("seed %s %q: no member %q in the setup", c.Seed, c.Quote, c.As)
	}
	body := map[string]any{"action": c.Action, "resource": r.expand(t, c.Resource)}
	if c.Resource == nil {
		body["resource"] = map[string]any{}
	}
	token := a.token
	if a.status != "active" {
		body["userId"] = a.id
		token = r.actors["owner"].token
	}
	res := r.e.Call(t, "POST", "/v1/authz/check", token, body)
	if res.Status != http.StatusOK {
		t.Fatalf("seed %s %q:\n  %s %s on %v: check answered %d %s", c.Seed, c.Quote, c.As, c.Action, c.Resource, res.Status, res.Body)
	}
	var d struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	res.JSON(t, &d)
	if got := map[bool]string{true: "allow", false: "deny"}[d.Allowed]; got != c.Expect {
		t.Errorf("seed %s %q:\n  %s %s on %v: got %s (%s), want %s", c.Seed, c.Quote, c.As, c.Action, c.Resource, got, d.Reason, c.Expect)
	}
}

// steps runs an API sequence; each step's answer must have its status
// (and problem code, and wanted values), and may save values for later
// steps.
func (r *seedRun) steps(t *testing.T, c seedCase) {
	for i, s := range c.Steps {
		if s.Mail != "" {
			addr := r.expand(t, s.Mail).(string)
			tok := r.e.TokenFromEmail(t, addr, s.MailSubject, r.started)
			for name := range s.Save {
				r.vars[name] = tok
			}
			continue
		}
		path := r.expand(t, s.Path).(string)
		var headers []string
		for k, v := range s.Headers {
			headers = append(headers, k, r.expand(t, v).(string))
		}
		var body any
		if s.Body != nil {
			body = r.expand(t, s.Body)
		}
		res := r.e.Call(t, s.Method, path, r.token(t, s.As), body, headers...)
		where := fmt.Sprintf("seed %s %q:\n  step %d: %s %s as %q", c.Seed, c.Quote, i, s.Method, path, s.As)
		if res.Status != s.Status || (s.Code != "" && res.Code() != s.Code) {
			t.Fatalf("%s: got %d %s, want %d %s", where, res.Status, res.Body, s.Status, s.Code)
		}
		var doc any
		if len(s.Want) > 0 || len(s.Save) > 0 {
			_ = json.Unmarshal(res.Body, &doc)
		}
		for p, want := range s.Want {
			got, ok := seedValue(res, doc, p)
			want = r.expand(t, want)
			if !ok || !sameJSON(got, want) {
				t.Fatalf("%s: %s is %v (found %v), want %v; body %s", where, p, got, ok, want, res.Body)
			}
		}
		for name, p := range s.Save {
			got, ok := seedValue(res, doc, p)
			if !ok {
				t.Fatalf("%s: nothing at %s to save as %s; body %s", where, p, name, res.Body)
			}
			if str, isStr := got.(string); isStr {
				r.vars[name] = str
			} else {
				raw, _ := json.Marshal(got)
				r.vars[name] = string(raw)
			}
		}
	}
}

// seedValue is the value at p in an answer: "header:{Name}" a header, else
// a dotted path in the JSON body (numbers index arrays; "" the whole body).
func seedValue(res *Response, doc any, p string) (any, bool) {
	if h, ok := strings.CutPrefix(p, "header:"); ok {
		v := res.Header.Get(h)
		return v, v != ""
	}
	cur := doc
	if p == "" {
		return cur, true
	}
	for _, part := range strings.Split(p, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func sameJSON(a, b any) bool {
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ra, rb)
}

var seedVar = regexp.MustCompile(`\$\{([A-Za-z0-9_.-]+)\}`)

// expand replaces ${name} in every string of v (recursively): saved
// values, member.{id}, email.{id}, name.{id}, account, password,
// newEmail (a fresh address at each use) and newEmail.{name} (a fresh
// address, the same at each use of that name). An unknown name fails the
// test.
func (r *seedRun) expand(t *testing.T, v any) any {
	t.Helper()
	switch x := v.(type) {
	case string:
		return seedVar.ReplaceAllStringFunc(x, func(m string) string {
			name := m[2 : len(m)-1]
			if name == "newEmail" {
				return newEmail("seed-new")
			}
			if _, ok := strings.CutPrefix(name, "newEmail."); ok && r.vars[name] == "" {
				r.vars[name] = newEmail("seed-new") // a fresh address, the same at each use
			}
			val, ok := r.vars[name]
			if !ok {
				t.Fatalf("%s: ${%s} is not set (saved values, member.<id>, email.<id>, name.<id>, account, password, newEmail)", r.file, name)
			}
			return val
		})
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = r.expand(t, val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = r.expand(t, val)
		}
		return out
	default:
		return v
	}
}

// TestSeedFileProblems: the driver refuses a file without cases, a case
// without a quote (or seed), a case both or neither a decision and a
// sequence, and, given the seed documents, a quote not in its seed.
func TestSeedFileProblems(t *testing.T) {
	decision := seedCase{Seed: "004", Quote: "Accountant and Team member roles cannot invite users to the portal.", As: "acc", Action: "users.manage", Expect: "deny"}
	step := seedStep{Method: "GET", Path: "/v1/me", Status: 200}
	texts := map[string]string{"004": "Your own assigned role will affect which role you can assign when inviting new users. Accountant and Team member roles cannot invite users to the portal."}
	with := func(edit func(*seedCase)) seedCase {
		c := decision
		edit(&c)
		return c
	}
	for name, tc := range map[string]struct {
		f     seedFile
		texts map[string]string
		want  string
	}{
		"no cases":       {seedFile{}, nil, "has no cases"},
		"empty quote":    {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Quote = " " })}}, nil, "empty quote"},
		"no seed":        {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Seed = "" })}}, nil, "no seed"},
		"both":           {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Steps = []seedStep{step} })}}, nil, "both"},
		"neither":        {seedFile{Cases: []seedCase{{Seed: "004", Quote: "x"}}}, nil, "neither"},
		"bad expect":     {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Expect = "yes" })}}, nil, "expect"},
		"step status":    {seedFile{Cases: []seedCase{{Seed: "004", Quote: "x", Steps: []seedStep{{Method: "GET", Path: "/v1/me"}}}}}, nil, "step 0"},
		"quote not seen": {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Quote = "Accountants may invite users." })}}, texts, "not in seed 004"},
		"unknown seed":   {seedFile{Cases: []seedCase{with(func(c *seedCase) { c.Seed = "009" })}}, texts, "no such seed"},
	} {
		got := strings.Join(tc.f.problems("x.json", tc.texts), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want one naming %q", name, got, tc.want)
		}
		if tc.want != "has no cases" && !strings.Contains(got, tc.f.Cases[0].Quote) {
			t.Errorf("%s: problems %q do not quote the case", name, got)
		}
	}
	ok := seedFile{Cases: []seedCase{decision, {Seed: "004", Quote: "x", Steps: []seedStep{step}}}}
	if got := ok.problems("x.json", nil); len(got) != 0 {
		t.Errorf("a good file: %v", got)
	}
	if got := (seedFile{Cases: []seedCase{decision}}).problems("x.json", texts); len(got) != 0 {
		t.Errorf("a quote found in its seed: %v", got)
	}
	if got := shortQuote("Please note - Administrators are given access to all stores by default."); got != "Please_note_Administrators_are_given_access_to_all" {
		t.Errorf("shortQuote: %q", got)
	}
}
