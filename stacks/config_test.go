package stacks

import (
	"slices"
	"strings"
	"testing"
)

// mapContext stands in for a construct node's context.
type mapContext map[string]any

func (m mapContext) TryGetContext(key *string) any     { return m[*key] }
func (m mapContext) GetAllContext(*map[string]any) any { return map[string]any(m) }

func TestConfigureDefaults(t *testing.T) {
	c, err := Configure(mapContext{"@aws-cdk/core:enablePartitionLiterals": true, "aws:cdk:enable-path-metadata": true})
	if err != nil {
		t.Fatalf("Configure(defaults) = %v", err)
	}
	if c.Engine != "postgres" || c.Database != "instance" || c.InstanceClass != "t4g.micro" || c.Connection != "proxy" ||
		c.MaxAzs != 2 || c.NatGateways != 0 || c.MinAcu != 0.5 || c.MaxAcu != 4 || c.AccountConcurrency != 1000 ||
		c.BorrowTimeoutSeconds != 10 || c.RemovalPolicy != "snapshot" || c.BackupRetentionDays != 1 || c.Prefix != "LambdaRds" ||
		c.Env != "dev" {
		t.Errorf("Configure(defaults) = %+v", c)
	}
	if c.Headroom != nil || c.DeletionProtection != nil || c.MaxConnections != 0 {
		t.Errorf("derived settings were set: headroom %v, deletionProtection %v, maxConnections %d", c.Headroom, c.DeletionProtection, c.MaxConnections)
	}
	if len(c.Functions) != 1 || c.Functions[0].Name != "items" || c.Functions[0].Entry != "functions/items" {
		t.Errorf("Functions = %+v, want the sample items function", c.Functions)
	}
}

func TestConfigureReadsStringsAndJSON(t *testing.T) {
	// -c key=value gives strings; cdk.json gives JSON types.
	for _, ctx := range []mapContext{
		{"engine": "MySQL", "database": "serverless", "maxAcu": "16", "minAcu": "1", "connection": "Direct", "headroom": "20",
			"availabilityZones": "us-east-1a,us-east-1b,us-east-1c", "maxAzs": "3",
			"functions": `{"b":{"entry":"x","weight":3},"a":{"entry":"y","reservedConcurrency":5}}`},
		{"engine": "mysql", "database": "serverless", "maxAcu": 16.0, "minAcu": 1.0, "connection": "direct", "headroom": 20.0,
			"availabilityZones": []any{"us-east-1a", "us-east-1b", "us-east-1c"}, "maxAzs": 3.0,
			"functions": map[string]any{"b": map[string]any{"entry": "x", "weight": 3.0}, "a": map[string]any{"entry": "y", "reservedConcurrency": 5.0}}},
	} {
		c, err := Configure(ctx)
		if err != nil {
			t.Fatalf("Configure(%v) = %v", ctx, err)
		}
		if c.Engine != "mysql" || c.Database != "serverless" || c.MaxAcu != 16 || c.MinAcu != 1 || c.Connection != "direct" || *c.Headroom != 20 ||
			len(c.AvailabilityZones) != 3 || c.MaxAzs != 3 {
			t.Errorf("Configure(%v) = %+v", ctx, c)
		}
		// Functions come sorted by name, so the template does not depend on map order.
		if len(c.Functions) != 2 || c.Functions[0].Name != "a" || c.Functions[0].ReservedConcurrency != 5 || c.Functions[1].Weight != 3 {
			t.Errorf("Functions = %+v", c.Functions)
		}
	}
}

func TestConfigureErrors(t *testing.T) {
	for _, tc := range []struct {
		ctx  mapContext
		want string
	}{
		{mapContext{"engine": "oracle"}, `engine = "oracle": must be one of postgres, mysql`},
		{mapContext{"database": 3.0}, `database = 3: must be one of instance, serverless`},
		{mapContext{"maxAcu": "lots"}, `maxAcu = "lots": must be a number from 1 to 256`},
		{mapContext{"maxAzs": "2.5"}, `maxAzs = "2.5": must be a whole number from 2 to 6`},
		{mapContext{"connection": "yes"}, `connection = "yes": must be one of proxy, direct, dataapi`},
		// The key that connection replaced is refused with what to write instead.
		{mapContext{"proxy": "false"}, `proxy = "false": the proxy key is now connection, which also offers dataapi; write connection = direct instead`},
		{mapContext{"proxy": true}, `write connection = proxy instead`},
		{mapContext{"proxy": "maybe"}, `write connection = proxy (for proxy = true) or connection = direct (for proxy = false) instead`},
		{mapContext{"connection": "dataapi"}, `connection = dataapi with database = instance (the default): an RDS instance has no Data API`},
		{mapContext{"connection": "dataapi", "database": "serverless", "engineVersion": "14.6"}, `engineVersion = "14.6": the RDS Data API needs Aurora PostgreSQL 14.8 or later`},
		{mapContext{"env": "cheapest", "interfaceEndpoints": "sts"}, `interfaceEndpoints = sts with connection = dataapi (from env = cheapest): the functions run outside the VPC`},
		{mapContext{"env": "cheapest", "borrowTimeoutSeconds": "20"}, `borrowTimeoutSeconds = 20 with connection = dataapi (from env = cheapest): the borrow timeout is RDS Proxy's`},
		{mapContext{"instanceClass": "huge"}, `instanceClass = "huge": must be a class such as t4g.micro or r6g.large`},
		{mapContext{"functions": `{"items":{}}`}, `function "items" needs an entry`},
		{mapContext{"functions": `{"items":{"entry":"x","wieght":2}}`}, `unknown field "wieght"`},
		{mapContext{"functions": `[1]`}, `must be a JSON object`},
		{mapContext{"enigne": "mysql"}, `enigne: unknown context key; known keys: env, prefix, engine,`},
	} {
		_, err := Configure(tc.ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%v) = %v, want an error containing %q", tc.ctx, err, tc.want)
		}
	}
	// Every problem is reported at once.
	_, err := Configure(mapContext{"engine": "oracle", "maxAcu": "0", "connection": "maybe"})
	if err == nil || strings.Count(err.Error(), "\n  - ") != 3 {
		t.Errorf("Configure(three bad keys) = %v, want three problems", err)
	}
}

func TestPresets(t *testing.T) {
	for _, tc := range []struct {
		ctx   mapContext
		check func(Config) bool
	}{
		{mapContext{"env": "prod"}, func(c Config) bool {
			return c.Database == "serverless" && c.Reader && c.Connection == "proxy" && c.RemovalPolicy == "retain" && c.BackupRetentionDays == 30 && c.MaxAcu == 16
		}},
		{mapContext{"env": "cheapest"}, func(c Config) bool {
			return c.Database == "serverless" && c.MinAcu == 0 && c.Connection == "dataapi" && c.RotationDays == 0 && c.BackupRetentionDays == 1
		}},
		// Every setting of a preset can be overridden on its own.
		{mapContext{"env": "prod", "reader": "false", "engine": "mysql"}, func(c Config) bool {
			return c.Database == "serverless" && !c.Reader && c.Engine == "mysql" && c.RemovalPolicy == "retain"
		}},
		{mapContext{"env": "cheapest", "backupRetentionDays": 5.0}, func(c Config) bool { return c.BackupRetentionDays == 5 && c.MinAcu == 0 }},
	} {
		c, err := Configure(tc.ctx)
		if err != nil || !tc.check(c) {
			t.Errorf("Configure(%v) = %+v, %v", tc.ctx, c, err)
		}
	}
	if _, err := Configure(mapContext{"env": "staging"}); err == nil || !strings.Contains(err.Error(), `env = "staging": must be one of dev, prod, cheapest`) {
		t.Errorf("Configure(env=staging) = %v, want the list of presets", err)
	}
	// Every preset names only known keys with valid values.
	for name, p := range Presets {
		for k := range p {
			if !slices.Contains(KeyNames(), k) {
				t.Errorf("preset %s sets unknown key %s", name, k)
			}
		}
		if _, err := Configure(mapContext{"env": name}); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}

// TestConfigureUnsupported checks that what AWS would refuse in the database settings is
// reported before synthesis, naming the context key (package database's tests cover each
// rule), and that every preset's defaults pass on both engines.
func TestConfigureUnsupported(t *testing.T) {
	for _, tc := range []struct {
		ctx  mapContext
		want string
	}{
		{mapContext{"engineVersion": "12.9"}, `engineVersion = "12.9": RDS PostgreSQL 12 left standard support on 2025-02-28`},
		{mapContext{"instanceClass": "x9.huge", "maxConnections": 50.0}, `instanceClass = "x9.huge": lambdards does not know the instance class family "x9"`},
		{mapContext{"engine": "mysql", "engineVersion": "8.4.7", "database": "serverless"}, `engineVersion = "8.4.7": Aurora MySQL versions are written like "3.10.0"`},
		{mapContext{"env": "prod", "engine": "mysql", "engineVersion": "3.05.2", "maxAcu": "200"}, `maxAcu = 200: Aurora MySQL 3.05.2 scales Aurora Serverless v2 to at most 128 ACU`},
	} {
		_, err := Configure(tc.ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%v) = %v, want an error containing %q", tc.ctx, err, tc.want)
		}
	}
	for _, env := range PresetNames {
		for _, engine := range []string{"postgres", "mysql"} {
			if _, err := Configure(mapContext{"env": env, "engine": engine}); err != nil {
				t.Errorf("Configure(env %s, engine %s) = %v", env, engine, err)
			}
		}
	}
}
