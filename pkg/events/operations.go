package events

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the feed's operation id of the route table
// (pkg/routes) to its handler.
func (f *Feed) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{"listEvents": f.HandleList}
}
