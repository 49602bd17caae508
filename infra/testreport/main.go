// Command testreport reads `go test -json` events on standard input and
// prints a readable report: each package's result, every top-level test
// with its outcome, the full output of failed tests, and a closing line
// "N passed, N failed, N skipped". It exits non-zero when a test or a build
// failed, or when no test ran at all.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type report struct {
	passed, failed, skipped int
	buildFailed             bool
	pkgFailed               []string
	output                  map[string]*strings.Builder // package/test -> output
	w                       io.Writer
}

func main() {
	r := &report{output: map[string]*strings.Builder{}, w: os.Stdout}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	os.Exit(r.finish())
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			// Not an event: build errors and the like; show as is.
			fmt.Fprintln(r.w, string(line))
			continue
		}
		r.handle(ev)
	}
	return sc.Err()
}

func (r *report) handle(ev event) {
	id := ev.Package + "/" + ev.Test
	switch ev.Action {
	case "output", "build-output":
		b := r.output[id]
		if b == nil {
			b = &strings.Builder{}
			r.output[id] = b
		}
		b.WriteString(ev.Output)
	case "build-fail":
		r.buildFailed = true
	case "pass", "fail", "skip":
		if ev.Test == "" {
			r.packageDone(ev)
			return
		}
		switch ev.Action {
		case "pass":
			r.passed++
		case "fail":
			r.failed++
		case "skip":
			r.skipped++
		}
		if !strings.Contains(ev.Test, "/") {
			fmt.Fprintf(r.w, "    --- %s: %s (%.2fs)\n", strings.ToUpper(ev.Action), ev.Test, ev.Elapsed)
		}
		if ev.Action == "fail" {
			if b := r.output[id]; b != nil {
				fmt.Fprint(r.w, indent(b.String()))
			}
		}
		delete(r.output, id)
	}
}

func (r *report) packageDone(ev event) {
	switch ev.Action {
	case "pass":
		fmt.Fprintf(r.w, "ok   %s (%.1fs)\n", ev.Package, ev.Elapsed)
	case "skip":
		fmt.Fprintf(r.w, "--   %s (no tests)\n", ev.Package)
	case "fail":
		r.pkgFailed = append(r.pkgFailed, ev.Package)
		fmt.Fprintf(r.w, "FAIL %s (%.1fs)\n", ev.Package, ev.Elapsed)
		// Output outside any test: TestMain failures, panics, build errors.
		if b := r.output[ev.Package+"/"]; b != nil {
			fmt.Fprint(r.w, indent(b.String()))
		}
	}
	delete(r.output, ev.Package+"/")
}

func (r *report) finish() int {
	fmt.Fprintln(r.w)
	if len(r.pkgFailed) > 0 {
		sort.Strings(r.pkgFailed)
		fmt.Fprintf(r.w, "failed packages: %s\n", strings.Join(r.pkgFailed, ", "))
	}
	fmt.Fprintf(r.w, "%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
	switch {
	case r.failed > 0 || len(r.pkgFailed) > 0 || r.buildFailed:
		return 1
	case r.passed == 0:
		fmt.Fprintln(r.w, "no test ran")
		return 1
	}
	return 0
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("        " + l)
		}
	}
	return b.String()
}
