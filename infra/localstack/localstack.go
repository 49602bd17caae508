// Package localstack holds the settings of the local stack that `make run`
// starts and `make invoke` talks to: ports, the data folder, and the local
// secrets kept in it. Every setting has a default and an environment
// variable:
//
//	STEWARD_API_PORT       Steward's API on 127.0.0.1 (8080)
//	STEWARD_DYNAMODB_PORT  DynamoDB Local (8000)
//	STEWARD_SES_PORT       aws-ses-v2-local and its mail UI (8005)
//	STEWARD_DATA_DIR       data folder (.data in the project root)
//	STEWARD_TABLE          table name (steward)
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
	DataDir      string
	Table        string
}

// Port environment variables, named in errors so that a user knows what to
// change.
const (
	EnvAPIPort      = "STEWARD_API_PORT"
	EnvDynamoDBPort = "STEWARD_DYNAMODB_PORT"
	EnvSESPort      = "STEWARD_SES_PORT"
	EnvDataDir      = "STEWARD_DATA_DIR"
)

// FromEnv reads the settings; root is the project root (for the default
// data folder).
func FromEnv(root string, getenv func(string) string) (Settings, error) {
	s := Settings{DataDir: getenv(EnvDataDir), Table: getenv("STEWARD_TABLE")}
	if s.DataDir == "" {
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
