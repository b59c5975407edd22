// Command embed is a team's own CDK app that puts lambdards under functions it already
// has, using lambdards's public API only: a VPC of the team's (public, private and
// isolated tiers of its own names), a new Aurora Serverless v2 database and one the team
// runs already, each with its pool, and a Go, a Node.js, a Python and a container-image
// function in a stack of their own. Every pool of the app shares the account's Lambda
// concurrency. `go run .` synthesizes it (the CDK CLI runs it with `cdk synth --app 'go
// run .'`).
package main

import (
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/runner"
)

func main() {
	runner.Main(nil, func(app awscdk.App) error {
		_, err := Build(app)
		return err
	})
}

// Team is what Build made.
type Team struct {
	Network, Data, Functions awscdk.Stack
	Vpc                      awsec2.Vpc
	// Orders is the pool of the new Aurora cluster; Billing the pool of the database the
	// team runs already.
	Orders, Billing *pool.Pool
	// Go, Node, Python and Container are the functions, by runtime.
	Go                      *function.Function
	Node, Python, Container awslambda.Function
}

// Build builds the team's stacks in app.
func Build(app awscdk.App) (*Team, error) {
	t := &Team{}
	t.Network = awscdk.NewStack(app, jsii.String("Network"), nil)
	t.Vpc = awsec2.NewVpc(t.Network, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC},
			{Name: jsii.String("app"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			{Name: jsii.String("data"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		},
	})
	data := &awsec2.SubnetSelection{SubnetGroupName: jsii.String("data")}
	// The master secret's rotation function runs in the isolated tier: it reaches Secrets
	// Manager through an endpoint. (The users provisioner runs in the app tier and goes
	// through the NAT gateway.)
	secrets := t.Vpc.AddInterfaceEndpoint(jsii.String("SecretsManager"), &awsec2.InterfaceVpcEndpointOptions{
		Service: awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER(), Subnets: data,
	})

	t.Data = awscdk.NewStack(app, jsii.String("Data"), nil)
	orders := database.NewServerless(t.Data, jsii.String("Orders"), &database.ServerlessProps{
		Props:       database.Props{Vpc: t.Vpc, VpcSubnets: data, SecretsManagerEndpoint: secrets, DatabaseName: "orders"},
		MaxCapacity: 8,
	})
	t.Orders = pool.New(t.Data, jsii.String("OrdersPool"), &pool.Props{
		Database: orders, Vpc: t.Vpc,
		Proxy: &proxy.Props{VpcSubnets: data},
		Users: users.New(t.Data, jsii.String("OrdersUsers"), &users.Props{Database: orders, Vpc: t.Vpc}),
	})
	// The billing database exists already: lambdards budgets it with the max_connections
	// its parameter group sets, and changes nothing on it but the rule that lets the
	// proxy in.
	billing := database.FromInstanceAttributes(t.Data, jsii.String("Billing"), &database.InstanceAttributes{
		Attributes: database.Attributes{
			Engine: dbspec.Postgres, Identifier: "billing", Endpoint: "billing.c0ffee.eu-west-1.rds.amazonaws.com",
			ResourceID: "db-BILLING", DatabaseName: "billing", MaxConnections: 400,
			SecurityGroups: []awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(t.Data, jsii.String("BillingSg"), jsii.String("sg-0b111"), nil)},
		},
	})
	t.Billing = pool.New(t.Data, jsii.String("BillingPool"), &pool.Props{Database: billing, Vpc: t.Vpc, Proxy: &proxy.Props{VpcSubnets: data}})

	t.Functions = awscdk.NewStack(app, jsii.String("Functions"), nil)
	// A Go function built by lambdards.
	t.Go = function.New(t.Functions, jsii.String("Orders"), &function.Props{
		Pool: t.Orders, Entry: entry("functions", "items"), AttachOptions: pool.AttachOptions{Access: "ddl", Weight: 2},
	})
	// A Node.js function the team already had. Its real handler is bundled with its
	// drivers (aws-cdk-lib's NodejsFunction with pg and @aws-sdk/rds-signer); inline code
	// shows what it reads.
	t.Node = awslambda.NewFunction(t.Functions, jsii.String("Search"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String(nodeHandler)), Vpc: t.Vpc, Timeout: awscdk.Duration_Seconds(jsii.Number(20)),
	})
	t.Orders.Attach(t.Node, &pool.AttachOptions{Access: "read"})
	// A Python function on the existing database, whose user exists already (that pool
	// has no provisioner).
	t.Python = awslambda.NewFunction(t.Functions, jsii.String("Invoices"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_PYTHON_3_13(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String(pythonHandler)), Vpc: t.Vpc, Timeout: awscdk.Duration_Seconds(jsii.Number(30)),
	})
	t.Billing.Attach(t.Python, &pool.AttachOptions{DatabaseUser: "invoices", ReservedConcurrency: 20})
	// A container-image function: synth stages the image's directory, deploy builds it.
	t.Container = awslambda.NewDockerImageFunction(t.Functions, jsii.String("Reports"), &awslambda.DockerImageFunctionProps{
		Code: awslambda.DockerImageCode_FromImageAsset(jsii.String(entry("examples", "embed", "container")), nil),
		Vpc:  t.Vpc, Timeout: awscdk.Duration_Seconds(jsii.Number(60)),
	})
	t.Orders.Attach(t.Container, &pool.AttachOptions{Access: "read", ConnectionsPerEnvironment: 2})
	return t, nil
}

// entry is a directory of the lambdards repository, which holds this module.
func entry(parts ...string) string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	// This module lives in examples/embed of the repository.
	return filepath.Join(append([]string{wd, "..", ".."}, parts...)...)
}

// nodeHandler signs in with an IAM token for the user the pool gave the function, over
// TLS, at the pool's endpoint: every value comes from the LAMBDARDS_DB_* variables.
const nodeHandler = `
const { Signer } = require("@aws-sdk/rds-signer");
const { Client } = require("pg");
exports.handler = async () => {
  const e = process.env;
  const signer = new Signer({ hostname: e.LAMBDARDS_DB_HOST, port: Number(e.LAMBDARDS_DB_PORT),
    username: e.LAMBDARDS_DB_USER, region: e.AWS_REGION });
  const client = new Client({ host: e.LAMBDARDS_DB_HOST, port: Number(e.LAMBDARDS_DB_PORT),
    user: e.LAMBDARDS_DB_USER, database: e.LAMBDARDS_DB_NAME, password: await signer.getAuthToken(),
    ssl: { rejectUnauthorized: e.LAMBDARDS_DB_TLS === "verify-full" } });
  await client.connect();
  try { return (await client.query("SELECT now()")).rows[0]; } finally { await client.end(); }
};`

// pythonHandler does the same with boto3's token and a PostgreSQL driver (pg8000, in a
// layer or the image: the Python runtime has boto3 only).
const pythonHandler = `
import os, ssl, boto3, pg8000.native
def handler(event, context):
    e = os.environ
    host, port, user = e["LAMBDARDS_DB_HOST"], int(e["LAMBDARDS_DB_PORT"]), e["LAMBDARDS_DB_USER"]
    token = boto3.client("rds").generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=e["AWS_REGION"])
    conn = pg8000.native.Connection(user, host=host, port=port, password=token, database=e["LAMBDARDS_DB_NAME"],
                                    ssl_context=ssl.create_default_context())
    try:
        return {"now": str(conn.run("SELECT now()")[0][0])}
    finally:
        conn.close()
`
