package events

import (
	"net/http"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
)

// HandleList serves GET /v1/events?after=&types=&limit=.
func (f *Feed) HandleList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	types, err := ParseTypes("types", q.Get("types"))
	if err != nil {
		return err
	}
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := f.List(r.Context(), auth.FromContext(r.Context()), FeedQuery{After: q.Get("after"), Types: types, Limit: limit})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, func(e Event) Event { return e }))
	return nil
}
