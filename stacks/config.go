package stacks

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	Proxy                bool
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
	"prod": {"database": "serverless", "minAcu": "1", "maxAcu": "16", "reader": "true", "proxy": "true",
		"backupRetentionDays": "30", "removalPolicy": "retain"},
	// cheapest: no proxy (RDS Proxy bills Serverless v2 at 8 ACU at least and keeps the
	// cluster from pausing), Aurora Serverless v2 pausing at 0 ACU when idle; the budget
	// caps the functions' direct connections.
	"cheapest": {"database": "serverless", "minAcu": "0", "maxAcu": "2", "proxy": "false", "backupRetentionDays": "1",
		"removalPolicy": "snapshot"},
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
	{"engineVersion", "", "Engine version, e.g. `17.7` (PostgreSQL), `8.4.7` (RDS MySQL), `3.10.0` (Aurora MySQL); default: a recent version per variant.", func(c *Config, v any) (err error) {
		c.EngineVersion, err = pattern(v, engineVersion, "a version such as 17.7, 8.4.7 or 3.10.0")
		return
	}},
	{"database", "instance", "Database variant: `instance` (RDS) or `serverless` (Aurora Serverless v2).", func(c *Config, v any) (err error) {
		c.Database, err = oneOf(v, "instance", "serverless")
		return
	}},
	{"instanceClass", "t4g.micro", "RDS instance class (instance only), e.g. `t4g.medium`, `r6g.large`.", func(c *Config, v any) (err error) {
		c.InstanceClass, err = pattern(v, instanceClass, "a class such as t4g.micro or r6g.large")
		return
	}},
	{"multiAz", "false", "Multi-AZ standby (instance only).", func(c *Config, v any) (err error) {
		c.MultiAz, err = boolean(v)
		return
	}},
	{"minAcu", "0.5", "Minimum Aurora capacity units (serverless only); 0 pauses when idle and needs `proxy=false`.", func(c *Config, v any) (err error) {
		c.MinAcu, err = number(v, 0, 256)
		return
	}},
	{"maxAcu", "4", "Maximum Aurora capacity units (serverless only); sets max_connections.", func(c *Config, v any) (err error) {
		c.MaxAcu, err = number(v, 1, 256)
		return
	}},
	{"reader", "false", "Add a Serverless v2 reader for failover (serverless only).", func(c *Config, v any) (err error) {
		c.Reader, err = boolean(v)
		return
	}},
	{"proxy", "true", "Put RDS Proxy between functions and the database; `false` connects directly.", func(c *Config, v any) (err error) {
		c.Proxy, err = boolean(v)
		return
	}},
	{"maxAzs", "2", "Availability Zones the VPC spans (2-6; more than 2 needs `availabilityZones`).", func(c *Config, v any) (err error) {
		c.MaxAzs, err = integer(v, 2, 6)
		return
	}},
	{"availabilityZones", "", "Comma-separated AZ names, e.g. `us-east-1a,us-east-1b,us-east-1c`.", func(c *Config, v any) (err error) {
		c.AvailabilityZones, err = list(v)
		return
	}},
	{"natGateways", "0", "NAT gateways (adds public subnets and an internet gateway); 0 keeps the VPC isolated.", func(c *Config, v any) (err error) {
		c.NatGateways, err = integer(v, 0, 6)
		return
	}},
	{"interfaceEndpoints", "", "Comma-separated interface endpoint services, e.g. `secretsmanager,sts`.", func(c *Config, v any) (err error) {
		c.InterfaceEndpoints, err = list(v)
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
	{"borrowTimeoutSeconds", "10", "RDS Proxy connection borrow timeout; must be below every function timeout.", func(c *Config, v any) (err error) {
		c.BorrowTimeoutSeconds, err = integer(v, 0, 3600)
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
		c.BackupRetentionDays, err = integer(v, 1, 35)
		return
	}},
	{"rotationDays", "30", "Days between rotations of the master password (1-1000); 0 turns rotation off. Rotation adds a Secrets Manager interface endpoint.", func(c *Config, v any) (err error) {
		c.RotationDays, err = integer(v, 0, 1000)
		return
	}},
	{"monitoringInterval", "60", "Enhanced Monitoring interval in seconds: 0 (off), 1, 5, 10, 15, 30 or 60.", func(c *Config, v any) (err error) {
		c.MonitoringInterval, err = oneOfInts(v, 0, 1, 5, 10, 15, 30, 60)
		return
	}},
	{"functions", `{"items":{"entry":"functions/items","access":"ddl"}}`, "JSON object of functions: name → `entry`, `databaseUser`, `access` (`read`, `write`, `ddl`), `schema`, `tables`, `weight`, `reservedConcurrency`, `connectionsPerEnvironment`, `memorySize`, `timeoutSeconds`.", func(c *Config, v any) (err error) {
		c.Functions, err = functions(v)
		return
	}},
}

var (
	stackName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,100}$`)
	instanceClass = regexp.MustCompile(`^(db\.)?[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	engineVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,2}$`)
	functionName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)
)

// Context is what Configure reads context from: a construct node's TryGetContext and
// GetAllContext, or a map in tests.
type Context interface {
	TryGetContext(key *string) any
	GetAllContext(defaults *map[string]any) any
}

// Configure reads the app's configuration from context. It returns one error listing
// every invalid or unknown key, each with its value and what is valid.
func Configure(ctx Context) (Config, error) {
	var c Config
	var errs []string
	known := map[string]bool{}
	preset := map[string]string{}
	for _, k := range Keys {
		known[k.Name] = true
		name := k.Name
		v := ctx.TryGetContext(&name)
		if v == nil || v == "" {
			v = k.Default
			if p, ok := preset[k.Name]; ok {
				v = p
			}
			if v == "" {
				continue
			}
		}
		if err := k.apply(&c, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s = %s: %v", k.Name, show(v), err))
		}
		if k.Name == "env" {
			preset = Presets[c.Env]
		}
	}
	if all, ok := ctx.GetAllContext(nil).(map[string]any); ok {
		var unknown []string
		for name := range all {
			// Keys with ':' or '@' belong to the CDK and its feature flags.
			if !known[name] && !strings.ContainsAny(name, ":@") {
				unknown = append(unknown, name)
			}
		}
		sort.Strings(unknown)
		for _, name := range unknown {
			errs = append(errs, fmt.Sprintf("%s: unknown context key; known keys: %s", name, strings.Join(KeyNames(), ", ")))
		}
	}
	if len(errs) == 0 {
		errs = contradictions(c)
	}
	if len(errs) > 0 {
		return c, invalid(errs)
	}
	return c, nil
}

// contradictions lists settings that are each valid but cannot hold together, naming the
// keys to change. The constructs check the same with their own prop names; this names the
// context keys a user of the app typed.
func contradictions(c Config) []string {
	var errs []string
	if c.Database == "serverless" && c.MinAcu == 0 && c.Proxy {
		// Auto-pause does not work with an RDS Proxy attached (Amazon Aurora User Guide,
		// "Scaling to Zero ACUs with automatic pause and resume for Aurora Serverless v2").
		errs = append(errs, "minAcu = 0 with proxy = true: at 0 ACU the cluster pauses when idle, but an RDS Proxy keeps connections open, "+
			"so it would never pause; set minAcu to 0.5 or more, or proxy to false")
	}
	if c.Database == "instance" && c.Reader {
		errs = append(errs, "reader = true with database = instance: a Serverless v2 reader needs database = serverless; "+
			"for a standby of an RDS instance set multiAz = true")
	}
	if c.Database == "serverless" && c.MultiAz {
		errs = append(errs, "multiAz = true with database = serverless: multiAz applies to an RDS instance; "+
			"for a failover target in another Availability Zone set reader = true")
	}
	if c.MaxAzs > 2 && len(c.AvailabilityZones) == 0 {
		// A stack without an account and Region sees only two AZs (aws-cdk-lib Stack
		// availabilityZones: environment-agnostic stacks get two Fn::GetAZs entries).
		errs = append(errs, fmt.Sprintf("maxAzs = %d without availabilityZones: the stacks are environment-agnostic, so CDK knows only 2 "+
			"Availability Zones; name them, e.g. availabilityZones = us-east-1a,us-east-1b,us-east-1c", c.MaxAzs))
	}
	if len(c.AvailabilityZones) == 1 {
		errs = append(errs, "availabilityZones names one zone: an RDS DB subnet group needs at least 2")
	}
	azs := c.MaxAzs
	if len(c.AvailabilityZones) > 0 {
		azs = len(c.AvailabilityZones)
	}
	if c.NatGateways > azs {
		more := "raise maxAzs (above 2, naming the zones in availabilityZones)"
		if len(c.AvailabilityZones) > 0 {
			more = "name more zones in availabilityZones"
		}
		errs = append(errs, fmt.Sprintf("natGateways = %d with %d Availability Zones: at most one NAT gateway per zone; "+
			"lower natGateways or %s", c.NatGateways, azs, more))
	}
	if c.RemovalPolicy == "destroy" && c.DeletionProtection != nil && *c.DeletionProtection {
		errs = append(errs, "deletionProtection = true with removalPolicy = destroy: deleting the stack would fail on the protected "+
			"database; to keep the data set removalPolicy to snapshot or retain, to throw it away set deletionProtection to false")
	}
	return errs
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

func functions(v any) ([]FunctionConfig, error) {
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = string(b)
	}
	var m map[string]FunctionConfig
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf(`must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: %v`, err)
	}
	var errs []string
	var out []FunctionConfig
	for name, f := range m {
		if !functionName.MatchString(name) {
			errs = append(errs, fmt.Sprintf("function name %q must be a letter then letters or digits", name))
		}
		if f.Entry == "" {
			errs = append(errs, fmt.Sprintf("function %q needs an entry (the directory of its Go main package)", name))
		}
		f.Name = name
		out = append(out, f)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// MissingEntries lists the functions whose entry is not a directory (relative entries are
// under c.Root), for the app to report before Node.js starts. Whether a directory holds a
// Go main package is for go build to say, at synth.
func (c Config) MissingEntries() error {
	var errs []string
	for _, f := range c.Functions {
		dir := f.Entry
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.Root, dir)
		}
		st, err := os.Stat(dir)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("functions: %s has entry %q: %v; an entry is the directory of the function's "+
				"Go main package, relative to the project root or absolute", f.Name, f.Entry, err))
		case !st.IsDir():
			errs = append(errs, fmt.Sprintf("functions: %s has entry %q, which is a file (%s); an entry is the directory of "+
				"the function's Go main package, relative to the project root or absolute", f.Name, f.Entry, dir))
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
