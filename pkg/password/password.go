// Package password hashes, verifies and validates identity passwords.
//
// Hashes are argon2id (RFC 9106) in the PHC string format that other
// argon2 libraries read and write:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<key, base64>
//
// (standard base64 alphabet, no padding). The parameters live inside the
// encoded hash, so they can be raised later: Verify reports needsRehash
// when a stored hash was made with other parameters than DefaultParams,
// and the login path then stores a fresh hash of the password it has just
// verified.
package password

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Iterations is the number of passes over the memory (time cost).
	Iterations uint32
	// Parallelism is the number of lanes (threads).
	Parallelism uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// DefaultParams are the parameters new hashes are made with: the OWASP
// Password Storage Cheat Sheet's first argon2id configuration (m=19 MiB,
// t=2, p=1), a 16-byte salt and a 32-byte key.
//
// Why this point: a login Lambda runs with 256 MB of memory. 19 MiB per
// hash leaves the runtime ample headroom, even with a few concurrent
// hashes in one process, while keeping memory-hardness (the stronger
// OWASP points use 46-64 MiB). One lane, because at 256 MB Lambda gives
// about 1/7 of a vCPU, so more lanes add no speed. Two passes over 19 MiB
// take about 30 ms on one full core (BenchmarkHash), so roughly 200 ms in
// a 256 MB Lambda: acceptable for login, sign-up and password reset, and
// a reason to give the login function more memory (hence CPU) before
// lowering these numbers.
//
// Treat DefaultParams as a constant: Verify compares stored hashes
// against it and DummyVerify's fixed hash is built from it at start-up.
var DefaultParams = Params{
	Memory:      19456,
	Iterations:  2,
	Parallelism: 1,
	SaltLen:     16,
	KeyLen:      32,
}

// Bounds on parameters, both for Hash and for hashes read back by Verify,
// so that a corrupt or hostile stored hash cannot make a Lambda allocate
// gigabytes or spin for minutes.
const (
	minMemory      = 8 * 1024   // KiB
	maxMemory      = 256 * 1024 // KiB: the Lambda's whole memory
	minIterations  = 1
	maxIterations  = 16
	minParallelism = 1
	maxParallelism = 16
	minSaltLen     = 8
	maxSaltLen     = 64
	minKeyLen      = 16
	maxKeyLen      = 64
)

// ErrInvalidHash is returned by Verify when the encoded hash is not an
// argon2id PHC string this package accepts (wrong algorithm or version,
// malformed fields, parameters out of bounds). It indicates corrupt
// stored data, never a wrong password.
var ErrInvalidHash = errors.New("password: invalid encoded hash")

// ErrInvalidParams is returned by Hash when p is outside the accepted
// bounds.
var ErrInvalidParams = errors.New("password: invalid argon2id parameters")

// Hash derives an argon2id key from plain with a fresh random salt and
// returns it encoded as a PHC string. It does not apply the password
// policy; call Validate first for passwords a person chooses.
func Hash(plain string, p Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	// crypto/rand.Read never returns an error (it crashes the program if
	// the system's randomness fails), so the result needs no check.
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(plain), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	return encode(p, salt, key), nil
}

// Verify reports whether plain matches the encoded hash, comparing the
// derived keys in constant time. needsRehash is true when plain matched
// but the hash was made with other parameters than DefaultParams; the
// caller should then store Hash(plain, DefaultParams). err is non-nil
// (wrapping ErrInvalidHash) only when encoded cannot be parsed; a wrong
// password is ok == false with a nil error.
func Verify(plain, encoded string) (ok bool, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(plain), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != DefaultParams, nil
}

// dummyHash is a well-formed hash with DefaultParams whose key is not
// derived from any password (it is SHA-256 of a label), so nothing
// verifies against it.
var dummyHash = func() string {
	salt := sha256.Sum256([]byte("steward password dummy salt"))
	key := sha256.Sum256([]byte("steward password dummy key"))
	s := make([]byte, DefaultParams.SaltLen)
	k := make([]byte, DefaultParams.KeyLen)
	// Repeat the digests if the lengths exceed 32 bytes.
	for i := range s {
		s[i] = salt[i%len(salt)]
	}
	for i := range k {
		k[i] = key[i%len(key)]
	}
	return encode(DefaultParams, s, k)
}()

// DummyVerify spends the same work as Verify of plain against a hash made
// with DefaultParams, and discards the result. Login calls it when the
// email has no identity, so that the response time does not reveal which
// emails are registered.
func DummyVerify(plain string) {
	_, _, _ = Verify(plain, dummyHash)
}

func (p Params) check() error {
	switch {
	case p.Memory < minMemory || p.Memory > maxMemory,
		p.Iterations < minIterations || p.Iterations > maxIterations,
		p.Parallelism < minParallelism || p.Parallelism > maxParallelism,
		p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen,
		p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen,
		// argon2 needs at least 8 KiB per lane.
		p.Memory < 8*uint32(p.Parallelism):
		return fmt.Errorf("%w: m=%d t=%d p=%d salt=%d key=%d", ErrInvalidParams,
			p.Memory, p.Iterations, p.Parallelism, p.SaltLen, p.KeyLen)
	}
	return nil
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC argon2id string strictly: exact field order, decimal
// numbers without signs or leading zeros, canonical unpadded base64.
func decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrInvalidHash, why)
	}
	if len(encoded) > 512 {
		return bad("too long")
	}
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" {
		return bad("wrong number of fields")
	}
	if f[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return bad("malformed parameters")
	}
	m, okM := field(kv[0], "m=", 32)
	t, okT := field(kv[1], "t=", 32)
	par, okP := field(kv[2], "p=", 8)
	if !okM || !okT || !okP {
		return bad("malformed parameters")
	}
	p.Memory, p.Iterations, p.Parallelism = uint32(m), uint32(t), uint8(par)
	salt, err := decodeB64(f[4])
	if err != nil {
		return bad("malformed salt")
	}
	key, err := decodeB64(f[5])
	if err != nil {
		return bad("malformed key")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return bad("parameters out of bounds")
	}
	return p, salt, key, nil
}

// decodeB64 decodes canonical unpadded standard base64. The alphabet is
// checked first because encoding/base64 silently skips '\r' and '\n'.
func decodeB64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, errors.New("not base64")
		}
	}
	return b64.DecodeString(s)
}

// field parses "name=<decimal>" with no sign and no leading zero.
func field(s, name string, bits int) (uint64, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(v, 10, bits)
	return n, err == nil
}
