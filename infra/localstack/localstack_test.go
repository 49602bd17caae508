package localstack

import (
	"path/filepath"
	"strings"
	"testing"
)

func envOf(assignments ...string) func(string) string {
	m := map[string]string{}
	for _, a := range assignments {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestFromEnvDefaults(t *testing.T) {
	s, err := FromEnv("/repo", envOf())
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{APIPort: 8080, DynamoDBPort: 8000, SESPort: 8005, DataDir: filepath.Join("/repo", ".data"), Table: "steward"}
	if s != want {
		t.Fatalf("defaults: got %+v, want %+v", s, want)
	}
	if s, _ := FromEnv("", envOf()); s.DataDir != "" {
		t.Fatalf("no root and no %s: data folder %q, want none", EnvDataDir, s.DataDir)
	}
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	s, err := FromEnv("/repo", envOf(EnvAPIPort+"=1", EnvDynamoDBPort+"=2", EnvSESPort+"=3", EnvDataDir+"=/d", EnvTable+"=t",
		EnvReuseDynamoDB+"=http://d", EnvReuseSES+"=http://s", EnvReuseMoto+"=http://m", EnvCPUProfile+"=/p", EnvBenchFull+"=1"))
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{APIPort: 1, DynamoDBPort: 2, SESPort: 3, DataDir: "/d", Table: "t",
		Reuse: Emulators{DynamoDB: "http://d", SES: "http://s", Moto: "http://m"}, CPUProfile: "/p", BenchFull: true}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if _, err := FromEnv("/repo", envOf(EnvSESPort+"=70000")); err == nil || !strings.Contains(err.Error(), EnvSESPort) {
		t.Fatalf("bad port: err %v, want one naming %s", err, EnvSESPort)
	}
}

// A child started with Env reads the same settings (but the emulators to
// reuse and the bench switch, which are not the child's).
func TestEnvRoundTrips(t *testing.T) {
	in := Settings{APIPort: 18080, DynamoDBPort: 18000, SESPort: 18005, DataDir: "/tmp/x", Table: "tbl", CPUProfile: "/tmp/cpu"}
	out, err := FromEnv("", envOf(in.Env()...))
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("got %+v, want %+v", out, in)
	}
}
