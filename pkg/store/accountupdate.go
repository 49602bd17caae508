package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/team"
)

// UpdateAccount saves an account's name and settings with its audit event,
// in one transaction, when the stored account is still at a.Version (the
// version the caller read), and returns the account at the next version.
// An account changed meanwhile is team.ErrStaleVersion; a missing one
// team.ErrAccountNotFound. The owner and the creation time are not
// written here (ownership moves only by TransferOwnership), so a change
// built on an older read can never undo a transfer.
func (s *Store) UpdateAccount(ctx context.Context, a team.Account, ev audit.Event) (team.Account, error) {
	now := s.now().UTC()
	it := toAccountItem(a)
	list := func(v []string) types.AttributeValue {
		if len(v) == 0 {
			return &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
		}
		av, err := attributevalue.Marshal(v)
		if err != nil {
			// A string slice always marshals; a failure is a bug.
			panic(fmt.Sprintf("store: marshal list: %v", err))
		}
		return av
	}
	tx := NewTx(ev)
	tx.Update(accountKey(a.ID), Cond{
		Expr: "SET #name = :name, #ttl = :ttl, #tz = :tz, #hour = :hour, #ext = :ext, " +
			"#sre = :sre, #sro = :sro, #srd = :srd, #srr = :srr, #srf = :srf, #ard = :ard, #drd = :drd, #gnd = :gnd, #bil = :billing, #lad = :lock, " +
			"#ppn = :ppn, #plu = :plu, #pac = :pac, #pao = :pao, #ver = :next, #upd = :now",
		Names: map[string]string{
			"#name": "name", "#ttl": "invitationTtlSeconds", "#tz": "timeZone", "#hour": "alertHour",
			"#ext": "externalApproverDomains", "#sre": "selfRegistrationEnabled",
			"#srd": "selfRegistrationDomains", "#srr": "selfRegistrationDefaultRole", "#upd": "updatedAt",
			"#sro": "selfRegistrationOpen", "#srf": "selfRegistrationFirstRole",
			"#ard": "auditRetentionDays", "#drd": "documentRetentionDays", "#gnd": "grantExpiryNoticeDays",
			"#bil": "billing", "#lad": "lockAfterDays",
			"#ppn": "portalProductName", "#plu": "portalLogoUrl", "#pac": "portalAccentColor", "#pao": "portalAllowedOrigins",
		},
		Values: map[string]types.AttributeValue{
			":name": str(it.Name), ":ttl": num(it.InvitationTTLSeconds), ":tz": str(it.TimeZone),
			":hour": num(int64(it.AlertHour)), ":ext": list(it.ExternalDomains),
			":sre": &types.AttributeValueMemberBOOL{Value: it.SelfRegEnabled},
			":srd": list(it.SelfRegDomains), ":srr": str(it.SelfRegDefaultRole),
			":sro": &types.AttributeValueMemberBOOL{Value: it.SelfRegOpen}, ":srf": str(it.SelfRegFirstRole),
			":ard":     num(int64(orDefault(it.AuditRetentionDays, team.DefaultAuditRetentionDays))),
			":drd":     num(int64(orDefault(it.DocRetentionDays, team.DefaultDocumentRetentionDays))),
			":gnd":     num(int64(a.Settings.GrantExpiryNoticeDays)),
			":billing": str(string(a.Settings.Billing)), ":lock": num(int64(a.Settings.LockAfterDays)),
			":ppn": str(it.PortalProduct), ":plu": str(it.PortalLogo), ":pac": str(it.PortalAccent),
			":pao":  list(it.PortalOrigins),
			":next": num(a.Version + 1), ":now": timeAV(now),
		},
	}, VersionIs(a.Version), team.ErrStaleVersion)
	// The settings decisions depend on, copied to the roles version item
	// that every authenticated request reads (rolesItem); its version
	// does not move (rolesAt takes the options from the item read).
	tx.Update(rolesKey(a.ID), Cond{
		Expr:  "SET #type = :rtype, #ver = if_not_exists(#ver, :zero), #billing = :billing, #lock = :lock, #upd = :now",
		Names: map[string]string{"#type": AttrType, "#ver": AttrVersion, "#billing": "billing", "#lock": "lockAfterDays", "#upd": "updatedAt"},
		Values: map[string]types.AttributeValue{":rtype": str(typeRoles), ":zero": num(0),
			":billing": str(string(a.Settings.Billing)), ":lock": num(int64(a.Settings.LockAfterDays)), ":now": timeAV(now)},
	}, nil, nil)
	err := s.Commit(ctx, tx)
	var ce *ConditionError
	if errors.As(err, &ce) && ce.Item == nil {
		return team.Account{}, team.ErrAccountNotFound
	}
	if err != nil {
		return team.Account{}, err
	}
	a.Version++
	a.UpdatedAt = now
	s.retention.remember(a, s.now())
	return a, nil
}
