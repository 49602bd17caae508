package apitest

import (
	"testing"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
