package access

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"createAccessRequest":     s.HandleCreate,
		"listAccessRequests":      s.HandleList,
		"getAccessRequest":        s.HandleGet,
		"decideAccessRequest":     s.HandleDecide,
		"cancelAccessRequest":     s.HandleCancel,
		"getAccessRequestPage":    s.HandlePage,
		"submitAccessRequestPage": s.HandleSubmit,
	}
}
