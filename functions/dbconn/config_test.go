package dbconn

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lambdards/lambdards/dbspec"
)

// ARNs of the shape the Data API takes.
const (
	testClusterARN = "arn:aws:rds:eu-west-1:123456789012:cluster:app"
	testSecretARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:items-AbCdEf"
)

// env returns a lookup function over a fixed environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want Config
	}{
		{
			name: "iam defaults",
			vars: map[string]string{
				EnvEngine: "postgres", EnvHost: "proxy.example.com", EnvUser: "app", EnvName: "appdb", EnvRegion: "eu-west-1",
			},
			want: Config{Engine: dbspec.Postgres, Host: "proxy.example.com", User: "app", Database: "appdb", Region: "eu-west-1"},
		},
		{
			name: "everything set, mixed case and spaces",
			vars: map[string]string{
				EnvEngine: " MySQL ", EnvHost: "db", EnvPort: "3307", EnvUser: "u", EnvName: "d",
				EnvAuth: "Password", EnvPassword: " secret ", EnvTLS: "REQUIRE", EnvMaxConns: "2",
			},
			want: Config{Engine: dbspec.MySQL, Host: "db", Port: 3307, User: "u", Database: "d", Auth: AuthPassword,
				Password: " secret ", TLS: TLSRequire, MaxConns: 2},
		},
		{
			name: "reader",
			vars: map[string]string{
				EnvEngine: "postgres", EnvHost: "ro.endpoint.proxy.example.com", EnvUser: "app", EnvName: "appdb", EnvRegion: "eu-west-1",
				EnvTarget: "Reader",
			},
			want: Config{Engine: dbspec.Postgres, Target: TargetReader, Host: "ro.endpoint.proxy.example.com", User: "app",
				Database: "appdb", Region: "eu-west-1"},
		},
		{
			name: "data api",
			vars: map[string]string{
				EnvMode: "DataAPI", EnvEngine: "mysql", EnvName: "app", EnvRegion: "eu-west-1",
				EnvCluster: testClusterARN, EnvSecret: testSecretARN,
			},
			want: Config{Mode: ModeDataAPI, Engine: dbspec.MySQL, Database: "app", Region: "eu-west-1",
				ClusterARN: testClusterARN, SecretARN: testSecretARN},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromLookup(env(tt.vars))
			if err != nil {
				t.Fatalf("fromLookup(%v) error = %v, want nil", tt.vars, err)
			}
			if got != tt.want {
				t.Errorf("fromLookup(%v) = %+v, want %+v", tt.vars, got, tt.want)
			}
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		// want are substrings, one per expected problem, in order.
		want []string
	}{
		{
			name: "nothing set",
			vars: map[string]string{},
			want: []string{
				"LAMBDARDS_DB_ENGINE is not set, want postgres or mysql",
				"LAMBDARDS_DB_HOST is not set",
				"LAMBDARDS_DB_USER is not set",
				"AWS_REGION is not set",
				"LAMBDARDS_DB_NAME is not set",
			},
		},
		{
			name: "bad values",
			vars: map[string]string{
				EnvEngine: "oracle", EnvHost: "h", EnvPort: "99999", EnvUser: "u", EnvName: "d",
				EnvAuth: "kerberos", EnvTLS: "verify-ca", EnvMaxConns: "0",
			},
			want: []string{
				`LAMBDARDS_DB_PORT = "99999", want a TCP port, 1 to 65535`,
				`LAMBDARDS_DB_MAX_CONNS = "0", want a whole number, 1 or more`,
				`LAMBDARDS_DB_ENGINE = "oracle", want postgres or mysql`,
				`LAMBDARDS_DB_AUTH = "kerberos", want iam or password`,
				`LAMBDARDS_DB_TLS = "verify-ca", want verify-full, require or disable`,
			},
		},
		{
			name: "iam without tls, with a password",
			vars: map[string]string{
				EnvEngine: "postgres", EnvHost: "h", EnvUser: "u", EnvName: "d", EnvRegion: "us-east-1",
				EnvTLS: "disable", EnvPassword: "x",
			},
			want: []string{
				"LAMBDARDS_DB_PASSWORD is set but LAMBDARDS_DB_AUTH is iam",
				"LAMBDARDS_DB_TLS = disable with LAMBDARDS_DB_AUTH = iam: RDS Proxy accepts IAM tokens only over TLS",
			},
		},
		{
			name: "data api, nothing of its own set",
			vars: map[string]string{EnvMode: "dataapi", EnvEngine: "postgres"},
			want: []string{
				"LAMBDARDS_DB_CLUSTER_ARN is not set, want the Aurora DB cluster's ARN",
				"LAMBDARDS_DB_SECRET_ARN is not set, want the function's Secrets Manager secret ARN",
				"AWS_REGION is not set: Data API requests are signed for the cluster's Region",
				"LAMBDARDS_DB_NAME is not set",
			},
		},
		{
			name: "data api with connection settings and bad ARNs",
			vars: map[string]string{
				EnvMode: "dataapi", EnvEngine: "postgres", EnvName: "d", EnvRegion: "us-east-1",
				EnvHost: "proxy", EnvPort: "5432", EnvUser: "u", EnvAuth: "iam", EnvTLS: "require",
				EnvCluster: "arn:aws:rds:us-east-1:123456789012:db:instance-1",
				// A long ARN is the service's to judge (see arnProblems): not refused here.
				EnvSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + strings.Repeat("n", 60),
			},
			want: []string{
				"LAMBDARDS_DB_HOST is set but LAMBDARDS_DB_MODE is dataapi, which does not use it",
				"LAMBDARDS_DB_PORT is set but",
				"LAMBDARDS_DB_USER is set but",
				"LAMBDARDS_DB_AUTH is set but",
				"LAMBDARDS_DB_TLS is set but",
				`LAMBDARDS_DB_CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:db:instance-1", want the Aurora DB cluster's ARN`,
			},
		},
		{
			name: "data api in another Region",
			vars: map[string]string{
				EnvMode: "dataapi", EnvEngine: "postgres", EnvName: "d", EnvRegion: "us-east-1",
				EnvCluster: testClusterARN, EnvSecret: testSecretARN,
			},
			want: []string{`LAMBDARDS_DB_CLUSTER_ARN = "` + testClusterARN + `" is in eu-west-1 but AWS_REGION is us-east-1`},
		},
		{
			name: "unknown target",
			vars: map[string]string{EnvEngine: "postgres", EnvHost: "h", EnvUser: "u", EnvName: "d", EnvRegion: "eu-west-1", EnvTarget: "replica"},
			want: []string{`LAMBDARDS_DB_TARGET = "replica", want writer or reader`},
		},
		{
			name: "data api on a reader",
			vars: map[string]string{
				EnvMode: "dataapi", EnvEngine: "postgres", EnvName: "d", EnvRegion: "eu-west-1",
				EnvCluster: testClusterARN, EnvSecret: testSecretARN, EnvTarget: "reader",
			},
			want: []string{"LAMBDARDS_DB_TARGET = reader with LAMBDARDS_DB_MODE = dataapi: the Data API runs every statement on the writer"},
		},
		{
			name: "unknown mode",
			vars: map[string]string{EnvMode: "http", EnvEngine: "postgres", EnvName: "d"},
			want: []string{`LAMBDARDS_DB_MODE = "http", want connection or dataapi`},
		},
		{
			name: "data api settings in connection mode",
			vars: map[string]string{
				EnvMode: "connection", EnvEngine: "postgres", EnvHost: "h", EnvUser: "u", EnvName: "d", EnvRegion: "eu-west-1",
				EnvCluster: testClusterARN, EnvSecret: testSecretARN,
			},
			want: []string{
				"LAMBDARDS_DB_CLUSTER_ARN is set but LAMBDARDS_DB_MODE is connection: it applies to dataapi only",
				"LAMBDARDS_DB_SECRET_ARN is set but",
			},
		},
		{
			name: "password auth without a password",
			vars: map[string]string{
				EnvEngine: "mysql", EnvHost: "h", EnvUser: "u", EnvName: "d", EnvAuth: "password", EnvPort: "abc",
			},
			want: []string{
				`LAMBDARDS_DB_PORT = "abc"`,
				"LAMBDARDS_DB_PASSWORD is not set, but LAMBDARDS_DB_AUTH = password needs it",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fromLookup(env(tt.vars))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("fromLookup(%v) error = %v, want a *ConfigError", tt.vars, err)
			}
			if len(ce.Problems) != len(tt.want) {
				t.Fatalf("fromLookup(%v) problems = %q, want %d problems like %q", tt.vars, ce.Problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(ce.Problems[i], w) {
					t.Errorf("fromLookup(%v) problem %d = %q, want it to contain %q", tt.vars, i, ce.Problems[i], w)
				}
			}
			if !strings.HasPrefix(err.Error(), "dbconn: invalid database configuration: ") {
				t.Errorf("fromLookup(%v) error = %q, want the dbconn prefix", tt.vars, err)
			}
		})
	}
}

func TestNewDefaultsAndErrors(t *testing.T) {
	d, err := New(Config{Engine: dbspec.MySQL, Host: "h", User: "u", Database: "d", Region: "us-east-1"})
	if err != nil {
		t.Fatalf("New(minimal mysql) error = %v", err)
	}
	got := d.Config()
	want := Config{
		Mode: ModeConnection, Engine: dbspec.MySQL, Target: TargetWriter, Host: "h", Port: 3306, User: "u", Database: "d", Auth: AuthIAM, TLS: TLSVerifyFull,
		MaxConns: 1, Region: "us-east-1", ConnectTimeout: 5 * time.Second, ConnMaxIdleTime: 29 * time.Minute,
		Retry: RetryPolicy{Attempts: 4, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: 10 * time.Second},
	}
	if got != want {
		t.Errorf("New(minimal mysql).Config() = %+v, want %+v", got, want)
	}

	// The Data API gets no connection defaults, and retries long enough
	// for a cluster to resume.
	d, err = New(Config{Mode: ModeDataAPI, Engine: dbspec.Postgres, Database: "d", Region: "eu-west-1",
		ClusterARN: testClusterARN, SecretARN: testSecretARN})
	if err != nil {
		t.Fatalf("New(minimal data api) error = %v", err)
	}
	want = Config{
		Mode: ModeDataAPI, Engine: dbspec.Postgres, Target: TargetWriter, Database: "d", Region: "eu-west-1", ClusterARN: testClusterARN,
		SecretARN: testSecretARN, MaxConns: 1, ConnectTimeout: 5 * time.Second,
		Retry: RetryPolicy{Attempts: 30, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, MaxElapsed: 25 * time.Second},
	}
	if got := d.Config(); got != want {
		t.Errorf("New(minimal data api).Config() = %+v, want %+v", got, want)
	}

	_, err = New(Config{Engine: dbspec.Postgres, Host: "h", User: "u", Database: "d", Auth: AuthPassword, Password: "p",
		MaxConns: -1, Retry: RetryPolicy{BaseDelay: 2 * time.Second, MaxDelay: time.Second}})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New(bad) error = %v, want a *ConfigError", err)
	}
	for _, w := range []string{"Config.MaxConns = -1", "Config.Retry.MaxDelay = 1s is below BaseDelay = 2s"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("New(bad) error = %q, want it to contain %q", err, w)
		}
	}
}
