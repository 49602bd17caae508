package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Registration: sign-up (a new account and its owner) and
// self-registration (joining an account, pkg/invites) are confirmed by the
// email's owner.
//
// Decisions:
//   - A sign-up or a join creates nothing: it validates the whole body
//     (password rules included), hashes the password (argon2id, on every
//     path) and issues a pending registration, a one-time token whose link
//     goes to the email. Only the link, confirmed with the password
//     (POST /v1/auth/verify-email {token, password}), creates the account
//     or the member. So a registrant's password alone never becomes the
//     password of an email they do not own: binding it needs both the
//     link (the email's owner) and the password (the registrant).
//   - An email that already has a Steward sign-in gets the same answer
//     (202) and an email that tells its owner how to sign in or reset
//     their password; its link goes ahead only with that sign-in's own
//     password (failures count like sign-in failures). Taken and fresh
//     emails are told apart by nobody but the email's owner.
//   - One pending registration per kind and email: a new one (or a
//     re-sent link) makes the older link unusable. Links last 48 hours.
//   - Mail-sending public routes are capped (MailCaps): per recipient and
//     kind, and per source address, per hour. Over a cap the public
//     routes answer exactly as when the email went out, and send nothing.

// Kinds of capped emails.
const (
	MailSignup       = "signup"
	MailJoin         = "join"
	MailVerify       = "verify"
	MailReset        = "reset"
	MailInvitation   = "invitation"
	registrationTTL  = VerifyEmailTTL
	dataEmail        = "email"
	dataName         = "name"
	dataAccountName  = "accountName"
	dataPasswordHash = "passwordHash"
	dataIdentity     = "identity"
	dataPreset       = "preset"
)

// MailCaps bound the emails that requests may cause, per Window.
type MailCaps struct {
	// PerRecipient is the emails of one kind (reset, verification
	// resend, sign-up, join, invitation resend) one address receives
	// (default 3).
	PerRecipient int
	// PerAddress is the emails requests from one source address cause,
	// all kinds together (default 20).
	PerAddress int
	// Window is the counting window (default one hour).
	Window time.Duration
}

// DefaultMailCaps are the production caps.
var DefaultMailCaps = MailCaps{PerRecipient: 3, PerAddress: 20, Window: time.Hour}

func (s *Service) mailCaps() MailCaps {
	c := s.MailCaps
	if c.PerRecipient <= 0 {
		c.PerRecipient = DefaultMailCaps.PerRecipient
	}
	if c.PerAddress <= 0 {
		c.PerAddress = DefaultMailCaps.PerAddress
	}
	if c.Window <= 0 {
		c.Window = DefaultMailCaps.Window
	}
	return c
}

// TakeMail counts one email of kind to recipient caused by a request from
// source ("" for none) when both caps allow it. When one does not, it
// answers false and how long until the window ends; nothing is sent then.
func (s *Service) TakeMail(ctx context.Context, kind, recipient, source string) (bool, time.Duration, error) {
	c := s.mailCaps()
	now := s.Now.Now()
	if source != "" {
		ok, end, err := s.Store.MailCapTake(ctx, store.MailCapAddressKey(source), c.PerAddress, now, c.Window)
		if err != nil || !ok {
			if err == nil {
				httpapi.Logger(ctx).Info("mail cap reached", "kind", kind, "per", "address")
			}
			return false, end.Sub(now), err
		}
	}
	ok, end, err := s.Store.MailCapTake(ctx, store.MailCapRecipientKey(kind, recipient), c.PerRecipient, now, c.Window)
	if err == nil && !ok {
		httpapi.Logger(ctx).Info("mail cap reached", "kind", kind, "per", "recipient")
	}
	return ok, end.Sub(now), err
}

// SignupInput is the body of POST /v1/signup.
type SignupInput struct {
	AccountName string
	Email       string
	Name        string
	Password    string
	// Preset is the product preset of the new account (rbac.Presets);
	// empty or "general" is the general preset.
	Preset    string
	SourceIP  string
	RequestID string
}

// Signup asks for a new account: it validates the body and emails a link
// that creates the account once confirmed with the password. Its answer
// says nothing about the email (see the decisions above).
func (s *Service) Signup(ctx context.Context, in SignupInput) error {
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return fieldError("email", err.Error())
	}
	accountName, err := cleanName("accountName", in.AccountName, 120)
	if err != nil {
		return err
	}
	name, err := cleanName("name", in.Name, 120)
	if err != nil {
		return err
	}
	preset := in.Preset
	if _, ok := rbac.LookupPreset(preset); !ok {
		return fieldError("preset", fmt.Sprintf("Unknown preset %q: use one of %s, or leave it out for the general one.", preset, strings.Join(rbac.PresetIDs(), ", ")))
	}
	if preset == rbac.PresetGeneral {
		preset = ""
	}
	t := store.Token{Kind: store.TokenSignup, SubjectID: email, Data: map[string]string{dataEmail: email, dataName: name, dataAccountName: accountName, dataPreset: preset}}
	ev := audit.Event{AccountID: "system", ActorID: "system", Action: "account.signup_requested", TargetType: "email", TargetID: email, RequestID: in.RequestID}
	return s.Register(ctx, t, in.Password, in.SourceIP, ev)
}

// Register issues a pending registration t (kind store.TokenSignup or
// store.TokenJoin, subject the email, Data holding email, name and account
// name) after checking the password's rules, and emails its link, within
// the mail caps. The work is the same whether the email has a sign-in or
// not: one argon2id hash, one lookup, one token, one email.
func (s *Service) Register(ctx context.Context, t store.Token, plain, sourceIP string, ev audit.Event) error {
	email := t.Data[dataEmail]
	if err := password.Validate(plain, email); err != nil {
		return fieldError("password", err.Error())
	}
	ph, err := password.Hash(plain, password.DefaultParams)
	if err != nil {
		return err
	}
	kind := MailSignup
	if t.Kind == store.TokenJoin {
		kind = MailJoin
	}
	if ok, _, err := s.TakeMail(ctx, kind, email, sourceIP); err != nil || !ok {
		return err
	}
	switch id, err := s.Store.IdentityIDByEmail(ctx, email); {
	case err == nil:
		t.Data[dataIdentity] = id
	case errors.Is(err, team.ErrIdentityNotFound):
		t.Data[dataPasswordHash] = ph
	default:
		return err
	}
	return s.issueRegistration(ctx, t, ev)
}

// issueRegistration makes t (a new hash and expiry) the current pending
// registration of its email and sends its link.
func (s *Service) issueRegistration(ctx context.Context, t store.Token, ev audit.Event) error {
	tok, hash := onetime.New()
	t.Hash, t.ExpiresAt, t.UsedAt = hash, s.Now.Now().Add(registrationTTL), time.Time{}
	if err := s.Store.IssuePendingToken(ctx, t, ev); err != nil {
		return err
	}
	d := mail.VerifyEmailData{
		Name: t.Data[dataName], Link: s.link("/verify-email", tok), ExpiresAt: t.ExpiresAt,
		AccountName: t.Data[dataAccountName], Join: t.Kind == store.TokenJoin, Existing: t.Data[dataIdentity] != "",
	}
	subject, text, html, err := mail.Render(mail.TemplateVerifyEmail, d)
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, "verify:"+hash, mail.Message{To: []mail.Address{{Name: d.Name, Email: t.Data[dataEmail]}}, Subject: subject, Text: text, HTML: html})
	return err
}

func (s *Service) link(path, token string) string {
	return s.PublicURL + path + "?token=" + token
}

func (s *Service) sendVerify(ctx context.Context, tokenHash, email, name, link string) error {
	subject, text, html, err := mail.Render("verify_email", mail.VerifyEmailData{Name: name, Link: link})
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, "verify:"+tokenHash, mail.Message{
		To: []mail.Address{{Name: name, Email: email}}, Subject: subject, Text: text, HTML: html,
	})
	return err
}

// ResendVerification emails a new link for the email's pending sign-up
// or self-registration (the older link stops working), or, for an
// unverified sign-in, a new verification link. It reveals nothing: an
// email with nothing to verify gets no email and the same answer, and so
// does one over its cap.
func (s *Service) ResendVerification(ctx context.Context, rawEmail, sourceIP, requestID string) error {
	email, err := team.NormalizeEmail(rawEmail)
	if err != nil {
		return fieldError("email", err.Error())
	}
	if ok, _, err := s.TakeMail(ctx, MailVerify, email, sourceIP); err != nil || !ok {
		return err
	}
	now := s.Now.Now()
	for _, kind := range []string{store.TokenSignup, store.TokenJoin} {
		t, err := s.Store.CurrentToken(ctx, kind, email)
		if errors.Is(err, store.ErrTokenInvalid) || err == nil && (!t.UsedAt.IsZero() || !now.Before(t.ExpiresAt)) {
			continue
		}
		if err != nil {
			return err
		}
		ev := audit.Event{AccountID: orSystem(t.AccountID), ActorID: "system", Action: "registration.link_resent", TargetType: "email", TargetID: email, RequestID: requestID}
		if err := s.issueRegistration(ctx, t, ev); err != nil {
			return err
		}
	}
	id, err := s.Store.IdentityIDByEmail(ctx, email)
	if errors.Is(err, team.ErrIdentityNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ident, ms, err := s.Store.IdentityWithMemberships(ctx, id)
	if err != nil || ident.EmailVerified {
		return ignoreNotFound(err)
	}
	account := ""
	if len(ms) > 0 {
		account = ms[0].AccountID
	}
	tok, hash := onetime.New()
	t := store.Token{Hash: hash, Kind: store.TokenVerifyEmail, AccountID: account, SubjectID: ident.ID, ExpiresAt: now.Add(VerifyEmailTTL)}
	ev := audit.Event{AccountID: orSystem(account), ActorID: "system", Action: "identity.verification_sent", TargetType: "identity", TargetID: ident.ID, RequestID: requestID}
	if err := s.Store.IssueIdentityToken(ctx, t, ev); err != nil {
		return err
	}
	return s.sendVerify(ctx, hash, email, "", s.link("/verify-email", tok))
}

// Verified is what a confirmed link made: the account and member of a
// sign-up or self-registration (empty for a plain verification).
type Verified struct {
	AccountID string
	MemberID  string
}

// VerifyInput is POST /v1/auth/verify-email: Token with Password confirms
// a link, Email alone asks for a new one.
type VerifyInput struct {
	Token     string
	Email     string
	Password  string
	SourceIP  string
	RequestID string
}

// VerifyOrResend serves POST /v1/auth/verify-email: a token (with the
// password) confirms a link (VerifyEmail); an email alone asks for a new
// link (ResendVerification), and resent is true. Both, neither, or an
// email with a password are refused.
func (s *Service) VerifyOrResend(ctx context.Context, in VerifyInput) (v Verified, resent bool, err error) {
	switch {
	case in.Token != "" && in.Email != "":
		return Verified{}, false, fault.New(fault.Invalid, "invalid_body", "Give either token (to verify) or email (to get a new link), not both.")
	case in.Token != "":
		v, err := s.VerifyEmail(ctx, in)
		return v, false, err
	case in.Email != "":
		if in.Password != "" {
			return Verified{}, false, fault.New(fault.Invalid, "invalid_body", "A new link is asked for with email alone.")
		}
		return Verified{}, true, s.ResendVerification(ctx, in.Email, in.SourceIP, in.RequestID)
	default:
		return Verified{}, false, fieldError("token", "give token (to verify) or email (to get a new link)")
	}
}

var (
	errPasswordRequired = httpapi.InvalidField("password", "is required: give the password chosen when signing up (or, for an email that already has a Steward sign-in, its password)")
	errJoinClosed       = fault.New(fault.Forbidden, "self_registration_closed", "This account does not let people join by themselves; ask for an invitation.")
	errAlreadyMember    = fault.New(fault.Conflict, "already_member", "This email is already a member of the account; sign in instead.")
)

// VerifyEmail uses a link's token with the password: it creates the
// pending sign-up's account or self-registration's member, or verifies
// an unverified sign-in.
func (s *Service) VerifyEmail(ctx context.Context, in VerifyInput) (Verified, error) {
	hash, err := onetime.Hash(in.Token)
	if err != nil {
		return Verified{}, errTokenInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if errors.Is(err, store.ErrTokenInvalid) {
		return Verified{}, errTokenInvalid
	}
	if err != nil {
		return Verified{}, err
	}
	now := s.Now.Now()
	switch {
	case t.Kind != store.TokenVerifyEmail && t.Kind != store.TokenSignup && t.Kind != store.TokenJoin:
		return Verified{}, errTokenInvalid
	case !t.UsedAt.IsZero():
		return Verified{}, errTokenUsed
	case !now.Before(t.ExpiresAt):
		return Verified{}, errTokenExpired
	}
	if t.Kind == store.TokenVerifyEmail {
		return Verified{}, s.verifyIdentity(ctx, t, in, now)
	}
	return s.confirmRegistration(ctx, t, in, now)
}

// verifyIdentity verifies an identity made before registrations were
// confirmed by link: its password (the registrant's) must be given too.
func (s *Service) verifyIdentity(ctx context.Context, t store.Token, in VerifyInput, now time.Time) error {
	ident, err := s.Store.GetIdentity(ctx, t.SubjectID)
	if err != nil {
		return tokenError(ignoreNotFoundAs(err, store.ErrTokenInvalid))
	}
	if ident.PasswordHash != "" {
		if in.Password == "" {
			return errPasswordRequired
		}
		if err := s.CheckPassword(ctx, ident, in.Password, in.SourceIP); err != nil {
			return err
		}
	}
	ev := audit.Event{AccountID: orSystem(t.AccountID), ActorID: "identity:" + t.SubjectID, Action: "identity.verify_email", TargetType: "identity", TargetID: t.SubjectID, RequestID: in.RequestID}
	if err := s.Store.VerifyEmail(ctx, t.Hash, t.SubjectID, now, ev); err != nil {
		if errors.Is(err, store.ErrTokenInvalid) {
			return tokenError(s.Store.TokenFailure(ctx, t.Hash, store.TokenVerifyEmail, now))
		}
		return err
	}
	return nil
}

func ignoreNotFoundAs(err, as error) error {
	if errors.Is(err, team.ErrIdentityNotFound) {
		return as
	}
	return err
}

// confirmRegistration creates what a pending registration stands for,
// when the password matches: the one chosen at registration for a new
// sign-in, the sign-in's own for an email that has one.
func (s *Service) confirmRegistration(ctx context.Context, t store.Token, in VerifyInput, now time.Time) (Verified, error) {
	if in.Password == "" {
		return Verified{}, errPasswordRequired
	}
	email, name := t.Data[dataEmail], t.Data[dataName]
	var ident team.Identity
	newIdentity := t.Data[dataIdentity] == ""
	if newIdentity {
		if ok, _, err := password.Verify(in.Password, t.Data[dataPasswordHash]); err != nil || !ok {
			return Verified{}, errInvalidCredentials
		}
		ident = team.Identity{ID: store.NewID("i"), Email: email, PasswordHash: t.Data[dataPasswordHash], EmailVerified: true, CreatedAt: now, UpdatedAt: now, Version: 1}
	} else {
		existing, err := s.Store.GetIdentity(ctx, t.Data[dataIdentity])
		if errors.Is(err, team.ErrIdentityNotFound) {
			return Verified{}, errTokenInvalid
		}
		if err != nil {
			return Verified{}, err
		}
		if err := s.CheckPassword(ctx, existing, in.Password, in.SourceIP); err != nil {
			return Verified{}, err
		}
		ident = existing
	}
	m := team.Member{ID: store.NewID("m"), IdentityID: ident.ID, Email: email, Name: name, Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now}
	na := store.NewAccount{Owner: m, Identity: ident, NewIdentity: newIdentity}
	var ev audit.Event
	defaultRole := ""
	if t.Kind == store.TokenSignup {
		preset, ok := rbac.LookupPreset(t.Data[dataPreset])
		if !ok {
			return Verified{}, errTokenInvalid // a preset removed since the link was sent
		}
		acct := team.Account{ID: store.NewID("a"), Name: t.Data[dataAccountName], Settings: team.PresetSettings(preset), Version: 1, CreatedAt: now, UpdatedAt: now, OwnerID: m.ID}
		if preset.ID != rbac.PresetGeneral {
			acct.Preset = preset.ID
		}
		na.Account = acct
		na.Owner.AccountID, na.Owner.Admin, na.Owner.Owner = acct.ID, true, true
		ev = audit.Event{AccountID: acct.ID, ActorID: m.ID, ActorName: name, Action: "account.create", TargetType: "account", TargetID: acct.ID,
			After: audit.Snapshot(map[string]string{"name": acct.Name, "owner": m.ID, "email": email, "preset": preset.ID}), RequestID: in.RequestID}
	} else {
		acct, err := s.Store.GetAccount(ctx, t.AccountID)
		if errors.Is(err, team.ErrAccountNotFound) {
			return Verified{}, errJoinClosed
		}
		if err != nil {
			return Verified{}, err
		}
		reg := acct.Settings.SelfRegistration
		if !JoinAllowed(reg, email) {
			return Verified{}, errJoinClosed
		}
		// The first person to complete self-registration in the account
		// is recorded (a marker written only if absent, in the member's
		// transaction) and gets the first registrant's role when the
		// account names one; whoever loses a race for it joins with the
		// default role.
		first, ferr := s.Store.FirstRegistrant(ctx, acct.ID)
		if ferr != nil {
			return Verified{}, ferr
		}
		na.ClaimFirst = first == ""
		defaultRole = reg.DefaultRole
		role := reg.DefaultRole
		if na.ClaimFirst && reg.FirstRegistrantRole != "" {
			role = reg.FirstRegistrantRole
		}
		na.Owner.AccountID = acct.ID
		na.Owner.Assignments = []rbac.Assignment{{Role: role, Scope: rbac.AccountScope}}
		ev = audit.Event{AccountID: acct.ID, ActorID: m.ID, ActorName: name, Action: "member.self_register", TargetType: "member", TargetID: m.ID, RequestID: in.RequestID,
			After: audit.Snapshot(map[string]any{"email": email, "role": role})}
	}
	err := s.Store.ConfirmRegistration(ctx, t.Hash, t.Kind, t.SubjectID, now, na, ev)
	if errors.Is(err, store.ErrFirstRegistrantTaken) {
		// Someone else completed first meanwhile: the default role.
		na.ClaimFirst = false
		na.Owner.Assignments = []rbac.Assignment{{Role: defaultRole, Scope: rbac.AccountScope}}
		ev.After = audit.Snapshot(map[string]any{"email": email, "role": defaultRole})
		err = s.Store.ConfirmRegistration(ctx, t.Hash, t.Kind, t.SubjectID, now, na, ev)
	}
	switch {
	case err == nil:
		return Verified{AccountID: na.Owner.AccountID, MemberID: m.ID}, nil
	case errors.Is(err, store.ErrTokenInvalid):
		return Verified{}, tokenError(s.Store.TokenFailure(ctx, t.Hash, t.Kind, now))
	case errors.Is(err, team.ErrEmailTaken):
		return Verified{}, fault.New(fault.Conflict, "email_registered", "This email got a Steward sign-in meanwhile; sign up (or join) again to use it.")
	case errors.Is(err, team.ErrAlreadyMember):
		return Verified{}, errAlreadyMember
	case errors.Is(err, store.ErrRoleGone), errors.Is(err, team.ErrAccountNotFound):
		return Verified{}, errJoinClosed
	}
	return Verified{}, err
}

// JoinAllowed reports whether an account's self-registration settings let
// email join: any email when it is open, else one of its domains (its
// default role's existence is checked apart).
func JoinAllowed(reg team.SelfRegistration, email string) bool {
	if !reg.Enabled || reg.DefaultRole == "" || reg.DefaultRole == rbac.RoleAdministrator {
		return false
	}
	if reg.Open {
		return true
	}
	for _, d := range reg.Domains {
		if d == team.EmailDomain(email) {
			return true
		}
	}
	return false
}
