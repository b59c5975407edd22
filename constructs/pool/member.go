package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/internal/nag"
)

// AttachOptions are a function's settings in a pool: the database user it signs in as,
// and its share of the connection budget. A nil *AttachOptions means all defaults.
type AttachOptions struct {
	// DatabaseUser is the database user the function connects as, with IAM authentication.
	// When the pool provisions users (Props.Users), the user is created at deploy with
	// Access, Schema and Tables; otherwise it must exist already. Never the master user.
	// Default: the function's construct ID in lower case, with characters other than
	// letters, digits and underscores replaced by underscores, when the pool provisions
	// users; otherwise required.
	DatabaseUser string
	// Access is what the function's user may do in Schema: read (SELECT), write (read and
	// INSERT, UPDATE, DELETE) or ddl (write and CREATE). Only with a provisioning pool.
	// Default: read.
	Access dbspec.Access
	// Schema is where the user's access applies.
	// Default: "public" on PostgreSQL, the database on MySQL.
	Schema string
	// Tables narrows the access to these tables of Schema (not with ddl).
	// Default: every table of Schema, including ones created later.
	Tables []string
	// ConnectionsPerEnvironment is how many database connections one execution environment
	// holds at most (the handler's pool size). Under RDS Proxy session pinning each
	// connection costs one database connection.
	// Default: 1.
	ConnectionsPerEnvironment int
	// Weight is the function's share of the budget relative to other weighted functions.
	// Default: 1.
	Weight int
	// ReservedConcurrency fixes the function's reserved concurrency instead of weighting it.
	// Default: 0 (weighted).
	ReservedConcurrency int
	// Reader sends the function's connections to the database's reader instead of its
	// writer: through the proxy's read-only endpoint, or the cluster's reader endpoint when
	// direct. Its share comes from the reader's connections (ReaderBudget), its user gets
	// read access, and a write fails with the database's read-only error (see reader.go).
	// Default: false, the writer.
	Reader bool
	// ProvisionedConcurrency keeps this many of the function's execution environments
	// initialized, on an alias "live" that callers must invoke (Member.Alias). It may not
	// exceed the function's reserved concurrency, and it is billed every hour (see
	// provisioned.go).
	// Default: 0, none.
	ProvisionedConcurrency int
}

// Member is a function's place in a pool: what it connects with and as. Build and Attach
// return it.
type Member struct {
	// Name is the function's name in the connection budget and in messages: its construct
	// path.
	Name string
	// DatabaseUser is the database user the function signs in as.
	DatabaseUser string
	// Environment is what the function's handler reads to connect (package
	// functions/dbconn): the LAMBDARDS_DB_* variables of package functions/dbenv.
	Environment map[string]*string
	// ReservedConcurrency is the function's reserved concurrency: its fixed number, or a
	// token that the budget resolves at synth, once every function has joined.
	ReservedConcurrency *float64
	// Vpc, VpcSubnets and SecurityGroup are where the function runs: the pool's VPC and
	// client subnets, and the pool's client security group; all nil in ModeDataAPI, whose
	// functions run outside any VPC.
	Vpc           awsec2.IVpc
	VpcSubnets    *awsec2.SubnetSelection
	SecurityGroup awsec2.ISecurityGroup
	// ConnectArn is the resource of the function's rds-db:connect, for its own user only.
	// With a provisioning pool it names the user as the provisioner reports it, so a
	// policy that holds it is created after the user. Nil in ModeDataAPI.
	ConnectArn *string
	// Secret holds the password of the function's database user in ModeDataAPI, where the
	// Data API signs in with it: generated at deploy, encrypted with the database's key,
	// readable by the function and the pool's users provisioner only. Nil in the other
	// modes, where the function signs in with IAM.
	Secret awssecretsmanager.Secret
	// Permissions are what the function's role must be allowed to reach the database, and
	// nothing else: rds-db:connect on ConnectArn; or in ModeDataAPI the Data API calls on
	// the cluster and reading Secret.
	Permissions []Permission
	// User is the custom resource that creates the function's database user at deploy,
	// or nil when the pool provisions no users.
	User awscdk.CustomResource
	// Function is the function.
	Function awslambda.Function
	// Reader says the function connects to the database's reader (AttachOptions.Reader).
	Reader bool
	// Alias is the alias "live" that carries the function's provisioned concurrency
	// (AttachOptions.ProvisionedConcurrency), or nil. Invoke it, not the function, to use
	// the initialized environments.
	Alias awslambda.Alias

	pool  *Pool
	entry budget.Function
}

// class is what decides a weighted function's reserved concurrency in its pool: members
// with equal weight and connections per environment on the same target (the writer, or
// the reader) get equal shares, so they share one token (one round trip to node for all
// of them instead of one each).
type class struct {
	weight, conns int
	reader        bool
}

// Build adds to the pool a function that build makes with what the pool gives it, for a
// construct that builds its functions itself: package function builds its Go functions
// this way, setting everything at construction, which saves the round trips to node that
// changing a built function costs. Attach is Build for a function that exists. scope
// holds the function's database user (child "DatabaseUser"); name is the function's
// construct path; timeoutSeconds is its timeout, checked against the proxy's borrow
// timeout. It panics with every invalid setting, naming the function.
func (pl *Pool) Build(scope constructs.Construct, name string, timeoutSeconds float64, opts *AttachOptions,
	build func(*Member) awslambda.Function) *Member {
	o, errs := pl.check(name, opts)
	fields.Problems(errs).Fail(name, "function in pool "+pl.path)
	if pl.users == nil {
		pl.users, pl.functions, pl.classes = map[string]string{}, map[any]*Member{}, map[class]*float64{}
	}
	pl.users[o.DatabaseUser] = name

	m := &Member{
		Name:          name,
		DatabaseUser:  o.DatabaseUser,
		Vpc:           pl.Vpc,
		VpcSubnets:    pl.ClientSubnets,
		SecurityGroup: pl.ClientSecurityGroup,
		Reader:        o.Reader,
		pool:          pl,
		entry: budget.Function{Name: name, ConnectionsPerEnvironment: o.ConnectionsPerEnvironment, Weight: o.Weight,
			ReservedConcurrency: o.ReservedConcurrency, TimeoutSeconds: timeoutSeconds,
			Scaling: budget.Scaling{ProvisionedConcurrency: o.ProvisionedConcurrency}},
	}
	m.ReservedConcurrency = pl.reserved(m.entry, o.Reader)
	if pl.Mode == ModeDataAPI {
		pl.dataAPIMember(scope, m, o)
	} else {
		pl.connectingMember(scope, m, o)
	}
	m.Function = build(m)
	if o.ProvisionedConcurrency > 0 {
		provision(m, o.ProvisionedConcurrency)
	}
	pl.functions[m.Function] = m
	pl.members = append(pl.members, m)
	pl.ledger.changed()
	return m
}

// Permission allows Actions on Resources, under Conditions when it has any (operator →
// condition key → value, as in a policy document).
type Permission = golambda.Statement

// connectingMember gives m what a function that connects needs: rds-db:connect for its
// own user (created by the pool's provisioner, if any) and the environment of a
// connection through the pool's endpoint, with IAM authentication.
func (pl *Pool) connectingMember(scope constructs.Construct, m *Member, o AttachOptions) {
	connectAs := o.DatabaseUser
	if pl.Users != nil {
		m.User = pl.Users.User(scope, "DatabaseUser", o.user(), nil)
		// The grant names the user as the provisioner reports it created: CloudFormation
		// then creates the user before the policy that holds the grant.
		connectAs = *m.User.GetAttString(jsii.String("Username"))
	}
	m.ConnectArn = pl.ConnectArn(connectAs)
	m.Permissions = []Permission{{Actions: []string{"rds-db:connect"}, Resources: []string{*m.ConnectArn}}}
	m.Environment = map[string]*string{
		dbenv.Engine:   jsii.String(string(pl.Database.Engine())),
		dbenv.Host:     pl.hostOf(m),
		dbenv.Port:     jsii.Sprintf("%d", pl.Port()),
		dbenv.User:     jsii.String(o.DatabaseUser),
		dbenv.Name:     jsii.String(pl.Database.DatabaseName()),
		dbenv.Auth:     jsii.String("iam"),
		dbenv.TLS:      jsii.String(pl.tlsMode()),
		dbenv.MaxConns: jsii.Sprintf("%d", o.ConnectionsPerEnvironment),
	}
	if m.Reader {
		m.Environment[dbenv.Target] = jsii.String(dbenv.TargetReader)
	}
}

// dataAPIActions are the RDS Data API calls a function makes (Amazon Aurora User Guide,
// "Authorizing access to the Amazon RDS Data API": the minimum permissions, on the
// cluster's ARN). CommitTransaction also needs BeginTransaction (Service Authorization
// Reference, Amazon RDS Data API, dependent actions). rds-data offers no condition key
// but tags (aws:ResourceTag, aws:TagKeys), so the cluster's ARN scopes them.
var dataAPIActions = []string{"rds-data:ExecuteStatement", "rds-data:BatchExecuteStatement",
	"rds-data:BeginTransaction", "rds-data:CommitTransaction", "rds-data:RollbackTransaction"}

// dataAPIMember gives m what a function that queries through the Data API needs: a
// secret of its own holding its user's generated password (the user created by the
// pool's provisioner with that password), the Data API on this cluster, reading that
// secret only, and the environment of Data API mode.
func (pl *Pool) dataAPIMember(scope constructs.Construct, m *Member, o AttachOptions) {
	key := pl.secretKey()
	m.Secret = awssecretsmanager.NewSecret(scope, jsii.String("Secret"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(pl.secretName(scope, o.DatabaseUser)),
		Description:   jsii.Sprintf("lambdards: password of database user %s, with which %s queries through the RDS Data API", o.DatabaseUser, m.Name),
		EncryptionKey: key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(fmt.Sprintf(`{"username":%q}`, o.DatabaseUser)),
			GenerateStringKey:    jsii.String("password"),
			// Letters and digits only: 32 of them carry about 190 bits, and every engine
			// and the provisioner take them unquoted.
			ExcludePunctuation: jsii.Bool(true),
			PasswordLength:     jsii.Number(32),
		},
	})
	nag.Suppress(m.Secret, "A function's own database password, read by that function's role and the pool's users provisioner "+
		"only, for a user that signs in only where the database's network allows. Secrets Manager rotation runs a function "+
		"in the VPC that needs a Secrets Manager interface endpoint there, which Data API mode exists to do without; "+
		"replacing the secret (a new construct ID) gives the user a new password at the next deploy.",
		append([]string{"AwsSolutions-SMG4"}, nag.NISTAndHIPAA("SecretsManagerRotationEnabled")...)...)
	secretArn := m.Secret.SecretArn()
	m.User = pl.Users.User(scope, "DatabaseUser", o.user(), m.Secret) // New requires Users in ModeDataAPI
	m.Permissions = []Permission{
		{Actions: dataAPIActions, Resources: []string{*pl.dataAPIArn}},
		// What the Data API reads on the caller's behalf ("Data API transparently calls
		// Secrets Manager, which allows (or denies) the user's request for the secret":
		// the same page), for this secret only.
		{Actions: []string{"secretsmanager:GetSecretValue"}, Resources: []string{*secretArn}},
	}
	if key != nil {
		// The key decrypts this secret only, and only when Secrets Manager asks on the
		// function's behalf.
		m.Permissions = append(m.Permissions,
			golambda.DecryptSecrets(golambda.SecretsManagerService(awscdk.Stack_Of(scope)), *key.KeyArn(), "StringEquals", *secretArn))
	}
	m.Environment = map[string]*string{
		dbenv.Mode:       jsii.String("dataapi"),
		dbenv.Engine:     jsii.String(string(pl.Database.Engine())),
		dbenv.ClusterARN: pl.dataAPIArn,
		dbenv.SecretARN:  secretArn,
		dbenv.Name:       jsii.String(pl.Database.DatabaseName()),
		dbenv.MaxConns:   jsii.Sprintf("%d", o.ConnectionsPerEnvironment),
	}
}

// secretKey is the key that encrypts the functions' secrets in ModeDataAPI: the one of the
// database's master secret, or nil (Secrets Manager's AWS managed key) when it has none.
func (pl *Pool) secretKey() awskms.IKey {
	if s := pl.Database.Secret(); s != nil {
		return s.EncryptionKey()
	}
	return nil
}

// secretName names the secret of the function whose Lambdards things scope holds, in
// ModeDataAPI: "ldr/POOL/USER-PLACE". POOL hashes the pool's stack and address, so that
// the provisioner may read the pool's secrets by one prefix (GrantReadPasswords); USER is
// the user's name, cut to 6 characters; PLACE hashes scope's stack and address, so that a
// function that moves to another stack or construct ID gets a secret of a new name, which
// CloudFormation can create before it deletes the old one. The name stays within 28
// characters, and the secret's ARN within the 100 characters the Data API's model gives
// its secretArn (RDS Data API model rds-data 2018-08-01, shape Arn) in every partition
// and Region.
func (pl *Pool) secretName(scope constructs.Construct, user string) string {
	return pl.secretPrefix() + user[:min(len(user), 6)] + "-" + shortHash(*awscdk.Stack_Of(scope).StackName()+"/"+*scope.Node().Addr())
}

// shortHash is 8 hexadecimal digits of s's SHA-256.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// secretPrefix begins the name of every function secret of the pool.
func (pl *Pool) secretPrefix() string {
	return "ldr/" + shortHash(*pl.stack.StackName()+"/"+*pl.Node().Addr()) + "/"
}

// Check reports every problem that Build would refuse opts for, for a function called
// name (its construct path), so that a construct can list them with its own; nil when
// there is none.
func (pl *Pool) Check(name string, opts *AttachOptions) []string {
	_, errs := pl.check(name, opts)
	return errs
}

// check returns opts with defaults applied, and every problem Build refuses them for.
func (pl *Pool) check(name string, opts *AttachOptions) (AttachOptions, []string) {
	o, errs := pl.withDefaults(name, opts)
	if pl.ledger.frozen != nil {
		errs = append(errs, "joins the pool after synth has begun computing the budget; build and attach every function before synth")
	}
	errs = append(errs, pl.checkScaling(o)...)
	if pl.subnetsErr != nil {
		errs = append(errs, fmt.Sprintf("the pool's %v: give the pool {ClientSubnets} that select private subnets of its VPC", fields.In(pl.subnetsErr, fields.Raw)))
	}
	if other, ok := pl.users[o.DatabaseUser]; ok && len(errs) == 0 {
		errs = append(errs, fmt.Sprintf("{DatabaseUser} %q: %s signs in as it already; give every function a user of its own", o.DatabaseUser, other))
	}
	return o, errs
}

// reserved is the reserved concurrency of a function: its fixed number, or its class's
// token.
func (pl *Pool) reserved(f budget.Function, reader bool) *float64 {
	if f.ReservedConcurrency > 0 {
		return jsii.Number(f.ReservedConcurrency)
	}
	c := class{f.Weight, f.ConnectionsPerEnvironment, reader}
	if t, ok := pl.classes[c]; ok {
		return t
	}
	t := awscdk.Lazy_Number(&classShare{pool: pl, class: c})
	pl.classes[c] = t
	return t
}

// classShare produces the reserved concurrency of a class of weighted members at synth.
type classShare struct {
	pool  *Pool
	class class
}

// Produce returns the class's reserved concurrency. Validation fails synth first if the
// budget does not hold; 0 here is only seen by a caller that skips validation.
func (c *classShare) Produce() *float64 {
	res, _ := c.pool.ledger.final().target(c.pool, c.class.reader)
	if res != nil {
		for _, a := range res.Functions {
			if !a.Fixed && a.Weight == c.class.weight && a.ConnectionsPerEnvironment == c.class.conns {
				return jsii.Number(a.ReservedConcurrency)
			}
		}
	}
	return jsii.Number(0)
}

// lambdaDefaultTimeoutSeconds is the timeout of a function that sets none (AWS Lambda
// Developer Guide, "Configure Lambda function timeout": "The default timeout value is 3
// seconds").
const lambdaDefaultTimeoutSeconds = 3

// maxSecurityGroups is the most security groups a function's VPC configuration takes
// (AWS Lambda API Reference, VpcConfig, SecurityGroupIds: "Maximum number of 5 items").
const maxSecurityGroups = 5

// Attach puts fn, a Lambda function of any runtime built anywhere in the app, under the
// pool's connection budget: it sets fn's reserved concurrency from the budget, reads fn's
// timeout for the borrow-timeout check, adds the pool's client security group to fn,
// grants fn's role rds-db:connect for its own database user only (a customer-managed
// policy), creates that user through the pool's provisioner, and sets the environment
// its handler reads (package functions/dbenv's names; see the README for Node.js and
// Python handlers). fn must be in the pool's VPC, may not set reserved concurrency
// itself, and joins one pool at most. What Attach adds to fn lives under fn's child
// "Lambdards". It panics with every problem, naming fn.
func (pl *Pool) Attach(fn awslambda.Function, opts *AttachOptions) *Member {
	name := *fn.Node().Path()
	var errs []string
	if other := pl.ledger.poolOf(fn); other != nil {
		errs = append(errs, fmt.Sprintf("is attached to pool %s already; a function joins one pool", *other.Node().Path()))
	}
	cfn, ok := fn.Node().DefaultChild().(awslambda.CfnFunction)
	if !ok {
		panic(fmt.Errorf("%s: Attach: not a function defined in this app (no AWS::Lambda::Function resource); attach the function where it is defined", name))
	}
	if r := cfn.ReservedConcurrentExecutions(); r != nil {
		errs = append(errs, fmt.Sprintf("sets ReservedConcurrentExecutions %v itself, but the pool sets it from the connection budget; "+
			"remove it, or give {ReservedConcurrency} %v to fix it in the budget", *r, *r))
	}
	vpc, _ := cfn.VpcConfig().(*awslambda.CfnFunction_VpcConfigProperty)
	switch {
	case pl.Mode == ModeDataAPI:
		// Anywhere: the Data API is an HTTPS endpoint, reached from outside a VPC or
		// through the VPC's own way out.
	case !*fn.IsBoundToVpc() || vpc == nil || vpc.SubnetIds == nil:
		errs = append(errs, "is not in a VPC, so it could never reach the database; give it Vpc: the pool's Vpc, "+
			"VpcSubnets: the pool's ClientSubnets")
	default:
		if outside := pl.notInVpc(*vpc.SubnetIds); len(outside) > 0 {
			errs = append(errs, fmt.Sprintf("runs in %d subnets that are not the pool's VPC's, where it could not reach "+
				"the pool's endpoint; give it Vpc: the pool's Vpc, VpcSubnets: the pool's ClientSubnets", len(outside)))
		}
		if n := len(*fn.Connections().SecurityGroups()); n >= maxSecurityGroups {
			errs = append(errs, fmt.Sprintf("has %d security groups, and a function takes at most %d; the pool adds its "+
				"client security group, so give the function at most %d of its own", n, maxSecurityGroups, maxSecurityGroups-1))
		}
	}
	if fn.Role() == nil {
		errs = append(errs, "has no execution role the pool can grant its database access to")
	}
	if len(errs) > 0 {
		panic(fields.Errorf("%s: cannot attach to pool %s:\n  - %s", name, *pl.Node().Path(), strings.Join(errs, "\n  - ")))
	}
	timeout := float64(lambdaDefaultTimeoutSeconds)
	if t := cfn.Timeout(); t != nil {
		timeout = *t
	}
	scope := constructs.NewConstruct(fn, jsii.String("Lambdards"))
	return pl.Build(scope, name, timeout, opts, func(m *Member) awslambda.Function {
		cfn.SetReservedConcurrentExecutions(m.ReservedConcurrency)
		for _, k := range slices.Sorted(maps.Keys(m.Environment)) {
			fn.AddEnvironment(jsii.String(k), m.Environment[k], nil)
		}
		if m.SecurityGroup != nil {
			// aws-cdk-lib writes a function's security groups into its VpcConfig when it
			// builds it, so a group added to its Connections later must be written there too.
			fn.Connections().AddSecurityGroup(m.SecurityGroup)
			var ids []*string
			for _, sg := range *fn.Connections().SecurityGroups() {
				ids = append(ids, sg.SecurityGroupId())
			}
			cfn.AddPropertyOverride(jsii.String("VpcConfig.SecurityGroupIds"), ids)
		}
		policy := awsiam.NewManagedPolicy(scope, jsii.String("ConnectPolicy"), &awsiam.ManagedPolicyProps{
			Description: jsii.String("lambdards: reach the database as the function's own user"),
			Roles:       &[]awsiam.IRole{fn.Role()},
			Document:    golambda.Document(m.Permissions),
		})
		// The function is created after its grant and its user.
		deps := []constructs.IDependable{policy}
		if m.User != nil {
			deps = append(deps, m.User)
		}
		cfn.Node().AddDependency(deps...)
		return fn
	})
}

// notInVpc returns the subnet IDs that are not the pool's VPC's.
func (pl *Pool) notInVpc(subnets []*string) []string {
	mine := map[string]bool{}
	for _, group := range []*[]awsec2.ISubnet{pl.Vpc.PublicSubnets(), pl.Vpc.PrivateSubnets(), pl.Vpc.IsolatedSubnets()} {
		for _, s := range *group {
			mine[*s.SubnetId()] = true
		}
	}
	var out []string
	for _, id := range subnets {
		if !mine[*id] {
			out = append(out, *id)
		}
	}
	return out
}

// withDefaults returns opts (nil means all defaults) with defaults applied for the
// function called name (a construct path), and every invalid setting.
func (pl *Pool) withDefaults(name string, opts *AttachOptions) (AttachOptions, []string) {
	var o AttachOptions
	if opts != nil {
		o = *opts
		o.Tables = slices.Clone(o.Tables)
	}
	var errs []string
	id := name[strings.LastIndex(name, "/")+1:]
	switch {
	case o.DatabaseUser == "" && pl.Users != nil:
		o.DatabaseUser = userName(id)
	case o.DatabaseUser == "":
		errs = append(errs, "{DatabaseUser}: required when the pool provisions no users (the pool's {Users}): "+
			"name the user the function signs in as, which must exist with IAM login rights")
	}
	if pl.Users == nil && (o.Access != "" || o.Schema != "" || len(o.Tables) > 0) {
		errs = append(errs, "{Access}, {Schema}, {Tables}: set, but the pool provisions no users (the pool's {Users}); "+
			"create the user yourself and leave them unset, or give the pool a users provisioner")
	}
	if db := pl.Database; o.Schema != "" && db.Engine() == dbspec.MySQL && o.Schema != db.DatabaseName() {
		// MySQL has no schemas within a database: a schema is a database (MySQL Reference
		// Manual, "CREATE SCHEMA is a synonym for CREATE DATABASE"), and the function's
		// connection names the pool's database.
		errs = append(errs, fmt.Sprintf("{Schema} %q: on MySQL a schema is a database, and the function connects to the "+
			"database %q, so it would get no rights on the database it uses; remove {Schema}, or set it to %q",
			o.Schema, db.DatabaseName(), db.DatabaseName()))
	}
	if o.DatabaseUser != "" {
		// The rules of a database user's declaration live with the declaration (dbspec),
		// shared with the users provisioner.
		u := dbspec.User{Name: o.DatabaseUser, Access: o.Access, Schema: o.Schema, Tables: o.Tables}
		var verr *dbspec.ValidationError
		if err := u.ValidateFor(pl.Database.MasterUsername()); errors.As(err, &verr) {
			errs = append(errs, verr.Problems...)
		}
	}
	if o.ConnectionsPerEnvironment == 0 {
		o.ConnectionsPerEnvironment = 1
	}
	if o.ConnectionsPerEnvironment < 1 {
		errs = append(errs, fmt.Sprintf("{ConnectionsPerEnvironment} %d: must be 1 or more", o.ConnectionsPerEnvironment))
	}
	if o.Weight == 0 {
		o.Weight = 1
	}
	if o.Weight < 1 {
		errs = append(errs, fmt.Sprintf("{Weight} %d: must be 1 or more", o.Weight))
	}
	if o.ReservedConcurrency < 0 {
		errs = append(errs, fmt.Sprintf("{ReservedConcurrency} %d: must be 0 (weighted) or 1 or more (fixed)", o.ReservedConcurrency))
	}
	return o, errs
}

// user is the database user that o declares.
func (o AttachOptions) user() dbspec.User {
	return dbspec.User{Name: o.DatabaseUser, Access: o.Access, Schema: o.Schema, Tables: o.Tables}
}

// userName derives a database user name from a construct ID: lower case, characters
// other than letters, digits and underscores replaced, a letter first, at most 32
// characters (MySQL's limit on user names: MySQL Reference Manual, "Account Names").
func userName(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "fn_" + name
	}
	return name[:min(len(name), 32)]
}

// tlsMode is how the handler checks the server's certificate. RDS Proxy presents a
// certificate from Amazon's public CA, which the runtime's system roots verify; a database
// presents one from the RDS CA, which they do not hold, so direct connections are encrypted
// without verification unless the handler is given the RDS CA bundle.
func (pl *Pool) tlsMode() string {
	if pl.Proxy != nil {
		return "verify-full"
	}
	return "require"
}
