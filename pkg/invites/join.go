package invites

import (
	"context"
	"errors"
	"slices"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Self-registration: an account that allows it lets people whose email is
// in its allowed domains (or anyone, when it is open) join by themselves,
// with the account's default role at account scope (never administrator:
// the account settings refuse it); the first person to complete it in the
// account gets the first registrant's role instead, when the account
// names one (see pkg/auth, register.go). A join is confirmed by the email's owner: it creates nothing but a
// pending registration whose emailed link, confirmed with the password
// (POST /v1/auth/verify-email {token, password}), makes the member; a
// person who already has a Steward sign-in confirms with its password
// (see pkg/auth, register.go). The answer is the same for taken and fresh
// emails, and within or over the mail caps.

var (
	errJoinClosed    = fault.New(fault.Forbidden, "self_registration_closed", "This account does not let people join by themselves; ask for an invitation.")
	errJoinDomain    = fault.New(fault.Forbidden, "domain_not_allowed", "Your email's domain may not join this account by itself; ask for an invitation.")
	errJoinNoAccount = fault.New(fault.NotFound, "not_found", "The account does not exist.")
)

// JoinInput is POST /v1/join.
type JoinInput struct {
	AccountID string
	Email     string
	Name      string
	Password  string
	SourceIP  string
	RequestID string
}

// Join asks to join an account that allows self-registration: the whole
// body and the account's settings are checked, then the link goes to the
// email (within the mail caps).
func (s *Service) Join(ctx context.Context, in JoinInput) error {
	if err := httpapi.CheckID("accountId", in.AccountID); err != nil {
		return err
	}
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return httpapi.InvalidField("email", err.Error())
	}
	name, err := httpapi.CleanName("name", in.Name, 120, true)
	if err != nil {
		return err
	}
	if err := password.Validate(in.Password, email); err != nil {
		return httpapi.InvalidField("password", err.Error())
	}
	acct, err := s.Store.GetAccount(ctx, in.AccountID)
	if errors.Is(err, team.ErrAccountNotFound) {
		return errJoinNoAccount
	}
	if err != nil {
		return err
	}
	reg := acct.Settings.SelfRegistration
	if !reg.Enabled || reg.DefaultRole == "" || reg.DefaultRole == rbac.RoleAdministrator {
		return errJoinClosed
	}
	if !reg.Open && !slices.Contains(reg.Domains, team.EmailDomain(email)) {
		return errJoinDomain
	}
	if !rbac.IsBuiltInRole(reg.DefaultRole) {
		// A custom default role since deleted: closed until an admin
		// picks another.
		roles, err := s.Store.GetCustomRoles(ctx, acct.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(roles.Roles, func(r rbac.Role) bool { return r.ID == reg.DefaultRole }) {
			return errJoinClosed
		}
	}
	t := store.Token{Kind: store.TokenJoin, AccountID: acct.ID, SubjectID: email, Data: map[string]string{"email": email, "name": name, "accountName": acct.Name}}
	ev := audit.Event{AccountID: acct.ID, ActorID: "system", Action: "member.self_register_requested", TargetType: "email", TargetID: email, RequestID: in.RequestID}
	return s.Auth.Register(ctx, t, in.Password, in.SourceIP, ev)
}
