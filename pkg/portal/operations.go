package portal

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// the portal answers to their handlers.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"getPortal":                    s.HandleRoot,
		"getPortalStylesheet":          s.HandleStylesheet,
		"enterPortal":                  s.HandleEnter,
		"getPortalLogin":               s.HandleLoginPage,
		"submitPortalLogin":            s.HandleLogin,
		"submitPortalLogout":           s.HandleLogout,
		"getPortalTeam":                s.HandleTeam,
		"getPortalInvite":              s.HandleInvitePage,
		"submitPortalInvite":           s.HandleInvite,
		"submitPortalResendInvite":     s.HandleResendInvitation,
		"getPortalRevokeInvite":        s.HandleRevokeInvitationPage,
		"submitPortalRevokeInvite":     s.HandleRevokeInvitation,
		"getPortalMember":              s.HandleMember,
		"submitPortalAssignments":      s.HandleAssignments,
		"getPortalMemberStatus":        s.HandleStatusPage,
		"submitPortalMemberStatus":     s.HandleStatus,
		"getPortalApprovals":           s.HandleApprovals,
		"getPortalApprovalRequest":     s.HandleApprovalRequest,
		"submitPortalApprovalDecision": s.HandleApprovalDecision,
		"getPortalApprovalCancel":      s.HandleApprovalCancelPage,
		"submitPortalApprovalCancel":   s.HandleApprovalCancel,
		"getPortalApprovalPolicies":    s.HandleApprovalPolicies,
		"getPortalApprovalPolicy":      s.HandleApprovalPolicy,
		"submitPortalApprovalPolicy":   s.HandleApprovalPolicySubmit,
		"getPortalAccess":              s.HandleAccess,
		"submitPortalAccessRequest":    s.HandleAccessRequest,
		"submitPortalAccessDecision":   s.HandleAccessDecision,
		"getPortalAccessCancel":        s.HandleAccessCancelPage,
		"submitPortalAccessCancel":     s.HandleAccessCancel,
		"submitPortalDelegation":       s.HandleDelegation,
		"getPortalDelegationDelete":    s.HandleDelegationDeletePage,
		"submitPortalDelegationDelete": s.HandleDelegationDelete,
	}
}
