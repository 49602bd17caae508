package accounts

import "github.com/stewardhq/steward/pkg/httpapi"

// The formats of ids and audit filters, checked byte by byte. They were
// regular expressions with counted repeats (`{1,200}`), which the regexp
// package compiles into programs of thousands of instructions: some 15 ms
// and 600 KB of every cold start's package init, for checks this simple.
// Every class is ASCII, so checking bytes is checking runes: a multi-byte
// rune (or invalid UTF-8) fails either way. format_test.go holds the
// regular expressions they replace and checks both agree.

// byteClass is a set of ASCII bytes.
type byteClass [256]bool

// newClass returns the class of the bytes in ranges: single bytes, or
// "a-z" style ranges.
func newClass(ranges ...string) *byteClass {
	var c byteClass
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

// all reports whether every byte of s is in c.
func (c *byteClass) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

var (
	lowerClass     = newClass("a-z")
	lowerDigitDash = newClass("a-z", "0-9", "-")
	// roleIDTail and auditTypeTail: [a-z0-9_]
	lowerDigitUnderscore = newClass("a-z", "0-9", "_")
	// auditActionTail: [a-z0-9_.]
	auditActionTail = newClass("a-z", "0-9", "_.")
	// auditIDClass: [A-Za-z0-9._:@-]
	auditIDClass = newClass("A-Z", "a-z", "0-9", "._:@-")
)

// lengthIn reports whether min <= len(s) <= max.
func lengthIn(s string, min, max int) bool { return len(s) >= min && len(s) <= max }

// headTail reports whether s is one byte of head then bytes of tail, min
// to max bytes in all.
func headTail(s string, min, max int, head, tail *byteClass) bool {
	return lengthIn(s, min, max) && head[s[0]] && tail.all(s[1:])
}

// validScopeID is ^[A-Za-z0-9_-]{1,64}$: store and department ids.
func validScopeID(s string) bool { return httpapi.IDLike(s, 64, false) }

// validRoleID is ^[a-z][a-z0-9_]{1,47}$: role ids.
func validRoleID(s string) bool { return headTail(s, 2, 48, lowerClass, lowerDigitUnderscore) }

// validDomainLabel is ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$: one label of
// a host name.
func validDomainLabel(s string) bool {
	return lengthIn(s, 1, 63) && lowerDigitDash.all(s) && s[0] != '-' && s[len(s)-1] != '-'
}

// validAuditActor is ^[A-Za-z0-9._:@-]{1,160}$.
func validAuditActor(s string) bool { return lengthIn(s, 1, 160) && auditIDClass.all(s) }

// validAuditTargetType is ^[a-z][a-z0-9_]{0,39}$.
func validAuditTargetType(s string) bool {
	return headTail(s, 1, 40, lowerClass, lowerDigitUnderscore)
}

// validAuditTargetID is ^[A-Za-z0-9._:@-]{1,200}$.
func validAuditTargetID(s string) bool { return lengthIn(s, 1, 200) && auditIDClass.all(s) }

// validAuditAction is ^[a-z][a-z0-9_.]{0,79}$.
func validAuditAction(s string) bool { return headTail(s, 1, 80, lowerClass, auditActionTail) }
