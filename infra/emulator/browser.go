package emulator

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// EnvBrowser names a Chrome or Chromium executable for the browser test,
// when it is not one FindBrowser looks for.
const EnvBrowser = "STEWARD_BROWSER"

// browserCandidates are the executables FindBrowser tries, in chromedp's
// order (chromedp's findExecPath): names on PATH, then fixed paths.
func browserCandidates() []string {
	if runtime.GOOS == "darwin" {
		return []string{
			"/Applications/Chromium.app/Contents/MacOS/Chromium",
			"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
			"chromium", "google-chrome",
		}
	}
	return []string{
		"headless_shell", "headless-shell",
		"chromium", "chromium-browser",
		"google-chrome", "google-chrome-stable", "google-chrome-beta", "google-chrome-unstable",
		"/usr/bin/google-chrome", "/usr/local/bin/chrome", "/snap/bin/chromium",
		"chrome",
	}
}

// ErrNoBrowser says that no Chrome or Chromium was found; its message
// says what to install.
var ErrNoBrowser = errors.New("no Chrome or Chromium found for the browser test (infra/testkit/apitest): install Google Chrome or Chromium " +
	"(macOS: the Google Chrome app or `brew install --cask chromium`; Debian: `apt-get install chromium`, which `make test` does as root or with sudo; " +
	"Fedora: `dnf install chromium`; Arch: `pacman -S chromium`), or set " + EnvBrowser + " to a Chrome executable")

// FindBrowser returns the Chrome or Chromium executable the browser test
// drives: $STEWARD_BROWSER when set, else the first of chromedp's
// candidates that exists. It returns ErrNoBrowser when there is none.
func FindBrowser() (string, error) {
	if p := os.Getenv(EnvBrowser); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvBrowser, p, err)
		}
		return found, nil
	}
	for _, c := range browserCandidates() {
		if found, err := exec.LookPath(c); err == nil {
			return found, nil
		}
	}
	return "", ErrNoBrowser
}
