package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stewardhq/steward/infra/emulator"
)

var (
	mdLink    = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	htmlLink  = regexp.MustCompile(`(?i)(?:href|src)="([^"]+)"`)
	urlScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// githubSlug is the anchor GitHub gives a heading.
func githubSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The README is the project's documentation for someone who cloned it:
// no link may point outside the repository (a "../" path exists only in
// one team checkout), every relative link must name a file or folder of
// the repository, and every #anchor a heading of the README.
func TestReadmeLinksStayInRepository(t *testing.T) {
	root, err := emulator.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	var prose []string // lines outside fenced code blocks
	fenced := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		prose = append(prose, line)
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[githubSlug(strings.TrimLeft(h, "#"))] = true
		}
	}
	for i, line := range prose {
		if strings.Contains(line, "../") {
			t.Errorf("README line %q points outside the repository (../)", line)
		}
		var targets []string
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		for _, m := range htmlLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			switch {
			case urlScheme.MatchString(target):
				continue // a web address
			case strings.HasPrefix(target, "#"):
				if !anchors[strings.TrimPrefix(target, "#")] {
					t.Errorf("README link %q (prose line %d): no such heading", target, i+1)
				}
				continue
			}
			path, _, _ := strings.Cut(target, "#")
			abs := filepath.Join(root, filepath.FromSlash(path))
			if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(path) {
				t.Errorf("README link %q points outside the repository", target)
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("README link %q: %v", target, err)
			}
		}
	}
}

func TestGithubSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Deploying to AWS":                             "deploying-to-aws",
		"The local stack (`make run`)":                 "the-local-stack-make-run",
		" Prerequisites (once per account and region)": "prerequisites-once-per-account-and-region",
	} {
		if got := githubSlug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
