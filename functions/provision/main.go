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
//	Engine        postgres | mysql (mysql also covers MariaDB and Aurora MySQL)
//	Host          the DB instance or cluster endpoint: not the proxy
//	Port          TCP port
//	DatabaseName  the database the user gets access to
//	SecretArn     the master user's secret, JSON with "username" and "password"
//	User          JSON of dbspec.User, e.g. {"name":"orders_reader","access":"read"}
//
// The function connects to Host as the master user over TLS without
// verifying the certificate (dbconn.TLSRequire): the DB instance's
// certificate chains to the RDS CA, which the Lambda runtime does not
// trust. It therefore needs a network path to the database, and
// secretsmanager:GetSecretValue on SecretArn.
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
