package store_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
)

func TestActiveMembers(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 3)
	other, os := seedAccount(t, s, 0)
	suspended, deleted := ms[2], ms[3]
	suspended.Status = rbac.StatusSuspended
	if _, err := s.UpdateMember(ctx, suspended, audit.Event{AccountID: account, Action: "member.suspend"}); err != nil {
		t.Fatal(err)
	}
	deleted.Status = rbac.StatusDeleted
	if _, err := s.DeleteMember(ctx, deleted, audit.Event{AccountID: account, Action: "member.delete"}); err != nil {
		t.Fatal(err)
	}
	ids := []string{ms[0].ID, ms[1].ID, ms[1].ID, suspended.ID, deleted.ID, os[0].ID, "m_nobody"}
	got, err := s.ActiveMembers(ctx, account, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ms[0].ID, ms[1].ID}
	slices.Sort(want)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Errorf("active %v, want %v (another account's %s)", keys, want, other)
	}
	if got, err := s.ActiveMembers(ctx, account, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v, %v", got, err)
	}
}
