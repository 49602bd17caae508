package password

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheap are the smallest parameters Hash accepts, for tests that do not
// care about the cost.
var cheap = Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyDefault(t *testing.T) {
	const pw = "correct-horse-stapler-42"
	h, err := Hash(pw, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not the expected PHC string", h)
	}
	ok, rehash, err := Verify(pw, h)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"", "correct-horse-stapler-43", "Correct-horse-stapler-42", pw + " "} {
		ok, rehash, err = Verify(wrong, h)
		if err != nil || ok || rehash {
			t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
	h2, err := Hash(pw, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestNeedsRehash(t *testing.T) {
	const pw = "an old but fine password"
	old, err := Hash(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := Verify(pw, old)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	// A wrong password never asks for a rehash.
	if ok, rehash, _ := Verify("wrong", old); ok || rehash {
		t.Fatalf("Verify(wrong) = %v, %v", ok, rehash)
	}
	// Other salt and key lengths also count as different parameters.
	longer := DefaultParams
	longer.KeyLen = 64
	h, err := Hash(pw, longer)
	if err != nil {
		t.Fatal(err)
	}
	if _, rehash, _ := Verify(pw, h); !rehash {
		t.Fatal("a 64-byte key should need a rehash")
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good, err := Hash("x", cheap)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	for _, enc := range []string{
		"",
		"plaintext",
		"$argon2id$",
		"$argon2i$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=8192,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=08192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, // 4 TiB
		"$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key, // overflows
		"$argon2id$v=19$m=8192,t=1000000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "!",
		"$argon2id$v=19$m=8192,t=1,p=1$$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + strings.Repeat("A", 600),
	} {
		ok, rehash, err := Verify("x", enc)
		if !errors.Is(err, ErrInvalidHash) || ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want ErrInvalidHash", enc, ok, rehash, err)
		}
	}
	if ok, _, err := Verify("x", good); !ok || err != nil {
		t.Fatalf("control: Verify(good) = %v, %v", ok, err)
	}
}

func TestHashRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{},
		{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 1 << 20, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Iterations: 1, Parallelism: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 8},
	} {
		if _, err := Hash("x", p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("Hash(%+v) err = %v; want ErrInvalidParams", p, err)
		}
	}
}

func TestDummyVerify(t *testing.T) {
	// The dummy hash must cost what a real default hash costs: same
	// parameters, same salt and key lengths.
	p, _, _, err := decode(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if p != DefaultParams {
		t.Fatalf("dummy hash params %+v, want DefaultParams %+v", p, DefaultParams)
	}
	for _, pw := range []string{"", "password", "steward password dummy key"} {
		if ok, _, _ := Verify(pw, dummyHash); ok {
			t.Fatalf("%q verifies against the dummy hash", pw)
		}
	}
	DummyVerify("anything")
}

func FuzzDecode(f *testing.F) {
	f.Add(dummyHash)
	f.Add("$argon2id$v=19$m=8192,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, enc string) {
		p, salt, key, err := decode(enc)
		if err != nil {
			return
		}
		if p.check() != nil {
			t.Fatalf("decode accepted out-of-bounds params %+v", p)
		}
		if got := encode(p, salt, key); got != enc {
			t.Fatalf("decode accepted a non-canonical hash: %q re-encodes as %q", enc, got)
		}
	})
}

// BenchmarkHash reports the cost of one hash with DefaultParams on this
// machine. A 256 MB Lambda has about 1/7 of a vCPU, so expect several
// times this per login there.
func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct-horse-stapler-42", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify and BenchmarkDummyVerify should report the same time:
// that is what keeps login from revealing which emails exist.
func BenchmarkVerify(b *testing.B) {
	h, err := Hash("correct-horse-stapler-42", DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, _, _ = Verify("not the password", h)
	}
}

// BenchmarkDummyVerify measures DummyVerify; compare with BenchmarkVerify.
func BenchmarkDummyVerify(b *testing.B) {
	for b.Loop() {
		DummyVerify("not the password")
	}
}
