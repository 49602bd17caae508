package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// DocRef names a stored document of an account.
type DocRef struct {
	Type rbac.DocType
	ID   string
}

// CheckFacts are what a batch of permission checks reads: the members it
// names besides the caller with the account's custom roles, and the
// documents it names with the approval policies of their types.
type CheckFacts struct {
	// Members by id and the account's custom roles, when members were
	// asked for (Members is nil otherwise); an id that is not a member of
	// the account is absent.
	LoadedMembers
	// Documents found, by reference; a document that does not exist is
	// absent.
	Documents map[DocRef]documents.Document
	// Policies of the types of the documents asked for (the default
	// policy of a type that has none stored).
	Policies map[rbac.DocType]documents.ApprovalPolicy
}

// LoadCheckFacts reads, strongly consistently, the members ids (at most
// MaxLoadMembers, with the account's roles version item; the custom roles
// themselves come from the store's per-version cache, see roles.go) and
// the documents docs
// (with the approval policy of each of their types) of an account in one
// BatchGetItem when they are at most 100 keys in all, and otherwise in
// ceil(keys/100) BatchGetItems sent at once: one round trip either way.
// Duplicates are read once. A batch of 100 checks naming 100 documents of
// the seven types and 99 other members is 207 keys: three concurrent
// requests.
func (s *Store) LoadCheckFacts(ctx context.Context, account string, ids []string, docs []DocRef) (CheckFacts, error) {
	out := CheckFacts{Documents: map[DocRef]documents.Document{}, Policies: map[rbac.DocType]documents.ApprovalPolicy{}}
	var keys []map[string]types.AttributeValue
	seen := map[string]bool{}
	if len(ids) > 0 {
		keys = append(keys, rolesKey(account))
		out.LoadedMembers = LoadedMembers{Members: map[string]team.Member{}, Roles: CustomRoles{Roles: []rbac.Role{}}}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				keys = append(keys, memberKey(account, id))
			}
		}
		if len(seen) > MaxLoadMembers {
			return CheckFacts{}, fmt.Errorf("load check facts: %d members is over the limit of %d", len(seen), MaxLoadMembers)
		}
	}
	seenDoc := map[DocRef]bool{}
	for _, d := range docs {
		if seenDoc[d] {
			continue
		}
		seenDoc[d] = true
		keys = append(keys, documentKey(account, d.Type, d.ID))
		if _, ok := out.Policies[d.Type]; !ok {
			out.Policies[d.Type] = documents.DefaultApprovalPolicy(account, d.Type)
			keys = append(keys, policyKey(account, d.Type))
		}
	}
	items, err := s.batchGet(ctx, keys)
	if err == nil && len(ids) > 0 {
		items, err = s.withDeletedMembers(ctx, keys, items)
	}
	if err != nil {
		return CheckFacts{}, fmt.Errorf("load check facts: %w", err)
	}
	for _, raw := range items {
		typ, _ := raw[AttrType].(*types.AttributeValueMemberS)
		if typ == nil {
			continue
		}
		if ok, err := out.take(raw, account, seen); err != nil {
			return CheckFacts{}, fmt.Errorf("load check facts: %w", err)
		} else if ok {
			continue
		}
		switch typ.Value {
		case typeDocument:
			var it documentItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return CheckFacts{}, fmt.Errorf("decode document: %w", err)
			}
			d := it.document()
			if ref := (DocRef{Type: d.Type, ID: d.ID}); d.AccountID == account && seenDoc[ref] {
				out.Documents[ref] = d
			}
		case typePolicy:
			var it policyItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return CheckFacts{}, fmt.Errorf("decode policy: %w", err)
			}
			t := rbac.DocType(it.DocType)
			if pol, ok := out.Policies[t]; ok && it.AccountID == account {
				pol.Enabled, pol.Levels = it.Enabled, fromLevelItems(it.Levels)
				out.Policies[t] = pol
			}
		}
	}
	if len(ids) > 0 {
		if err := out.resolveRoles(ctx, s, account); err != nil {
			return CheckFacts{}, fmt.Errorf("load check facts: %w", err)
		}
	}
	return out, nil
}
