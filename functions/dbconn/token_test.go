package dbconn

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestBuildToken(t *testing.T) {
	cfg := Config{Host: "app.proxy-abc123.eu-west-1.rds.amazonaws.com", Port: 5432, User: "app_user", Region: "eu-west-1"}
	tests := []struct {
		name         string
		sessionToken string
	}{
		{"long-term keys", ""},
		{"role session (as in Lambda)", "SESSIONTOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", tt.sessionToken)
			token, err := buildToken(ctx, cfg, creds)
			if err != nil {
				t.Fatalf("buildToken() error = %v", err)
			}

			// Shape: host:port/?Action=connect&DBUser=...&X-Amz-...
			prefix := "app.proxy-abc123.eu-west-1.rds.amazonaws.com:5432/?"
			if !strings.HasPrefix(token, prefix) {
				t.Fatalf("buildToken() = %q, want prefix %q", token, prefix)
			}
			if strings.Contains(token, "://") {
				t.Errorf("buildToken() = %q, want no scheme", token)
			}
			u, err := url.Parse("https://" + token)
			if err != nil {
				t.Fatalf("url.Parse(token): %v", err)
			}
			q := u.Query()
			date := q.Get("X-Amz-Date")
			wantParams := map[string]string{
				"Action":              "connect",
				"DBUser":              "app_user",
				"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
				"X-Amz-Expires":       "900",
				"X-Amz-SignedHeaders": "host",
				"X-Amz-Credential":    "AKIDEXAMPLE/" + date[:8] + "/eu-west-1/rds-db/aws4_request",
			}
			for k, want := range wantParams {
				if got := q.Get(k); got != want {
					t.Errorf("token parameter %s = %q, want %q", k, got, want)
				}
			}
			if got := q.Get("X-Amz-Security-Token"); got != tt.sessionToken {
				t.Errorf("token parameter X-Amz-Security-Token = %q, want %q", got, tt.sessionToken)
			}
			if sig := q.Get("X-Amz-Signature"); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sig) {
				t.Errorf("token parameter X-Amz-Signature = %q, want 64 hex digits", sig)
			}

			// The "/" buildToken adds (aws-sdk-go-v2 issue 3365) must not
			// break the signature: signing the same request with the path
			// "/" at the same time gives the same signature.
			signedAt, err := time.Parse("20060102T150405Z", date)
			if err != nil {
				t.Fatalf("X-Amz-Date %q: %v", date, err)
			}
			req, err := http.NewRequest("GET", "https://"+cfg.Host+":5432/?Action=connect&DBUser=app_user&X-Amz-Expires=900", nil)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := creds.Retrieve(ctx)
			resigned, _, err := v4.NewSigner().PresignHTTP(ctx, c, req, emptyPayloadSHA256, "rds-db", "eu-west-1", signedAt)
			if err != nil {
				t.Fatal(err)
			}
			ru, _ := url.Parse(resigned)
			if got, want := q.Get("X-Amz-Signature"), ru.Query().Get("X-Amz-Signature"); got != want {
				t.Errorf("signature of token with path %q = %s, want %s (signature over path \"/\")", u.Path, got, want)
			}
		})
	}
}

// emptyPayloadSHA256 is the SHA-256 of an empty body, as presigned URLs use.
const emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestBuildTokenErrors(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Host: "h", Port: 5432, User: "u", Region: "us-east-1"}
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, context.DeadlineExceeded
	})
	if _, err := buildToken(ctx, cfg, failing); err == nil || !strings.Contains(err.Error(), "building IAM authentication token") {
		t.Errorf("buildToken(failing credentials) error = %v, want one saying the token could not be built", err)
	}
}
