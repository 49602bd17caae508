package portal

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// the portal answers to their handlers.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"getPortal":                 s.HandleRoot,
		"getPortalStylesheet":       s.HandleStylesheet,
		"enterPortal":               s.HandleEnter,
		"getPortalLogin":            s.HandleLoginPage,
		"submitPortalLogin":         s.HandleLogin,
		"submitPortalLogout":        s.HandleLogout,
		"getPortalTeam":             s.HandleTeam,
		"getPortalInvite":           s.HandleInvitePage,
		"submitPortalInvite":        s.HandleInvite,
		"submitPortalResendInvite":  s.HandleResendInvitation,
		"getPortalRevokeInvite":     s.HandleRevokeInvitationPage,
		"submitPortalRevokeInvite":  s.HandleRevokeInvitation,
		"getPortalMember":           s.HandleMember,
		"submitPortalAssignments":   s.HandleAssignments,
		"getPortalMemberStatus":     s.HandleStatusPage,
		"submitPortalMemberStatus":  s.HandleStatus,
		"getPortalRoles":            s.HandleRoles,
		"getPortalNewRole":          s.HandleNewRolePage,
		"submitPortalNewRole":       s.HandleCreateRole,
		"getPortalRole":             s.HandleRolePage,
		"submitPortalRole":          s.HandleUpdateRole,
		"getPortalDeleteRole":       s.HandleDeleteRolePage,
		"submitPortalDeleteRole":    s.HandleDeleteRole,
		"submitPortalPermissions":   s.HandleMemberPermissions,
		"submitPortalNotifications": s.HandleMemberNotifications,
		"getPortalSettings":         s.HandleSettings,
		"submitPortalSettings":      s.HandleSettingsUpdate,
		"getPortalScopeItemNew":     s.HandleItemNew,
		"submitPortalScopeItemNew":  s.HandleItemCreate,
		"getPortalScopeItem":        s.HandleItem,
		"submitPortalScopeItem":     s.HandleItemUpdate,
		"getPortalAudit":            s.HandleAudit,
		"getPortalWebhooks":         s.HandleWebhooks,
		"submitPortalWebhookNew":    s.HandleWebhookCreate,
		"getPortalWebhook":          s.HandleWebhook,
		"submitPortalWebhook":       s.HandleWebhookUpdate,
		"submitPortalWebhookRotate": s.HandleWebhookRotate,
		"submitPortalWebhookReplay": s.HandleWebhookReplay,
		"getPortalWebhookDelete":    s.HandleWebhookDeletePage,
		"submitPortalWebhookDelete": s.HandleWebhookDelete,
	}
}
