package approvals

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers: infra/localstack/server mounts them with every
// route, a function's main with its own routes.
func (ap *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"getDocument":           ap.HandleGetDocument,
		"putDocument":           ap.HandlePutDocument,
		"createApprovalRequest": ap.HandleCreateRequest,
		"listApprovalRequests":  ap.HandleListRequests,
		"getApprovalRequest":    ap.HandleGetRequest,
		"decideApprovalRequest": ap.HandleDecide,
		"cancelApprovalRequest": ap.HandleCancel,
		"getApprovalPolicy":     ap.HandleGetPolicy,
		"putApprovalPolicy":     ap.HandlePutPolicy,
		"getApprovalPage":       ap.HandleApprovePage,
		"submitApprovalPage":    ap.HandleApproveSubmit,
		"getMyDelegation":       ap.HandleGetDelegation,
		"putMyDelegation":       ap.HandlePutDelegation,
		"deleteMyDelegation":    ap.HandleDeleteDelegation,
	}
}
