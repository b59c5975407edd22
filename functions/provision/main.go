// Command provision is the custom-resource Lambda that gives each function
// its least-privilege database user at deploy time. The CDK Provider
// framework (aws-cdk-lib/custom-resources) invokes it synchronously with
// the CloudFormation request and expects {"PhysicalResourceId", "Data"} or
// an error back.
//
// # Resource properties
//
// CloudFormation passes every property as a string:
//
//	Engine             postgres | mysql (mysql also covers MariaDB and Aurora MySQL)
//	Host               the DB instance or cluster endpoint: not the proxy
//	Port               TCP port
//	ClusterArn         optional: the Aurora DB cluster's ARN, to go through the RDS Data API instead of Host and Port
//	DatabaseName       the database the user gets access to
//	SecretArn          the master user's secret, JSON with "username" and "password"
//	PasswordSecretArn  optional: the function's own secret, JSON with "username" and "password"
//	User               JSON of dbspec.User, e.g. {"name":"orders_reader","access":"read"}
//
// # Reaching the database
//
// Without ClusterArn the function connects to Host as the master user over
// TLS without verifying the certificate (dbconn.TLSRequire): the DB
// instance's certificate chains to the RDS CA, which the Lambda runtime
// does not trust. It therefore needs a network path to the database, and
// secretsmanager:GetSecretValue on SecretArn.
//
// With ClusterArn (Aurora PostgreSQL only) it sends the SQL to the RDS Data
// API, signed in as the master user of SecretArn, and does not use Host and
// Port, which may then be left out. It then runs outside the VPC: it needs no path to the database,
// no Secrets Manager endpoint and no NAT gateway, only
// rds-data:BeginTransaction, ExecuteStatement, CommitTransaction and
// RollbackTransaction on the cluster, and secretsmanager:GetSecretValue on
// SecretArn, which the Data API checks for the caller (Amazon Aurora User
// Guide, "Authorizing access to the Amazon RDS Data API"). Apply and Drop
// run in one Data API transaction, which holds their advisory lock as a
// connection's transaction does. Engine mysql with ClusterArn is refused:
// on MySQL they wait for each other on a named lock (GET_LOCK) that belongs
// to a session, the Data API may run each statement outside a transaction
// on another session (it "doesn't require a persistent connection": Amazon
// Aurora User Guide, "Using the Amazon RDS Data API"), and MySQL's CREATE
// USER and GRANT commit any transaction implicitly. A cluster resuming from auto-pause is retried
// for up to dbconn's Data API retry policy.
//
// # Authentication of the user
//
// Without PasswordSecretArn the user signs in with IAM tokens (dbuser's
// default). With it, the user signs in with the password in that secret, as
// the Data API signs in for a function (dbuser.Options.Password): the
// provisioner needs secretsmanager:GetSecretValue on it. The secret's username
// must be the declared user's name; the password must be printable ASCII
// without quotes or backslashes. Create and Update read the secret; Delete
// does not. Errors never quote a secret.
//
// # Requests
//
// Create and Update apply the user (dbuser.Apply). The physical resource
// id is engine:database:user. An Update that changes it creates the new
// user only: CloudFormation then sends a Delete for the old id, after the
// whole stack update has succeeded, and that drops the old user. An Update
// that keeps the user name but changes engine or database is refused,
// since that Delete would drop the user the new database needs. Delete
// drops the user (dbuser.Drop); a user lambdards did not create is left
// alone, and the Delete succeeds, so that a stack can always be deleted.
//
// Create and Update record the resource's StackId/LogicalResourceId as the
// user's owner. A Delete from a resource that no longer owns the user (its
// function moved to another stack, whose resource applied the user since)
// leaves the user alone and succeeds.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("loading the AWS configuration", "error", err)
		os.Exit(1)
	}
	h := &Handler{
		Secrets: &SecretsManager{Client: secretsmanager.NewFromConfig(cfg)},
		Log:     logger,
	}
	lambda.Start(h.Handle)
}
