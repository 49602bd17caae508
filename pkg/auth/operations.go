package auth

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers: infra/localstack/server mounts
// them with every route, a function's main with its own routes.
func (a *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"signup":                 a.HandleSignup,
		"verifyEmail":            a.HandleVerifyEmail,
		"login":                  a.HandleLogin,
		"refresh":                a.HandleRefresh,
		"logout":                 a.HandleLogout,
		"requestPasswordReset":   a.HandlePasswordReset,
		"confirmPasswordReset":   a.HandlePasswordResetConfirm,
		"getJWKS":                a.HandleJWKS,
		"getOpenIDConfiguration": a.HandleOpenIDConfiguration,
		"getMe":                  a.HandleMe,
		"impersonateUser":        a.HandleImpersonate,
		"createPortalSession":    a.HandleMintPortalLink,
	}
}
