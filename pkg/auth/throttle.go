package auth

import (
	"context"
	"net/netip"
	"time"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

// Sign-in throttling.
//
// Every password comparison (sign-in, and the proofs of CheckPassword:
// sign-up or joining with an existing email, accepting an invitation) is
// charged before it is made, to three counters, each counting in a
// 15-minute window (LoginWindow) that starts at the first charge finding
// no live window (store.RateCharge), so a limit cannot be doubled across
// a clock boundary:
//
//   - the pair (email, source address): at most Limits.PerPair (10)
//     comparisons per window, taken with one conditional UpdateItem
//     (ADD 1 if count < limit) so concurrent guesses can never pass the
//     limit together: the 11th answers 429 without comparing;
//   - the email across every address: once it has had Limits.PerEmail
//     (100) failed comparisons in the window, each pair for that email
//     gets only Limits.PerPairUnderAttack (3) in that window. Distributed
//     guessing slows to 3 guesses per address per window, while the
//     person, from an address that has not failed three times, still
//     signs in: the email is never locked as a whole;
//   - the source address across every email: at most Limits.PerAddress
//     (300) failed comparisons per window. Only failures count (a correct
//     password gives its charges back); it stops one address spraying
//     guesses over many emails. It never refuses a known pair: an email
//     that signed in with its password from that address within
//     KnownFor (30 days) is counted only per pair and per email, so an
//     office of thousands behind one NAT address (or a host app's
//     backend signing its users in from one address) keeps signing in
//     while somebody sprays guesses from the same address. Known pairs'
//     failures there count in a second per-address counter with the same
//     limit, so guessing at the known emails is bounded too. A known pair
//     costs one PutItem per successful sign-in, and one GetItem only when
//     the address limit refuses.
//
// A correct password gives back its charges and clears its pair's
// counter. Failures from address A never refuse the right password from
// address B: B's pair and address counters hold only B's own failures,
// and the per-email counter only lowers B's allowance to 3. A refused
// attempt (429) gives back what it took, so counters hold comparisons
// made, and carries Retry-After: the seconds until the refusing window
// ends.
//
// IPv6 addresses are counted per /64, the block one client usually
// holds.

// LoginWindow is the length of each sign-in counter's window.
const LoginWindow = 15 * time.Minute

// KnownFor is how long a successful sign-in makes its (email, address)
// pair known: exempt from the per-address limit.
const KnownFor = 30 * 24 * time.Hour

func knownKey(email, addr string) string { return "login:known:" + email + "|" + addr }

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

// attempt is a password comparison charged to its counters: each key's
// window end, to give back to the same window.
type attempt struct {
	s    *Service
	pair string
	// known is the (email, address) pair remembered when the password is
	// right ("" without an address).
	known string
	ends  map[string]time.Time
}

// tooMany is the 429 of a refused attempt: retry when the window that
// refuses it ends.
func tooMany(now, end time.Time) error {
	e := fault.New(fault.TooMany, "too_many_attempts", "Too many failed sign-ins. Try again later.")
	e.RetryAfter = max(end.Sub(now), time.Second)
	return e
}

// charge takes an attempt's counters before its password is compared, or
// refuses it with 429 (giving back what it took). email must be
// normalized.
func (s *Service) charge(ctx context.Context, email, ip string) (*attempt, error) {
	l, now, st := s.limits(), s.Now.Now(), s.Store
	addr := addressKey(ip)
	a := &attempt{s: s, ends: map[string]time.Time{}}
	if ip != "" {
		a.known = knownKey(email, addr)
	}
	pairKey, emailKey := "login:pair:"+email+"|"+addr, "login:email:"+email
	take := func(k string, limit int) (store.RateCount, error) {
		c, ok, err := st.RateCharge(ctx, k, limit, now, LoginWindow)
		if err != nil {
			return c, err
		}
		if !ok {
			a.giveBack(ctx, "")
			return c, tooMany(now, c.End)
		}
		a.ends[k] = c.End
		return c, nil
	}
	if ip != "" {
		if _, err := take("login:ip:"+addr, l.PerAddress); err != nil {
			// Others' failures from this address do not refuse a person
			// who signed in from it before.
			known, kerr := st.Remembered(ctx, knownKey(email, addr), now)
			if kerr != nil {
				httpapi.Logger(ctx).Warn("read known sign-in pair", "error", kerr.Error())
			}
			if !known {
				return nil, err
			}
			// Known pairs' failures from this address count apart, with
			// the same limit: guessing at the emails known there (an
			// insider who knows who works there) is bounded too.
			if _, err := take("login:ip-known:"+addr, l.PerAddress); err != nil {
				return nil, err
			}
		}
	}
	pair, err := take(pairKey, l.PerPair)
	if err != nil {
		return nil, err
	}
	em, err := take(emailKey, 0)
	if err != nil {
		return nil, err
	}
	if em.Count > l.PerEmail && pair.Count > l.PerPairUnderAttack {
		a.giveBack(ctx, "")
		end := pair.End
		if em.End.Before(end) {
			end = em.End
		}
		return nil, tooMany(now, end)
	}
	a.pair = pairKey
	return a, nil
}

// succeeded gives back the charges of a correct password and clears its
// pair's failures.
func (a *attempt) succeeded(ctx context.Context) {
	a.giveBack(ctx, a.pair)
	if err := a.s.Store.RateReset(ctx, a.pair, a.ends[a.pair]); err != nil {
		httpapi.Logger(ctx).Warn("clear sign-in failures", "error", err.Error())
	}
	if a.known != "" {
		if err := a.s.Store.Remember(ctx, a.known, a.s.Now.Now().Add(KnownFor)); err != nil {
			httpapi.Logger(ctx).Warn("remember sign-in pair", "error", err.Error())
		}
	}
}

// giveBack gives back every charge but except's.
func (a *attempt) giveBack(ctx context.Context, except string) {
	for k, end := range a.ends {
		if k == except {
			continue
		}
		if err := a.s.Store.RateGiveBack(ctx, k, end); err != nil {
			httpapi.Logger(ctx).Warn("give back sign-in charge", "error", err.Error())
		}
	}
}
