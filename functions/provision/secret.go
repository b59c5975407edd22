package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Credentials are a database user's name and password.
type Credentials struct {
	Username string
	Password string
}

// SecretSource fetches a database user's credentials: the master user's
// and the functions' own. Tests pass their own.
type SecretSource interface {
	Credentials(ctx context.Context, secretARN string) (Credentials, error)
}

// GetSecretValueAPI is the part of the Secrets Manager client that
// SecretsManager uses.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManager reads credentials from a Secrets Manager secret in the
// JSON shape RDS and CDK give database secrets: {"username": ...,
// "password": ..., "engine": ..., "host": ..., ...} (AWS Secrets Manager
// User Guide, "JSON structure of AWS Secrets Manager secrets", Amazon RDS
// credentials). Only username and password are read.
type SecretsManager struct {
	Client GetSecretValueAPI
}

// Credentials returns the username and password in the secret. Its errors
// never quote the secret.
func (s *SecretsManager) Credentials(ctx context.Context, secretARN string) (Credentials, error) {
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return Credentials{}, fmt.Errorf("reading secret %s: %w", secretARN, err)
	}
	if out.SecretString == nil {
		return Credentials{}, fmt.Errorf("secret %s has no SecretString, want JSON with username and password", secretARN)
	}
	return parseSecret(secretARN, *out.SecretString)
}

func parseSecret(secretARN, s string) (Credentials, error) {
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		// The decoder's message may quote the secret: leave it out.
		return Credentials{}, fmt.Errorf("secret %s is not a JSON object, want one with username and password", secretARN)
	}
	var missing []string
	if v.Username == "" {
		missing = append(missing, "username")
	}
	if v.Password == "" {
		missing = append(missing, "password")
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("secret %s has no %s", secretARN, strings.Join(missing, " or "))
	}
	return Credentials{Username: v.Username, Password: v.Password}, nil
}
