package apitest

import (
	"testing"

	"github.com/stewardhq/steward/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
