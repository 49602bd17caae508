package permissions

import (
	"context"
	"slices"
	"sync"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/rbac"
)

// Catalogue is the permission catalogue, as GET /v1/permissions answers
// it: areas, tiers, permissions with their direct and transitive
// dependencies, and the document actions and types a check accepts.
type Catalogue struct {
	Areas           []areaView       `json:"areas"`
	Tiers           []tierView       `json:"tiers"`
	Permissions     []permissionView `json:"permissions"`
	DocumentActions []string         `json:"documentActions"`
	DocumentTypes   []string         `json:"documentTypes"`
}

// Parts of the catalogue.
type (
	areaView struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	tierView struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	permissionView struct {
		Key         string   `json:"key"`
		Area        string   `json:"area"`
		Kind        string   `json:"kind"`
		Tier        string   `json:"tier"`
		Description string   `json:"description"`
		DependsOn   []string `json:"dependsOn"`
		Requires    []string `json:"requires"`
		AccountWide bool     `json:"accountWide"`
	}
)

// tiers explains the permission tiers.
var tiers = []tierView{
	{ID: string(rbac.TierNormal), Description: "Any role may grant it."},
	{ID: string(rbac.TierCritical), Description: "Held only by administrators (the admin flag or the administrator role at account scope); no other role, built-in or custom, lists it."},
	{ID: string(rbac.TierOwner), Description: "Held only by the account owner; no role lists it."},
}

// catalogue is built once: the catalogue is data compiled into rbac.
var catalogue = sync.OnceValue(func() Catalogue {
	out := Catalogue{Tiers: tiers, DocumentActions: rbac.DocumentActions()}
	for _, a := range rbac.Areas() {
		out.Areas = append(out.Areas, areaView{ID: a.ID, Name: a.Name})
	}
	for _, p := range rbac.Permissions() {
		out.Permissions = append(out.Permissions, permissionView{
			Key: p.Key, Area: p.Area, Kind: string(p.Kind), Tier: string(p.Tier), Description: p.Description,
			DependsOn: nonNil(p.DependsOn), Requires: nonNil(rbac.Dependencies(p.Key)), AccountWide: p.AccountWide,
		})
	}
	for _, t := range rbac.DocTypes() {
		out.DocumentTypes = append(out.DocumentTypes, string(t))
	}
	return out
})

// Catalogue returns the permission catalogue (listPermissions). Every
// authenticated caller may read it; it is data compiled into pkg/rbac,
// shared by every call: do not modify it.
func (s *Service) Catalogue(_ context.Context, p *auth.Principal) (Catalogue, error) {
	if err := caller(p); err != nil {
		return Catalogue{}, err
	}
	all := catalogue()
	keys := p.Roles.Catalogue()
	if len(keys) == len(all.Permissions) {
		return all, nil
	}
	// The account's preset uses part of the catalogue: only that part,
	// and the areas it touches.
	out := all
	out.Permissions, out.Areas = nil, nil
	areas := map[string]bool{}
	for _, pv := range all.Permissions {
		if slices.ContainsFunc(keys, func(k rbac.Permission) bool { return k.Key == pv.Key }) {
			out.Permissions = append(out.Permissions, pv)
			areas[pv.Area] = true
		}
	}
	for _, a := range all.Areas {
		if areas[a.ID] {
			out.Areas = append(out.Areas, a)
		}
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
