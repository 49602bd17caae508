// Package clock is Steward's one time source. Services hold a Clock; nil
// is the wall clock, and tests set a function to move time.
package clock

import "time"

// Clock returns the current time. The zero value (nil) is time.Now.
type Clock func() time.Time

// Now returns c's current time: time.Now() when c is nil.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
