package apitest

import "github.com/stewardhq/steward/pkg/onetime"

func hashOf(token string) (string, error) { return onetime.Hash(token) }
