package httpapi

import "testing"

func TestNullFieldIsRefused(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":"null"}`:             "",
		`{"a":null}`:                     "a",
		`{"a":{"b":[1,{"c":null}]}}`:     "a.b.1.c",
		`{"x":[1,null]}`:                 "x.1",
		`{"x":{"y":1},"z":[{"q":null}]}`: "z.0.q",
		`null`:                           "(body)",
	} {
		if got := nullField([]byte(body)); got != want {
			t.Errorf("nullField(%s) = %q, want %q", body, got, want)
		}
	}
}
