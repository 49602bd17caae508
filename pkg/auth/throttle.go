package auth

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

// Sign-in throttling.
//
// Every password comparison (sign-in, and the proofs of CheckPassword:
// sign-up or joining with an existing email, accepting an invitation) is
// charged before it is made, to three counters of the current 15-minute
// window (LoginWindow):
//
//   - the pair (email, source address): at most Limits.PerPair (10)
//     comparisons per window, taken with one conditional UpdateItem
//     (ADD 1 if count < limit), so concurrent guesses can never pass the
//     limit together: the 11th answers 429 without comparing;
//   - the email across every address: once it has had Limits.PerEmail
//     (100) failed comparisons in the window, each pair for that email
//     gets only Limits.PerPairUnderAttack (3) in that window. Distributed
//     guessing slows to 3 guesses per address per window, while the
//     person, from an address that has not failed three times, still
//     signs in: the email is never locked as a whole;
//   - the source address across every email: at most Limits.PerAddress
//     (300) failed comparisons per window. Only failures count (a correct
//     password gives its charges back), so an office of a few hundred
//     people behind one NAT address, all signing in within the same
//     quarter hour and one in two mistyping once, stays below it; it
//     stops one address spraying guesses over many emails.
//
// A correct password gives back its charges and clears its pair's
// counter. Failures from address A never refuse the right password from
// address B: B's pair and address counters hold only B's own failures,
// and the per-email counter only lowers B's allowance to 3. A refused
// attempt (429) gives back what it took, so counters hold comparisons
// made, and carries Retry-After: the seconds until the window ends.
//
// IPv6 addresses are counted per /64, the block one client usually
// holds.

// LoginWindow is the fixed window of the sign-in counters.
const LoginWindow = 15 * time.Minute

// Limits bound password comparisons per LoginWindow; zero fields mean
// DefaultLimits.
type Limits struct {
	// PerPair is the comparisons one email may have from one address.
	PerPair int
	// PerEmail is the failed comparisons one email may have across all
	// addresses before its per-pair allowance drops to PerPairUnderAttack.
	PerEmail int
	// PerPairUnderAttack is the per-pair allowance of an email past
	// PerEmail.
	PerPairUnderAttack int
	// PerAddress is the failed comparisons one address may have across
	// all emails.
	PerAddress int
}

// DefaultLimits are the production limits.
var DefaultLimits = Limits{PerPair: 10, PerEmail: 100, PerPairUnderAttack: 3, PerAddress: 300}

func (s *Service) limits() Limits {
	l, d := s.Limits, DefaultLimits
	if l.PerPair <= 0 {
		l.PerPair = d.PerPair
	}
	if l.PerEmail <= 0 {
		l.PerEmail = d.PerEmail
	}
	if l.PerPairUnderAttack <= 0 {
		l.PerPairUnderAttack = min(d.PerPairUnderAttack, l.PerPair)
	}
	if l.PerAddress <= 0 {
		l.PerAddress = d.PerAddress
	}
	return l
}

// addressKey is the unit an address is counted in: an IPv4 address, or an
// IPv6 address's /64.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// attempt is a password comparison charged to its counters.
type attempt struct {
	s                   *Service
	now                 time.Time
	pair, email, byAddr string
}

// tooMany is the 429 of a refused attempt.
func tooMany(now time.Time) error {
	_, end := store.RateWindow(now, LoginWindow)
	e := httpapi.Errorf(http.StatusTooManyRequests, "too_many_attempts", "Too many failed sign-ins. Try again later.")
	e.RetryAfter = max(end.Sub(now), time.Second)
	return e
}

// charge takes an attempt's counters before its password is compared, or
// refuses it with 429 (giving back what it took). email must be
// normalized.
func (s *Service) charge(ctx context.Context, email, ip string) (*attempt, error) {
	l := s.limits()
	a := &attempt{s: s, now: s.now(), email: "login:email:" + email}
	addr := addressKey(ip)
	a.pair = "login:pair:" + email + "|" + addr
	st := s.Store
	if ip != "" {
		a.byAddr = "login:ip:" + addr
		if _, ok, err := st.RateTake(ctx, a.byAddr, l.PerAddress, a.now, LoginWindow); err != nil || !ok {
			return nil, orTooMany(err, a.now)
		}
	}
	pairN, ok, err := st.RateTake(ctx, a.pair, l.PerPair, a.now, LoginWindow)
	if err != nil || !ok {
		a.giveBack(ctx, a.byAddr)
		return nil, orTooMany(err, a.now)
	}
	emailN, err := st.RateAdd(ctx, a.email, a.now, LoginWindow)
	if err != nil {
		return nil, err
	}
	if emailN > l.PerEmail && pairN > l.PerPairUnderAttack {
		a.giveBack(ctx, a.byAddr, a.pair, a.email)
		return nil, tooMany(a.now)
	}
	return a, nil
}

func orTooMany(err error, now time.Time) error {
	if err != nil {
		return err
	}
	return tooMany(now)
}

// succeeded gives back the charges of a correct password and clears its
// pair's failures.
func (a *attempt) succeeded(ctx context.Context) {
	a.giveBack(ctx, a.byAddr, a.email)
	if err := a.s.Store.RateClear(ctx, a.pair, a.now, LoginWindow); err != nil {
		httpapi.Logger(ctx).Warn("clear sign-in failures", "error", err.Error())
	}
}

func (a *attempt) giveBack(ctx context.Context, keys ...string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := a.s.Store.RateGiveBack(ctx, k, a.now, LoginWindow); err != nil {
			httpapi.Logger(ctx).Warn("give back sign-in charge", "error", err.Error())
		}
	}
}
