package alerts

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

func f(v float64) *float64 { return &v }

func TestValidateNamesIndexAndField(t *testing.T) {
	ok := StockItem{SKU: "A", Name: "A", Store: "s1", OnHand: f(1), Threshold: f(2)}
	cases := []struct {
		name  string
		items []StockItem
		want  []string
	}{
		{"nil", nil, []string{"items"}},
		{"empty", []StockItem{}, []string{"items"}},
		{"too many", make([]StockItem, MaxStockItems+1), []string{"items"}},
		{"negative threshold", []StockItem{ok, ok, ok, {SKU: "B", Name: "B", Store: "s1", OnHand: f(1), Threshold: f(-1)}}, []string{"items[1].sku", "items[2].sku", "items[3].threshold"}},
		{"missing", []StockItem{{}}, []string{"items[0].sku", "items[0].name", "items[0].store", "items[0].onHand", "items[0].threshold"}},
		{"hash in sku", []StockItem{{SKU: "a#b", Name: "x", Store: "s1", OnHand: f(0), Threshold: f(0)}}, []string{"items[0].sku"}},
		{"bad store", []StockItem{{SKU: "a", Name: "x", Store: "s 1", OnHand: f(0), Threshold: f(0)}}, []string{"items[0].store"}},
		{"long name", []StockItem{{SKU: "a", Name: strings.Repeat("n", maxName+1), Store: "s1", OnHand: f(0), Threshold: f(0)}}, []string{"items[0].name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := StockPush{Items: c.items}.Validate()
			var he *httpapi.Error
			if !errors.As(err, &he) || httpapi.Status(he.Kind) != http.StatusBadRequest {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, fe := range he.Fields {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("fields %v, want %v", got, c.want)
			}
		})
	}
	levels, err := StockPush{Items: []StockItem{ok, {SKU: " B ", Name: "B", Store: "s2", OnHand: f(5), Threshold: f(5)}}}.Validate()
	if err != nil || len(levels) != 2 || levels[1].SKU != "B" || !levels[0].Low() || levels[1].Low() {
		t.Fatalf("levels %+v, %v", levels, err)
	}
}

func TestDueNowUsesAccountTimeZone(t *testing.T) {
	now := time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC) // 07:30 in Berlin (CET)
	berlin := team.Account{Settings: team.Settings{TimeZone: "Europe/Berlin", AlertHour: 7}}
	utc := team.Account{Settings: team.Settings{TimeZone: "UTC", AlertHour: 7}}
	bad := team.Account{Settings: team.Settings{TimeZone: "Nowhere/Else", AlertHour: 6}}
	if !DueNow(berlin, now) || DueNow(utc, now) || !DueNow(bad, now) {
		t.Fatalf("DueNow: berlin %v utc %v bad(UTC) %v", DueNow(berlin, now), DueNow(utc, now), DueNow(bad, now))
	}
}

func TestOutboxKeyAndLinks(t *testing.T) {
	if got := OutboxKey("a1", "m1", "2026-03-10"); got != "digest/a1/m1/2026-03-10" {
		t.Fatal(got)
	}
	for in, want := range map[string]string{
		"https://host.example/po/1": "https://host.example/po/1", "javascript:alert(1)": "", "/relative": "", "": "",
	} {
		if got := httpLink(in); got != want {
			t.Errorf("httpLink(%q) = %q", in, got)
		}
	}
	if got := describe("lowStock,approvalReminder,bogus"); got != "low stock, approval reminders" {
		t.Fatal(got)
	}
	if got := describe("dueSalesOrder,duePurchaseOrder"); got != "due sales orders, due purchase orders" {
		t.Fatal(got)
	}
}
