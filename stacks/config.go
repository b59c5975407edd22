package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	gobuild "go/build"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/golambda"
)

// Config is everything the default app can be told through CDK context.
type Config struct {
	// Root is the directory function entries are relative to; not read from context.
	Root                 string
	Env                  string
	Prefix               string
	Engine               string
	EngineVersion        string
	Database             string
	InstanceClass        string
	MultiAz              bool
	MinAcu               float64
	MaxAcu               float64
	Reader               bool
	Connection           string
	MaxAzs               int
	AvailabilityZones    []string
	NatGateways          int
	InterfaceEndpoints   []string
	MaxConnections       int
	Headroom             *int
	AccountConcurrency   int
	BorrowTimeoutSeconds int
	MaxIdlePercent       *int
	RemovalPolicy        string
	DeletionProtection   *bool
	BackupRetentionDays  int
	RotationDays         int
	MonitoringInterval   int
	Functions            []FunctionConfig
	// Alarms, AlarmTopicArn and Dashboard configure the Monitoring stack (issue 13).
	Alarms        bool
	AlarmTopicArn string
	Dashboard     *bool

	// origin says where each key's value came from: absent for a key the user set in
	// context, "env = NAME" for a preset's value, "default" for the key's default.
	origin map[string]string
	// values are the keys' values as given (by the user, a preset or the default).
	values map[string]any
}

// FunctionConfig is one function of the app, from the "functions" context key.
type FunctionConfig struct {
	Name                      string   `json:"-"`
	Entry                     string   `json:"entry"`
	DatabaseUser              string   `json:"databaseUser,omitempty"`
	Weight                    int      `json:"weight,omitempty"`
	ReservedConcurrency       int      `json:"reservedConcurrency,omitempty"`
	ConnectionsPerEnvironment int      `json:"connectionsPerEnvironment,omitempty"`
	MemorySize                int      `json:"memorySize,omitempty"`
	TimeoutSeconds            int      `json:"timeoutSeconds,omitempty"`
	Access                    string   `json:"access,omitempty"`
	Schema                    string   `json:"schema,omitempty"`
	Tables                    []string `json:"tables,omitempty"`
	// Reader, ProvisionedConcurrency and Queue: see functions.go.
	Reader                 bool `json:"reader,omitempty"`
	ProvisionedConcurrency int  `json:"provisionedConcurrency,omitempty"`
	Queue                  bool `json:"queue,omitempty"`
}

// Key is one context key: its name, default (as it would be written on the command line;
// empty means derived) and what it does.
type Key struct {
	Name    string
	Default string
	Doc     string
	apply   func(c *Config, v any) error
}

// Presets are named sets of defaults, chosen with the "env" context key. A key set in
// context overrides its preset value. Costs are in README.md.
var Presets = map[string]map[string]string{
	// dev: cheap and destroyable: the keys' own defaults (the smallest RDS instance behind
	// a proxy, a final snapshot, no deletion protection) with one day of backups.
	"dev": {"backupRetentionDays": "1"},
	// prod: Aurora Serverless v2 with a reader in a second AZ for failover, 30 days of
	// backups, retained on delete with deletion protection.
	"prod": {"database": "serverless", "minAcu": "1", "maxAcu": "16", "reader": "true", "connection": "proxy",
		"backupRetentionDays": "30", "removalPolicy": "retain", "alarms": "true"},
	// cheapest: Aurora Serverless v2 pausing at 0 ACU when idle, queried through its RDS
	// Data API: no proxy (RDS Proxy bills Serverless v2 at 8 ACU at least and keeps the
	// cluster from pausing), functions and the users provisioner outside the VPC, and no
	// master-password rotation, so the VPC needs no Secrets Manager interface endpoint;
	// the budget caps the functions' statements in flight.
	"cheapest": {"database": "serverless", "minAcu": "0", "maxAcu": "2", "connection": "dataapi", "rotationDays": "0",
		"backupRetentionDays": "1", "removalPolicy": "snapshot"},
}

// PresetNames lists the presets in the order README documents them.
var PresetNames = []string{"dev", "prod", "cheapest"}

// Keys lists every context key the app reads, in the order the README documents them.
// A preset's value replaces a key's Default.
var Keys = []Key{
	{"env", "dev", "Preset: `dev`, `prod` or `cheapest` (see Presets); every other key overrides it.", func(c *Config, v any) (err error) {
		c.Env, err = oneOf(v, PresetNames...)
		return
	}},
	{"prefix", "LambdaRds", "Prefix of every stack name.", func(c *Config, v any) (err error) {
		c.Prefix, err = pattern(v, stackName, "a letter, then letters, digits or hyphens")
		return
	}},
	{"engine", "postgres", "Database engine: `postgres` or `mysql`.", func(c *Config, v any) (err error) {
		c.Engine, err = oneOf(v, "postgres", "mysql")
		return
	}},
	{"engineVersion", "", "Engine version, e.g. `17.7` (PostgreSQL), `8.4.8` (RDS MySQL), `3.10.0` (Aurora MySQL); default: a recent version per variant. A major version past AWS's end of standard support, or a minor version older than AWS's release calendar lists, is refused.", func(c *Config, v any) (err error) {
		c.EngineVersion, err = pattern(v, engineVersion, "a version such as 17.7, 8.4.8 or 3.10.0")
		return
	}},
	{"database", "instance", "Database variant: `instance` (RDS) or `serverless` (Aurora Serverless v2).", func(c *Config, v any) (err error) {
		c.Database, err = oneOf(v, "instance", "serverless")
		return
	}},
	{"instanceClass", "t4g.micro", "RDS instance class (instance only), e.g. `t4g.medium`, `r6g.large`, of a family lambdards knows: " + strings.Join(database.InstanceFamilies(), ", ") + ".", func(c *Config, v any) (err error) {
		c.InstanceClass, err = pattern(v, instanceClass, "a class such as t4g.micro or r6g.large")
		return
	}},
	{"multiAz", "false", "Multi-AZ standby (instance only).", func(c *Config, v any) (err error) {
		c.MultiAz, err = boolean(v)
		return
	}},
	{"minAcu", "0.5", "Minimum Aurora capacity units (serverless only); 0 pauses when idle and needs `connection` `direct` or `dataapi`.", func(c *Config, v any) (err error) {
		c.MinAcu, err = number(v, 0, 256)
		return
	}},
	{"maxAcu", "4", "Maximum Aurora capacity units (serverless only); above 128 needs Aurora PostgreSQL 14.10, 15.5, 16.1 or Aurora MySQL 3.06.0 and later; sets max_connections.", func(c *Config, v any) (err error) {
		c.MaxAcu, err = number(v, 1, 256)
		return
	}},
	{"reader", "false", "Add a Serverless v2 reader for failover (serverless only), which functions with `reader` read from (with a proxy, through its read-only endpoint).", func(c *Config, v any) (err error) {
		c.Reader, err = boolean(v)
		return
	}},
	{"connection", "proxy", "How functions reach the database: `proxy` (through RDS Proxy), `direct` (their own connections, capped by the budget) or `dataapi` (Aurora Serverless v2's RDS Data API, from outside the VPC).", func(c *Config, v any) (err error) {
		c.Connection, err = oneOf(v, string(pool.ModeProxy), string(pool.ModeDirect), string(pool.ModeDataAPI))
		return
	}},
	{"maxAzs", "2", "Availability Zones the VPC spans (2-6; more than 2 needs `availabilityZones`).", func(c *Config, v any) (err error) {
		c.MaxAzs, err = integer(v, network.MinAzs, network.MaxAzs)
		return
	}},
	{"availabilityZones", "", "Comma-separated AZ names of one Region, e.g. `us-east-1a,us-east-1b,us-east-1c`.", func(c *Config, v any) (err error) {
		c.AvailabilityZones, err = list(v) // package network judges the names (network.Check)
		return
	}},
	{"natGateways", "0", "NAT gateways (adds public subnets and an internet gateway); 0 keeps the VPC isolated.", func(c *Config, v any) (err error) {
		c.NatGateways, err = integer(v, 0, network.MaxAzs)
		return
	}},
	{"interfaceEndpoints", "", "Comma-separated interface endpoint services by short name, e.g. `secretsmanager,sts`.", func(c *Config, v any) (err error) {
		c.InterfaceEndpoints, err = endpoints(v)
		return
	}},
	{"maxConnections", "", "Set max_connections explicitly (default: derived from the class or max ACU).", func(c *Config, v any) (err error) {
		c.MaxConnections, err = integer(v, 1, 262143)
		return
	}},
	{"headroom", "", "Connections kept from functions for admins, migrations, monitoring (default: max(5, 10% of max_connections)).", func(c *Config, v any) error {
		n, err := integer(v, 0, 262143)
		c.Headroom = &n
		return err
	}},
	{"accountConcurrency", "1000", "The account's Lambda concurrency limit; 100 always stay unreserved.", func(c *Config, v any) (err error) {
		c.AccountConcurrency, err = integer(v, 100, 10000000)
		return
	}},
	{"borrowTimeoutSeconds", "10", "RDS Proxy connection borrow timeout (1-300); must be below every function timeout.", func(c *Config, v any) (err error) {
		// The limits are RDS Proxy's, as package proxy takes them (see there why 0 is refused).
		c.BorrowTimeoutSeconds, err = integer(v, proxy.MinBorrowTimeoutSeconds, proxy.MaxBorrowTimeoutSeconds)
		if err != nil {
			err = fmt.Errorf("%v (RDS Proxy's limit is %d; 0 would make a client wait without limit, past every function's timeout)",
				err, proxy.MaxBorrowTimeoutSeconds)
		}
		return
	}},
	{"maxIdleConnectionsPercent", "", "RDS Proxy idle connections, percent of max_connections (default: half the budget's MaxConnectionsPercent).", func(c *Config, v any) error {
		n, err := integer(v, 0, 100)
		c.MaxIdlePercent = &n
		return err
	}},
	{"removalPolicy", "snapshot", "What deleting the stack does to the database: `snapshot`, `retain` or `destroy`.", func(c *Config, v any) (err error) {
		c.RemovalPolicy, err = oneOf(v, "snapshot", "retain", "destroy")
		return
	}},
	{"deletionProtection", "", "Deletion protection (default: true when removalPolicy is retain).", func(c *Config, v any) error {
		b, err := boolean(v)
		c.DeletionProtection = &b
		return err
	}},
	{"backupRetentionDays", "7", "Automated backup retention in days (1-35).", func(c *Config, v any) (err error) {
		c.BackupRetentionDays, err = integer(v, database.MinBackupRetentionDays, database.MaxBackupRetentionDays)
		return
	}},
	{"rotationDays", "30", "Days between rotations of the master password (1-1000); 0 turns rotation off. Rotation adds a Secrets Manager interface endpoint.", func(c *Config, v any) (err error) {
		c.RotationDays, err = integer(v, 0, database.MaxRotationDays)
		return
	}},
	{"monitoringInterval", "60", "Enhanced Monitoring interval in seconds: 0 (off), 1, 5, 10, 15, 30 or 60.", func(c *Config, v any) (err error) {
		c.MonitoringInterval, err = oneOfInts(v, database.MonitoringIntervals...)
		return
	}},
	{"functions", `{"items":{"entry":"functions/items","access":"ddl"}}`, "JSON object of functions: name → `entry`, `databaseUser`, `access` (`read`, `write`, `ddl`), `schema`, `tables`, `weight`, `reservedConcurrency`, `connectionsPerEnvironment`, `memorySize`, `timeoutSeconds`, `reader` (`true`: reads from the reader), `provisionedConcurrency`, `queue` (`true`: fed by an SQS queue of its own).", func(c *Config, v any) (err error) {
		c.Functions, err = functions(v)
		return
	}},
	// Monitoring (stacks/monitoring.go).
	{"alarms", "false", "CloudWatch alarms whose thresholds come from the connection budget (see Monitoring), in a stack of their own, `<prefix>Monitoring`.", func(c *Config, v any) (err error) {
		c.Alarms, err = boolean(v)
		return
	}},
	{"alarmTopicArn", "", "SNS topic the alarms notify (needs `alarms`), e.g. `arn:aws:sns:us-east-1:123456789012:ops`; default: a KMS-encrypted topic of the Monitoring stack.", func(c *Config, v any) (err error) {
		c.AlarmTopicArn, err = pattern(v, topicArn, "an SNS topic ARN, e.g. arn:aws:sns:us-east-1:123456789012:ops")
		return
	}},
	{"dashboard", "", "CloudWatch dashboard of the connection budget, in the Monitoring stack (default: on when `alarms` is).", func(c *Config, v any) error {
		b, err := boolean(v)
		c.Dashboard = &b
		return err
	}},
}

var (
	stackName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,100}$`)
	instanceClass = regexp.MustCompile(`^(db\.)?[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	engineVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,2}$`)
	functionName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)
	// topicArn is an SNS topic's ARN: arn:PARTITION:sns:REGION:ACCOUNT:NAME, a name of up to
	// 256 letters, digits, hyphens and underscores (Amazon SNS API Reference, CreateTopic,
	// Name), ".fifo" ending a FIFO topic's.
	topicArn = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	// fullServiceName is an endpoint service's full name, com.amazonaws.REGION.NAME.
	fullServiceName = regexp.MustCompile(`(?i)^com\.amazonaws\.[a-z0-9-]+\.(.+)$`)
)

// Context is what Configure reads context from: a construct node's TryGetContext and
// GetAllContext, or a map in tests.
type Context interface {
	TryGetContext(key *string) any
	GetAllContext(defaults *map[string]any) any
}

// ToolKeys are the context keys, besides Keys, that lambdards reads: they switch tools on
// for a synth (cdk-nag, placeholder bundles) and change no deployed resource. Every other
// key under "lambdards:" is refused like an unknown key.
var ToolKeys = []string{NagContext, golambda.SkipBundlingContext}

// Configure reads the app's configuration from context. It returns one error listing
// every invalid or unknown key, each with its value and what is valid.
func Configure(ctx Context) (Config, error) {
	c := Config{origin: map[string]string{}, values: map[string]any{}}
	var errs []string
	all, _ := ctx.GetAllContext(nil).(map[string]any)
	known := map[string]bool{}
	var preset map[string]string
	for _, k := range Keys {
		known[k.Name] = true
		name := k.Name
		v := ctx.TryGetContext(&name)
		_, set := all[name]
		if set || v != nil {
			// A key that is there means what it says: an empty value is not the default.
			if v == nil || v == "" {
				errs = append(errs, fmt.Sprintf("%s = %s: empty; give a value, or remove the key for %s",
					k.Name, show(v), defaultOf(k, preset, c.Env)))
				continue
			}
		} else {
			v, c.origin[k.Name] = k.Default, "default"
			if p, ok := preset[k.Name]; ok {
				v, c.origin[k.Name] = p, "env = "+c.Env
			}
			if v == "" {
				continue
			}
		}
		c.values[k.Name] = v
		if err := k.apply(&c, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s = %s%s: %v", k.Name, show(v), c.from(k.Name), err))
		}
		if k.Name == "env" {
			preset = Presets[c.Env]
		}
	}
	var unknown []string
	for name := range all {
		switch {
		case retired[name] != nil:
			errs = append(errs, retired[name](all[name]))
		case slices.Contains(ToolKeys, name):
			if _, err := boolean(all[name]); err != nil {
				errs = append(errs, fmt.Sprintf("%s = %s: %v", name, show(all[name]), err))
			}
		case strings.HasPrefix(name, "lambdards:"):
			unknown = append(unknown, name)
		case !known[name] && !strings.ContainsAny(name, ":@"):
			// Other keys with ':' or '@' belong to the CDK and its feature flags.
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		if strings.HasPrefix(name, "lambdards:") {
			errs = append(errs, fmt.Sprintf("%s: unknown context key; the lambdards: keys are %s", name, strings.Join(ToolKeys, ", ")))
			continue
		}
		errs = append(errs, fmt.Sprintf("%s: unknown context key; known keys: %s", name, strings.Join(KeyNames(), ", ")))
	}
	if len(errs) == 0 {
		errs = slices.Concat(c.inapplicable(), c.contradictions(), c.unsupported())
	}
	if len(errs) > 0 {
		return c, invalid(errs)
	}
	return c, nil
}

// retired are the context keys that earlier versions read, each with its message: what
// to write instead, for the value given.
var retired = map[string]func(v any) string{
	"proxy": func(v any) string {
		instead := "connection = proxy (for proxy = true) or connection = direct (for proxy = false)"
		if b, err := boolean(v); err == nil {
			instead = map[bool]string{true: "connection = proxy", false: "connection = direct"}[b]
		}
		return fmt.Sprintf("proxy = %s: the proxy key is now connection, which also offers dataapi; write %s instead",
			show(v), instead)
	},
}

// defaultOf says what a key falls back to when it is removed.
func defaultOf(k Key, preset map[string]string, env string) string {
	if p, ok := preset[k.Name]; ok {
		return fmt.Sprintf("env = %s's %s", env, p)
	}
	if k.Default == "" {
		return "the derived value"
	}
	return "the default " + k.Default
}

// set reports whether the user gave key in context (not a preset or the default).
func (c Config) set(key string) bool {
	_, ok := c.origin[key]
	return !ok
}

// is is "key = value" for a message, with a typed value, saying where a value the user
// did not type came from.
func (c Config) is(key string, v any) string {
	return fmt.Sprintf("%s = %v%s", key, v, c.from(key))
}

// from is " (the default)" or " (from env = NAME)" for a value the user did not type.
func (c Config) from(key string) string {
	switch from := c.origin[key]; from {
	case "":
		return ""
	case "default":
		return " (the default)"
	default:
		return " (from " + from + ")"
	}
}

// inapplicable lists the keys the user set that the configuration has no use for: a
// setting that would do nothing is refused rather than ignored. Preset values that do not
// apply are not the user's, and are not used.
func (c Config) inapplicable() []string {
	var errs []string
	refuse := func(key string, v any, why string) {
		if c.set(key) {
			errs = append(errs, fmt.Sprintf("%s with %s", c.is(key, v), why))
		}
	}
	if c.Database == "instance" {
		db := c.is("database", "instance")
		for _, k := range []struct {
			key string
			v   any
		}{{"minAcu", c.MinAcu}, {"maxAcu", c.MaxAcu}} {
			refuse(k.key, k.v, db+": Aurora capacity units size Aurora Serverless v2, and an RDS instance is sized by its "+
				"instanceClass; remove "+k.key+", or set database = serverless")
		}
		refuse("reader", c.Reader, db+": a Serverless v2 reader needs database = serverless; "+
			"for a standby of an RDS instance set multiAz = true")
	} else {
		db := c.is("database", "serverless")
		refuse("instanceClass", c.InstanceClass, db+": Aurora Serverless v2 is sized in capacity units (minAcu, maxAcu), "+
			"not by an instance class; remove instanceClass, or set database = instance")
		refuse("multiAz", c.MultiAz, db+": multiAz applies to an RDS instance; "+
			"for a failover target in another Availability Zone set reader = true")
	}
	if c.Connection != string(pool.ModeProxy) {
		p := c.is("connection", c.Connection)
		refuse("borrowTimeoutSeconds", c.BorrowTimeoutSeconds, p+": the borrow timeout is RDS Proxy's, and there is no "+
			"proxy; remove borrowTimeoutSeconds, or set connection = proxy")
		if c.MaxIdlePercent != nil {
			refuse("maxIdleConnectionsPercent", *c.MaxIdlePercent, p+": idle connections are kept by RDS Proxy's pool, "+
				"and there is no proxy; remove maxIdleConnectionsPercent, or set connection = proxy")
		}
	}
	if c.Connection == string(pool.ModeDataAPI) {
		refuse("interfaceEndpoints", strings.Join(c.InterfaceEndpoints, ","), c.is("connection", c.Connection)+
			": the functions run outside the VPC, where interface endpoints do not reach; remove interfaceEndpoints, "+
			"or set connection = proxy or direct")
	}
	if !c.Alarms {
		refuse("alarmTopicArn", c.AlarmTopicArn, c.is("alarms", false)+": only alarms notify a topic; remove alarmTopicArn, "+
			"or set alarms = true")
	}
	if n := len(c.AvailabilityZones); n > 0 && c.set("maxAzs") && c.MaxAzs != n {
		errs = append(errs, fmt.Sprintf("maxAzs = %d with availabilityZones naming %d zones: the zones named decide how many "+
			"the VPC spans; remove maxAzs, or name %d zones", c.MaxAzs, n, c.MaxAzs))
	}
	return errs
}

// contradictions lists settings that each apply and are valid but cannot hold together,
// naming the keys to change. The constructs check the same with their own prop names;
// this names the context keys a user of the app typed, and where a value came from.
func (c Config) contradictions() []string {
	var errs []string
	if p := pool.CheckAutoPause(c.Database == "serverless" && c.MinAcu == 0, c.Connection != string(pool.ModeProxy)); p != "" {
		errs = append(errs, c.render(p))
	}
	if c.Connection == string(pool.ModeDataAPI) && c.Database == "instance" {
		errs = append(errs, fmt.Sprintf("%s with %s: an RDS instance has no Data API, which Aurora alone offers; set "+
			"database = serverless, or connection = proxy or direct", c.is("connection", c.Connection), c.is("database", c.Database)))
	}
	if c.MaxAzs > 2 && len(c.AvailabilityZones) == 0 {
		// A stack without an account and Region sees only two AZs (aws-cdk-lib Stack
		// availabilityZones: environment-agnostic stacks get two Fn::GetAZs entries).
		errs = append(errs, fmt.Sprintf("maxAzs = %d without availabilityZones: the stacks are environment-agnostic, so CDK knows only 2 "+
			"Availability Zones; name them, e.g. availabilityZones = us-east-1a,us-east-1b,us-east-1c", c.MaxAzs))
	}
	// The network's own rules (zone names, how many zones, NAT gateways per zone).
	for _, p := range network.Check(&network.Props{MaxAzs: c.MaxAzs, AvailabilityZones: c.AvailabilityZones, NatGateways: c.NatGateways}) {
		errs = append(errs, c.render(p))
	}
	if c.DeletionProtection != nil {
		if p := database.CheckRemoval(removalPolicy(c.RemovalPolicy), *c.DeletionProtection); p != "" {
			errs = append(errs, c.render(p))
		}
	}
	return append(errs, c.functionContradictions()...)
}

// unsupported lists what AWS would refuse in the database settings: an engine version out
// of standard support or not on AWS's release calendar, an instance class family or size
// lambdards does not know, a maximum capacity the engine version cannot scale to, and the
// like. Package database judges them, with the rules its constructs apply; this names the
// context keys (its settings are named as they are) and where a value came from.
func (c Config) unsupported() []string {
	e := dbspec.Engine(c.Engine)
	var problems []database.Problem
	if c.Database == "serverless" {
		problems = database.CheckServerless(e, c.EngineVersion, c.MinAcu, c.MaxAcu)
		if c.Connection == string(pool.ModeDataAPI) {
			problems = append(problems, database.CheckDataAPI(e, c.EngineVersion)...)
		}
	} else {
		problems = database.CheckInstance(e, c.EngineVersion, c.InstanceClass)
	}
	var errs []string
	for _, p := range problems {
		key := KeyName(p.Setting)
		errs = append(errs, fmt.Sprintf("%s = %s%s: %s", key, show(p.Value), c.from(key), fields.Render(p.Reason, KeyName)))
	}
	return errs
}

// render renders a construct's problem, whose settings are named {GoName}, in the words of
// the context keys, saying where each value the user did not type came from.
func (c Config) render(problem string) string {
	msg := fields.Render(problem, KeyName)
	var notes []string
	for _, k := range Keys {
		if from := c.from(k.Name); from != "" && from != " (the default)" && strings.Contains(problem, "{"+goName(k.Name)+"}") {
			notes = append(notes, fmt.Sprintf("%s = %v%s", k.Name, c.values[k.Name], from))
		}
	}
	if len(notes) > 0 {
		msg += " [" + strings.Join(notes, ", ") + "]"
	}
	return msg
}

// goName is the Go field a context key renders (the inverse of KeyName).
func goName(key string) string {
	for g, k := range keyNames {
		if k == key {
			return g
		}
	}
	return strings.ToUpper(key[:1]) + key[1:]
}

// KeyNames lists the context keys' names.
func KeyNames() []string {
	names := make([]string, len(Keys))
	for i, k := range Keys {
		names[i] = k.Name
	}
	return names
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func oneOf(v any, valid ...string) (string, error) {
	s, ok := v.(string)
	if ok {
		for _, w := range valid {
			if strings.EqualFold(s, w) {
				return w, nil
			}
		}
	}
	return "", fmt.Errorf("must be one of %s", strings.Join(valid, ", "))
}

func pattern(v any, re *regexp.Regexp, what string) (string, error) {
	s, ok := v.(string)
	if !ok || !re.MatchString(s) {
		return "", fmt.Errorf("must be %s", what)
	}
	return s, nil
}

func boolean(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("must be true or false")
}

func number(v any, lo, hi float64) (float64, error) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case string:
		var err error
		if f, err = strconv.ParseFloat(n, 64); err != nil {
			return 0, fmt.Errorf("must be a number from %g to %g", lo, hi)
		}
	default:
		return 0, fmt.Errorf("must be a number from %g to %g", lo, hi)
	}
	if math.IsNaN(f) || f < lo || f > hi {
		return 0, fmt.Errorf("must be a number from %g to %g", lo, hi)
	}
	return f, nil
}

func oneOfInts(v any, valid ...int) (int, error) {
	n, err := integer(v, valid[0], valid[len(valid)-1])
	if err == nil && slices.Contains(valid, n) {
		return n, nil
	}
	return 0, fmt.Errorf("must be one of %s", strings.Join(strings.Fields(strings.Trim(fmt.Sprint(valid), "[]")), ", "))
}

func integer(v any, lo, hi int) (int, error) {
	f, err := number(v, float64(lo), float64(hi))
	if err != nil || f != math.Trunc(f) {
		return 0, fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	return int(f), nil
}

func list(v any) ([]string, error) {
	var out []string
	switch l := v.(type) {
	case string:
		for _, s := range strings.Split(l, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("must be a list of names")
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("must be a comma-separated list of names")
	}
	return out, nil
}

// endpoints reads interfaceEndpoints: short service names that aws-cdk-lib knows.
func endpoints(v any) ([]string, error) {
	names, err := list(v)
	if err != nil {
		return nil, err
	}
	var errs []string
	for i, n := range names {
		short := n
		if m := fullServiceName.FindStringSubmatch(n); m != nil {
			short = m[1]
		}
		switch {
		case slices.Contains(names[:i], n):
			errs = append(errs, fmt.Sprintf("names %s twice", n))
		case short != n && slices.Contains(interfaceEndpointServices, strings.ToLower(short)):
			errs = append(errs, fmt.Sprintf("%q is a full service name; give the short name %s (the Region is the stack's)", n, strings.ToLower(short)))
		case slices.Contains(interfaceEndpointServices, n):
		case slices.Contains(interfaceEndpointServices, strings.ToLower(n)):
			errs = append(errs, fmt.Sprintf("%q: service names are lower case; use %s", n, strings.ToLower(n)))
		default:
			errs = append(errs, fmt.Sprintf("%q is not an interface endpoint service that aws-cdk-lib knows "+
				"(InterfaceVpcEndpointAwsService); use a short name such as secretsmanager, sts, kms, logs, monitoring or ecr.api", n))
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return names, nil
}

// functionFields says, for each field of a function in the functions key, what it must
// be and what leaving it out gives, for the messages that refuse an empty or zero value
// (in the Go props a zero means the default, so a zero in context would silently become
// it). The construct judges every other value.
var functionFields = map[string]struct{ valid, dflt string }{
	"entry":                     {"the directory of the function's Go main package", ""},
	"databaseUser":              {"a user name", "the default, the function's name in lower case"},
	"access":                    {"read, write or ddl", "the default read"},
	"schema":                    {"a schema name", "the default, public on PostgreSQL"},
	"tables":                    {"a list of table names", "the default, every table of the schema"},
	"weight":                    {"1 or more", "the default 1"},
	"reservedConcurrency":       {"1 or more (0 would stop the function from ever running)", "a share of the budget by weight"},
	"connectionsPerEnvironment": {"1 or more", "the default 1"},
	"memorySize":                {"128 to 10240 (MiB)", "the default 256"},
	"timeoutSeconds":            {"1 to 900", "the default 30"},
	"reader":                    {"true or false", "the default false, the writer"},
	"provisionedConcurrency":    {"1 or more", "the default, none"},
	"queue":                     {"true or false", "the default false, no queue"},
}

// reservedFunctionNames are construct IDs a function, built with its name as ID in a
// functions stack, cannot take: the children CDK and lambdards add to every such stack,
// and the properties every JavaScript object has (constructs keep a scope's children in
// a plain object, so a child named "constructor" is taken already).
var reservedFunctionNames = []string{"CDKMetadata", "BootstrapVersion", "CheckBootstrapVersion", golambda.VpcAccessPolicyID,
	"constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "toString", "valueOf"}

const functionsExample = `must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}`

func functions(v any) ([]FunctionConfig, error) {
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = string(b)
	}
	// Read token by token: json.Unmarshal into a map keeps the last of two equal names and
	// ignores what follows the object.
	dec := json.NewDecoder(strings.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("found %v", t)
		}
		return nil, fmt.Errorf("%s: %v", functionsExample, err)
	}
	var errs []string
	var out []FunctionConfig
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", functionsExample, err)
		}
		name := t.(string)
		f, fieldErrs, err := oneFunction(dec, name)
		if err != nil {
			return nil, err
		}
		errs = append(errs, fieldErrs...)
		switch {
		case slices.ContainsFunc(out, func(o FunctionConfig) bool { return o.Name == name }):
			errs = append(errs, fmt.Sprintf("function name %q appears twice; give each function once", name))
		case !functionName.MatchString(name):
			errs = append(errs, fmt.Sprintf("function name %q must be a letter then letters or digits", name))
		case slices.Contains(reservedFunctionNames, name):
			errs = append(errs, fmt.Sprintf("function name %q is taken in every functions stack (by CDK, lambdards or "+
				"JavaScript); choose another name", name))
		}
		out = append(out, f)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %v", functionsExample, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s, and nothing after it: more follows the object at offset %d", functionsExample, dec.InputOffset())
	}
	if len(out) == 0 {
		errs = append(errs, `names no function; give at least one, e.g. {"items":{"entry":"functions/items"}}, or remove the key for the sample function`)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// oneFunction reads the function called name from dec: an object of functionFields, each at
// most once, none empty and none zero. A malformed object is err; a value refused is in errs.
func oneFunction(dec *json.Decoder, name string) (f FunctionConfig, errs []string, err error) {
	malformed := func(err error) (FunctionConfig, []string, error) {
		return FunctionConfig{}, nil, fmt.Errorf("%s: function %q: %v", functionsExample, name, err)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("is %v, not an object", t)
		}
		return malformed(err)
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed(err)
		}
		rule, known := functionFields[key]
		value := strings.TrimSpace(string(raw))
		var zero float64
		switch {
		case !known:
			return malformed(fmt.Errorf("json: unknown field %q", key))
		case fields[key] != nil:
			errs = append(errs, fmt.Sprintf("function %q gives %s twice", name, key))
		case (value == "null" || value == `""` || value == "[]") && rule.dflt == "":
			errs = append(errs, fmt.Sprintf("function %q has %s = %s: empty; give %s (%s is required)", name, key, value, rule.valid, key))
		case value == "null" || value == `""` || value == "[]":
			errs = append(errs, fmt.Sprintf("function %q has %s = %s: empty; give %s, or remove %s for %s", name, key, value, rule.valid, key, rule.dflt))
		case json.Unmarshal(raw, &zero) == nil && zero == 0:
			errs = append(errs, fmt.Sprintf("function %q has %s = 0: must be %s; remove %s for %s", name, key, rule.valid, key, rule.dflt))
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	if fields["entry"] == nil {
		errs = append(errs, fmt.Sprintf("function %q needs an entry (the directory of its Go main package)", name))
	}
	b, _ := json.Marshal(fields)
	if err := json.Unmarshal(b, &f); err != nil {
		return malformed(err)
	}
	f.Name = name
	return f, errs, nil
}

// CheckEntries reports the functions whose entry is not the directory of a Go main package
// for Lambda's linux/arm64 (relative entries are under c.Root), for the app to report
// before Node.js starts; a library package would bundle an archive that Lambda cannot run.
func (c Config) CheckEntries() error {
	build := gobuild.Default
	build.GOOS, build.GOARCH, build.CgoEnabled = "linux", "arm64", false
	var errs []string
	for _, f := range c.Functions {
		dir := f.Entry
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.Root, dir)
		}
		const want = "an entry is the directory of the function's Go main package, relative to the project root or absolute"
		st, err := os.Stat(dir)
		if err == nil && !st.IsDir() {
			err = fmt.Errorf("it is a file (%s)", dir)
		}
		if err == nil {
			var pkg *gobuild.Package
			switch pkg, err = build.ImportDir(dir, 0); {
			case err != nil:
				var none *gobuild.NoGoError
				if errors.As(err, &none) {
					err = fmt.Errorf("it holds no Go files for linux/arm64 (%s)", dir)
				}
			case !pkg.IsCommand():
				err = fmt.Errorf("its Go package is %s, not main, so it would build a library archive that Lambda cannot run", pkg.Name)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("functions: %s has entry %q: %v; %s", f.Name, f.Entry, err, want))
		}
	}
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

// invalid is the error for a configuration with problems, one per line.
func invalid(problems []string) error {
	return fmt.Errorf("invalid configuration (set with -c key=value or in cdk.json \"context\"):\n  - %s", strings.Join(problems, "\n  - "))
}
