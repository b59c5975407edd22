package proxy

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
)

// ReaderEndpoint is the host name of the proxy's read-only endpoint, or nil when it has
// none.
//
// A read-only endpoint sends its connections to the Aurora cluster's readers, the way
// the cluster's reader endpoint does, never to the writer: while no reader is available
// the proxy waits for one up to its borrow timeout, then fails the request (Amazon Aurora
// User Guide, "Working with Amazon RDS Proxy endpoints", Using reader endpoints with
// Aurora clusters). Clients sign in to it as to the proxy: an endpoint uses its proxy's
// authentication, and RDS Proxy sets up its permissions and authorizations as the
// proxy's (same guide, Overview of proxy endpoints), so rds-db:connect on the proxy
// (ConnectArn) covers it.
func (x *Proxy) ReaderEndpoint() *string { return x.readerHost }

// checkReaderEndpoint reports a read-only endpoint that db could not serve: RDS Proxy
// fails every request to a read-only endpoint whose target is an RDS instance or an
// Aurora cluster without readers (same guide, Using reader endpoints with Aurora
// clusters).
func checkReaderEndpoint(db database.Database) []string {
	if database.ReaderOf(db) == nil {
		return []string{"{ReaderEndpoint}: a read-only endpoint routes to an Aurora cluster's readers, and the database has none, " +
			"so RDS Proxy would fail every request to it; give the cluster a reader (database.ServerlessProps.Reader), or leave {ReaderEndpoint} false"}
	}
	return nil
}

// addReaderEndpoint adds the read-only endpoint, in the proxy's subnets and security
// group: clients let into the proxy are let into it too.
// Its name is aws-cdk-lib's, unique to its construct path (letters and digits).
func (x *Proxy) addReaderEndpoint(vpc awsec2.IVpc, subnets *awsec2.SubnetSelection) {
	px := x.Proxy.(awsrds.DatabaseProxy)
	ep := px.AddEndpoint(jsii.String("ReaderEndpoint"), &awsrds.DatabaseProxyEndpointOptions{
		Vpc:            vpc,
		VpcSubnets:     subnets,
		SecurityGroups: &[]awsec2.ISecurityGroup{x.SecurityGroup},
		TargetRole:     awsrds.ProxyEndpointTargetRole_READ_ONLY,
	})
	x.ReadOnlyEndpoint = ep
	x.readerHost = ep.Endpoint()
}
