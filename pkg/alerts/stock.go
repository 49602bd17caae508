package alerts

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// MaxStockItems is the most items one PUT /v1/stock-levels carries.
const MaxStockItems = 500

// Field limits of a stock item.
const (
	maxSKU  = 100
	maxName = 200
)

// StockItem is one item of a stock push.
type StockItem struct {
	SKU       string   `json:"sku"`
	Name      string   `json:"name"`
	Store     string   `json:"store"`
	OnHand    *float64 `json:"onHand"`
	Threshold *float64 `json:"threshold"`
}

// StockPush is the body of PUT /v1/stock-levels.
type StockPush struct {
	Items []StockItem `json:"items"`
}

// StockResult answers a push.
type StockResult struct {
	// Written counts the items written; Low those below their threshold.
	Written int `json:"written"`
	Low     int `json:"low"`
}

// invalid collects field errors of a batch.
type invalid []httpapi.FieldError

func (v *invalid) add(field, detail string) {
	*v = append(*v, httpapi.FieldError{Field: field, Detail: detail})
}

func validText(s string) bool {
	for _, r := range s {
		if httpapi.IsControl(r) {
			return false
		}
	}
	return true
}

// Validate checks every item of the push and returns the levels to write,
// or a 400 problem naming each bad item's index and field
// (items[3].threshold).
func (p StockPush) Validate() ([]store.StockLevel, error) {
	var bad invalid
	switch {
	case p.Items == nil:
		bad.add("items", "is required")
	case len(p.Items) == 0:
		bad.add("items", "must hold at least one item")
	case len(p.Items) > MaxStockItems:
		bad.add("items", fmt.Sprintf("holds %d items; at most %d per call", len(p.Items), MaxStockItems))
	}
	if len(bad) > 0 {
		return nil, problem(bad)
	}
	seen := make(map[string]int, len(p.Items))
	out := make([]store.StockLevel, 0, len(p.Items))
	for i, it := range p.Items {
		f := func(name string) string { return httpapi.Indexed("items", i) + "." + name }
		sku := strings.TrimSpace(it.SKU)
		switch {
		case sku == "":
			bad.add(f("sku"), "is required")
		case len(sku) > maxSKU:
			bad.add(f("sku"), fmt.Sprintf("is longer than %d bytes", maxSKU))
		case strings.Contains(sku, "#") || !validText(sku):
			bad.add(f("sku"), "must not contain '#' or control characters")
		}
		name := strings.TrimSpace(it.Name)
		switch {
		case name == "":
			bad.add(f("name"), "is required")
		case len(name) > maxName:
			bad.add(f("name"), fmt.Sprintf("is longer than %d bytes", maxName))
		case !validText(name):
			bad.add(f("name"), "must not contain control characters")
		}
		if it.Store == "" {
			bad.add(f("store"), "is required")
		} else if err := rbac.StoreScope(it.Store).Validate(); err != nil {
			bad.add(f("store"), "is not a valid store id")
		}
		for _, q := range []struct {
			name string
			v    *float64
		}{{"onHand", it.OnHand}, {"threshold", it.Threshold}} {
			switch {
			case q.v == nil:
				bad.add(f(q.name), "is required")
			case math.IsNaN(*q.v) || math.IsInf(*q.v, 0) || math.Abs(*q.v) > 1e12:
				bad.add(f(q.name), "must be a finite number")
			case q.name == "threshold" && *q.v < 0:
				bad.add(f(q.name), "must not be negative")
			}
		}
		k := it.Store + "\x00" + sku
		if j, dup := seen[k]; dup {
			bad.add(f("sku"), fmt.Sprintf("repeats items[%d] (same store and sku)", j))
		} else {
			seen[k] = i
		}
		if it.OnHand != nil && it.Threshold != nil {
			out = append(out, store.StockLevel{Store: it.Store, SKU: sku, Name: name, OnHand: *it.OnHand, Threshold: *it.Threshold})
		}
	}
	if len(bad) > 0 {
		return nil, problem(bad)
	}
	return out, nil
}

func problem(bad invalid) error {
	e := fault.New(fault.Invalid, "invalid_field", bad[0].Field+": "+bad[0].Detail)
	if len(bad) > 1 {
		e.Detail += fmt.Sprintf(" (and %d more)", len(bad)-1)
	}
	e.Fields = bad
	return e
}

// PutStock validates the push, checks that the caller may edit stock at
// every item's store and that the stores exist, then writes every item.
// Nothing is written when any check fails.
func (s *Service) PutStock(ctx context.Context, p *auth.Principal, push StockPush) (StockResult, error) {
	levels, err := push.Validate()
	if err != nil {
		return StockResult{}, err
	}
	account := p.AccountID()
	allowed := map[string]bool{}
	var scopes []rbac.Scope
	for i, l := range levels {
		ok, known := allowed[l.Store]
		if !known {
			ok = p.Decide(PermStockEdit, rbac.Resource{Account: account, Type: "store", ID: l.Store, Store: l.Store}).Allowed
			allowed[l.Store] = ok
			scopes = append(scopes, rbac.StoreScope(l.Store))
		}
		if !ok {
			return StockResult{}, fault.New(fault.Forbidden, "forbidden",
				fmt.Sprintf("items[%d].store: you may not edit stock in store %s (needs %s).", i, l.Store, PermStockEdit))
		}
	}
	if len(scopes) > store.MaxScopesChecked {
		return StockResult{}, httpapi.InvalidField("items", fmt.Sprintf("names %d stores; at most %d per call", len(scopes), store.MaxScopesChecked))
	}
	missing, err := s.Store.ScopesExist(ctx, account, scopes)
	if err != nil {
		return StockResult{}, err
	}
	if len(missing) > 0 {
		gone := map[string]bool{}
		for _, sc := range missing {
			gone[sc.ID] = true
		}
		var bad invalid
		for i, l := range levels {
			if gone[l.Store] {
				bad.add(httpapi.Indexed("items", i)+".store", "store "+l.Store+" does not exist")
			}
		}
		e := problem(bad)
		e.(*httpapi.Error).Code = "unknown_scope"
		return StockResult{}, e
	}
	if err := s.Store.PutStockLevels(ctx, account, levels); err != nil {
		return StockResult{}, err
	}
	res := StockResult{Written: len(levels)}
	for _, l := range levels {
		if l.Low() {
			res.Low++
		}
	}
	return res, nil
}
