// Package dbenv names the environment variables through which lambdards's function
// construct tells a handler where and how to connect, and from which package dbconn
// reads it. It is the one place both sides take the names from, and imports nothing, so
// the CDK app does not pull in handler dependencies and handlers do not pull in the CDK.
package dbenv

// Prefix begins the name of every variable that the construct sets, and that a
// function's own environment may therefore not set.
const Prefix = "LAMBDARDS_DB_"

// The variables.
const (
	Engine   = "LAMBDARDS_DB_ENGINE"
	Host     = "LAMBDARDS_DB_HOST"
	Port     = "LAMBDARDS_DB_PORT"
	User     = "LAMBDARDS_DB_USER"
	Name     = "LAMBDARDS_DB_NAME"
	Auth     = "LAMBDARDS_DB_AUTH"
	Password = "LAMBDARDS_DB_PASSWORD"
	TLS      = "LAMBDARDS_DB_TLS"
	MaxConns = "LAMBDARDS_DB_MAX_CONNS"
	// Mode is "connection" (the default) or "dataapi"; the next two are
	// read in dataapi mode only.
	Mode       = "LAMBDARDS_DB_MODE"
	ClusterARN = "LAMBDARDS_DB_CLUSTER_ARN"
	SecretARN  = "LAMBDARDS_DB_SECRET_ARN"
	// Region is set by Lambda itself.
	Region = "AWS_REGION"
	// Target is TargetReader for a function that connects to the database's reader
	// (Host is then the reader's); unset, the writer.
	Target = "LAMBDARDS_DB_TARGET"
)

// The values of Target.
const (
	TargetWriter = "writer"
	TargetReader = "reader"
)
