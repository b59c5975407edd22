// Package budget works out how much reserved concurrency each Lambda function
// in front of a database may have, so that together the functions can never
// exhaust the database's connections.
//
// The package is plain arithmetic. It imports neither jsii nor aws-cdk-go, so
// constructs and command-line tools can both use it, and its tests run in
// milliseconds.
//
// # The model
//
// A database accepts max_connections connections. InstanceMaxConnections
// (RDS; an estimate at or below AWS's default) and ServerlessMaxConnections
// (Aurora Serverless v2; AWS's published table) give the value to use, and
// CheckInstanceMaxConnections and CheckServerlessMaxConnections refuse an
// explicit value the database cannot take. A construct writes the value into
// the parameter group, which makes it exact. Of those connections:
//
//   - the engine keeps some for superusers and AWS automation
//     (ReservedConnections): 5 on RDS PostgreSQL, 8 on Aurora PostgreSQL and
//     none on MySQL;
//   - the headroom stays free for administrators, migrations, secret rotation
//     and monitoring (DefaultHeadroom: 10 %, rounded up, and at least 5);
//   - the rest is usable: usable = max_connections - reserved - headroom.
//
// With RDS Proxy, the functions reach the database only through the proxy.
// Its MaxConnectionsPercent is set to floor(100 * usable / max_connections),
// so it opens at most floor(max_connections * percent / 100) connections.
// That is never more than usable, so the proxy cannot take reserved or
// headroom connections. Its MaxIdleConnectionsPercent defaults to half the
// percentage, as on AWS. Without a proxy the functions connect directly and
// all usable connections are available to them.
//
// Reserved concurrency caps how many execution environments a function can
// have, and each environment holds at most its connections per environment.
// (Budget 1 by default: when RDS Proxy pins a session, each environment holds
// a database connection of its own.) So reserved concurrency times
// connections per environment caps the function's connections. Functions with
// a fixed reserved concurrency take their connections first. The R
// connections left over are shared out by weight, in integer arithmetic:
//
//	by connections = floor(floor(R * weight / total weight) / connections per environment)
//	by account     = floor(A * weight / total weight)
//	reserved concurrency = min(by connections, by account)
//
// A is the Lambda concurrency that the account may still reserve: the account
// limit (1000 by default) minus the 100 that Lambda keeps unreserved, minus
// the fixed functions' reserved concurrency. Every share rounds down, so
// together the functions never hold more connections than are available, or
// more concurrency than the account may reserve.
//
// Lambda counts reserved concurrency per account and Region, whichever
// database a function uses, so ComputeAccount budgets several databases at
// once: each shares its own connections as above, while A (less every fixed
// function of every database, and the reservations made outside the budget,
// Account.Elsewhere) is shared by weight among the weighted functions of all
// of them. Compute is ComputeAccount with one database.
//
// An Aurora reader is a target of its own: it has its own max_connections (pinned
// in the same parameter group as the writer's when lambdards builds the cluster),
// its own engine-reserved slots and headroom, and through RDS Proxy's read-only
// endpoint the same MaxConnectionsPercent of its own max_connections. So a
// caller budgets it as one more Config in the Account, holding the functions that
// read from it: they share the account's concurrency with every other function,
// and the reader's connections with each other.
//
// A function's Scaling adds what keeps or feeds its environments: provisioned
// concurrency, which must fit inside its reserved concurrency and is priced by
// ProvisionedMonthlyUSD, and an SQS queue, whose event source mapping takes the
// function's reserved concurrency as its MaximumConcurrency
// (QueueMaximumConcurrency), which must be at least 2. Neither changes a share.
//
// Compute also reports, all at once (more than three functions left without
// concurrency as one summary that explains the worst three): fixed functions that need more
// connections than are available; a function left with reserved concurrency 0
// (Lambda would never run it); total reserved concurrency above what the
// account may reserve; a proxy idle percentage above its connection
// percentage; a function timeout that is not longer than the proxy's borrow
// timeout (Lambda would kill the function while it still waits for a pooled
// connection, before the proxy could return its timeout error); and invalid
// input. Each message names the function, the numbers and what to change.
//
// # Example
//
// Take an Aurora PostgreSQL Serverless v2 cluster scaling from 0.5 to 4 ACU,
// behind RDS Proxy, with three functions: "api" (weight 3), "worker" (weight 1,
// two connections per environment) and "migrate" (reserved concurrency fixed
// at 2).
//
//	max_connections   ServerlessMaxConnections(Postgres, 0.5, 4)   = 823
//	reserved          ReservedConnections(Postgres, true)          = 8
//	headroom          DefaultHeadroom(823) = max(5, ceil(82.3))    = 83
//	usable            823 - 8 - 83                                 = 732
//	proxy percent     floor(100 * 732 / 823) = floor(88.9)         = 88
//	proxy idle        88 / 2                                       = 44
//	available         floor(823 * 88 / 100) = floor(724.2)         = 724
//	migrate (fixed)   2 * 1 connection                             = 2 connections
//	R                 724 - 2                                      = 722 connections
//	A                 1000 - 100 - 2                               = 898 concurrency
//	api               min(floor(722*3/4) / 1, floor(898*3/4))
//	                  = min(541, 673)                              = 541, by connections
//	worker            min(floor(722*1/4) / 2, floor(898*1/4))
//	                  = min(180/2, 224)                            = 90, by connections (180 connections)
//	total             541 + 90 + 2 = 633 concurrency; 541 + 180 + 2 = 723 connections
//	spare             724 - 723                                    = 1
//
// Result.Table renders the same budget for synth output:
//
//	database                aurora-postgresql serverless v2 (0.5-4 ACU)
//	engine                  postgres
//	max_connections         823
//	engine-reserved         8
//	headroom                83
//	usable                  732
//	proxy                   MaxConnectionsPercent 88% = 724 connections, MaxIdleConnectionsPercent 44%
//	available to functions  724
//
//	function  conn/env  weight  reserved concurrency  connections  limited by
//	api       1         3       541                   541          connections
//	worker    2         1       90                    180          connections
//	migrate   1         fixed   2                     2            fixed
//	total                       633                   723
//
//	spare connections    1
//	account concurrency  1000 (reserved 633, unreserved 367, minimum unreserved 100)
//
// Every AWS number in this package cites its AWS source where it is defined.
package budget
