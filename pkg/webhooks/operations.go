package webhooks

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"createWebhook":         s.HandleCreate,
		"listWebhooks":          s.HandleList,
		"getWebhook":            s.HandleGet,
		"updateWebhook":         s.HandleUpdate,
		"deleteWebhook":         s.HandleDelete,
		"rotateWebhookSecret":   s.HandleRotateSecret,
		"listWebhookDeliveries": s.HandleDeliveries,
		"replayWebhook":         s.HandleReplay,
	}
}
