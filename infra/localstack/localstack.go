// Package localstack holds the settings of the local stack and of the
// commands that run against it or beside it (`make run`, `make invoke`,
// `make bench`, `make coldstart`): ports, the data folder, the local
// secrets kept in it, emulators to reuse and the load run's switches. It
// is the one loader of these commands' environment: FromEnv reads every
// variable below, Load (LoadProject in the project) adds the secrets and
// Steward's configuration, and Env writes the settings back for a child
// process. Every setting has a default:
//
//	STEWARD_API_PORT            Steward's API on 127.0.0.1 (8080)
//	STEWARD_DYNAMODB_PORT       DynamoDB Local (8000)
//	STEWARD_SES_PORT            aws-ses-v2-local and its mail UI (8005)
//	STEWARD_DATA_DIR            data folder (.data in the project root;
//	                            required where there is none, as for the
//	                            load run's server)
//	STEWARD_TABLE               table name (steward)
//	STEWARD_TEST_DYNAMODB_URL   running emulators to reuse instead of
//	STEWARD_TEST_SES_URL        starting others (none: start them); set by
//	STEWARD_TEST_MOTO_URL       infra/testrun, read by `make coldstart`
//	STEWARD_LOADGEN_CPUPROFILE  the load run's server: the file its CPU
//	                            profile is written to (none: no profile)
//	BENCH_FULL                  1: the load run's mixed workload runs 60 s
//	                            (else 20 s)
//
// Steward's own settings (log level and the like) are pkg/config's, read
// by Load.
package localstack

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/store"
)

// Settings of the local stack.
type Settings struct {
	APIPort      int
	DynamoDBPort int
	SESPort      int
	// DataDir is the data folder; empty when neither STEWARD_DATA_DIR
	// nor a project root names one.
	DataDir string
	Table   string
	// Reuse holds the endpoints of running emulators to reuse (empty:
	// none).
	Reuse Emulators
	// CPUProfile is the file the load run's server writes its CPU
	// profile to (empty: none).
	CPUProfile string
	// BenchFull makes the load run's mixed workload longer.
	BenchFull bool
}

// Emulators are emulator endpoints.
type Emulators struct {
	DynamoDB, SES, Moto string
}

// The environment variables, named in errors so that a user knows what to
// change.
const (
	EnvAPIPort      = "STEWARD_API_PORT"
	EnvDynamoDBPort = "STEWARD_DYNAMODB_PORT"
	EnvSESPort      = "STEWARD_SES_PORT"
	EnvDataDir      = "STEWARD_DATA_DIR"
	EnvTable        = "STEWARD_TABLE"
	EnvCPUProfile   = "STEWARD_LOADGEN_CPUPROFILE"
	EnvBenchFull    = "BENCH_FULL"
	// The emulators to reuse: infra/emulator's STEWARD_TEST_*_URL.
	EnvReuseDynamoDB = emulator.EnvTestDynamoDBURL
	EnvReuseSES      = emulator.EnvTestSESURL
	EnvReuseMoto     = emulator.EnvTestMotoURL
)

// FromEnv reads the settings; root is the project root (for the default
// data folder; "" for none).
func FromEnv(root string, getenv func(string) string) (Settings, error) {
	s := Settings{
		DataDir: getenv(EnvDataDir), Table: getenv(EnvTable),
		Reuse:      Emulators{DynamoDB: getenv(EnvReuseDynamoDB), SES: getenv(EnvReuseSES), Moto: getenv(EnvReuseMoto)},
		CPUProfile: getenv(EnvCPUProfile), BenchFull: getenv(EnvBenchFull) == "1",
	}
	if s.DataDir == "" && root != "" {
		s.DataDir = filepath.Join(root, ".data")
	}
	if s.Table == "" {
		s.Table = "steward"
	}
	for _, p := range []struct {
		env  string
		def  int
		dest *int
	}{
		{EnvAPIPort, 8080, &s.APIPort},
		{EnvDynamoDBPort, 8000, &s.DynamoDBPort},
		{EnvSESPort, 8005, &s.SESPort},
	} {
		*p.dest = p.def
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return Settings{}, fmt.Errorf("%s=%q is not a port number (1-65535)", p.env, v)
			}
			*p.dest = n
		}
	}
	return s, nil
}

// Env is the settings as environment assignments ("NAME=value") for a
// child process that reads them with FromEnv: the ports, the data folder,
// the table and the CPU profile when set.
func (s Settings) Env() []string {
	env := []string{
		EnvAPIPort + "=" + strconv.Itoa(s.APIPort),
		EnvDynamoDBPort + "=" + strconv.Itoa(s.DynamoDBPort),
		EnvSESPort + "=" + strconv.Itoa(s.SESPort),
		EnvDataDir + "=" + s.DataDir,
		EnvTable + "=" + s.Table,
	}
	if s.CPUProfile != "" {
		env = append(env, EnvCPUProfile+"="+s.CPUProfile)
	}
	return env
}

// Stack is what a command running against the local stack needs: its
// settings, the data folder's secrets and Steward's configuration.
type Stack struct {
	Settings
	Secrets Secrets
	Config  config.Config
	// Root is the project root (LoadProject; empty from Load).
	Root string
}

// LoadProject is Load in the project (emulator.ProjectRoot), whose .data
// folder is the default data folder.
func LoadProject() (Stack, error) {
	root, err := emulator.ProjectRoot()
	if err != nil {
		return Stack{}, err
	}
	st, err := Load(root)
	st.Root = root
	return st, err
}

// Load reads the settings from the environment (FromEnv; root as there),
// the data folder's secrets (LoadSecrets, creating them on first use) and
// Steward's configuration (config.FromEnv) made the local stack's
// (Settings.Config).
func Load(root string) (Stack, error) {
	s, err := FromEnv(root, os.Getenv)
	if err != nil {
		return Stack{}, err
	}
	if s.DataDir == "" {
		return Stack{}, errors.New(EnvDataDir + " must name the data folder")
	}
	sec, err := s.LoadSecrets()
	if err != nil {
		return Stack{}, err
	}
	base, err := config.FromEnv()
	if err != nil {
		return Stack{}, err
	}
	return Stack{Settings: s, Secrets: sec, Config: s.Config(sec, base)}, nil
}

// APIURL is the local API's base URL.
func (s Settings) APIURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.APIPort) }

// DynamoDBURL is DynamoDB Local's endpoint.
func (s Settings) DynamoDBURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.DynamoDBPort) }

// SESURL is aws-ses-v2-local's endpoint and mail UI.
func (s Settings) SESURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.SESPort) }

// Secrets are the local stand-ins for what AWS keeps in Secrets Manager,
// kept in the data folder (mode 0600) so that they survive restarts.
type Secrets struct {
	CursorKey   []byte             `json:"cursorKey"`
	SigningKeys accesstoken.KeySet `json:"signingKeys"`
}

// LoadSecrets reads the data folder's secrets, creating them on first use.
func (s Settings) LoadSecrets() (Secrets, error) {
	path := filepath.Join(s.DataDir, "secrets.json")
	var sec Secrets
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &sec); err != nil || len(sec.CursorKey) != store.CursorKeySize {
			return Secrets{}, fmt.Errorf("%s is damaged; delete it to make new local secrets", path)
		}
		if sec.SigningKeys.Validate() == nil {
			return sec, nil
		}
		// Written by an older version: add what it lacks.
	case errors.Is(err, fs.ErrNotExist):
		sec.CursorKey = make([]byte, store.CursorKeySize)
		if _, err := rand.Read(sec.CursorKey); err != nil {
			return Secrets{}, err
		}
	default:
		return Secrets{}, fmt.Errorf("read local secrets: %w", err)
	}
	if sec.SigningKeys, err = accesstoken.NewKeySet(); err != nil {
		return Secrets{}, err
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return Secrets{}, fmt.Errorf("create data folder: %w", err)
	}
	raw, _ = json.Marshal(sec)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return Secrets{}, fmt.Errorf("write local secrets: %w", err)
	}
	return sec, nil
}

// Config is the Steward configuration of the local stack.
func (s Settings) Config(sec Secrets, base config.Config) config.Config {
	c := base
	c.Stage = "local"
	c.Table = s.Table
	c.Region = "us-east-1"
	c.Endpoints = awsclient.Endpoints{DynamoDB: s.DynamoDBURL(), SES: s.SESURL()}
	c.PublicURL = s.APIURL()
	c.CursorKey = sec.CursorKey
	c.Issuer = s.APIURL()
	c.MailFrom = "Steward <no-reply@steward.local>"
	return c
}
