// Package e2e runs the sample function end to end on this machine, sized by the
// connection budget that synth computes, and checks that the budget holds.
//
// The harness synthesizes the real app program with a small explicit maxConnections and
// takes everything else from the cloud assembly it writes:
//
//   - the budget (cdk.out/lambdards-budget.json) and the templates it is written into:
//     the Data stack's parameter group (max_connections) and RDS Proxy target group
//     (MaxConnectionsPercent, ConnectionBorrowTimeout), and the function's
//     ReservedConcurrentExecutions, timeout and environment;
//   - the function's bootstrap binary, from the asset directory that the Functions
//     stack's assets manifest names for the function's code: the linux/arm64 binary a
//     deploy would upload.
//
// From them it builds a local stand-in for what a deploy creates:
//
//	budget / template                          local stand-in
//	max_connections (parameter group)          PostgreSQL max_connections
//	engine-reserved (RDS PostgreSQL: 5)        PostgreSQL superuser_reserved_connections
//	floor(max_connections × MaxConnections-    pgbouncer max_db_connections and
//	  Percent / 100), the proxy's share        default_pool_size (session mode: a pinned
//	                                           session holds one server connection)
//	ConnectionBorrowTimeout                    pgbouncer query_wait_timeout
//	ReservedConcurrentExecutions               number of execution environments: one
//	                                           Lambda Runtime Interface Emulator process
//	                                           each, invoked one request at a time
//
// On a machine that is not arm64 each emulator runs the bootstrap under qemu user-mode
// emulation (qemu-aarch64-static), so cold starts here are slower than in Lambda. Only
// TestCap runs that binary; the scenarios about the handler's behaviour (TestOverCap,
// TestPoolerRestart) run the same source built for this machine with synth's flags.
//
// The Data API scenarios (TestDataAPICap, TestDataAPIReadOnly, TestDataAPIResume)
// synthesize a second assembly as the cheapest preset does (connection=dataapi, Aurora
// PostgreSQL Serverless v2; with the same maxConnections) and run its function with the
// environment it synthesizes against the RDS Data API stand-in (internal/dataapi) over
// PostgreSQL sized the same way, signed in as the function's declared user with the
// password in its secret; the harness provisions that user as the provisioner does with
// ClusterArn, through the Data API (dbuser with a Password).
//
// TestReader synthesizes another app, an Aurora PostgreSQL cluster with a reader behind
// RDS Proxy, and checks the reader's budget against a real streaming replica of a local
// PostgreSQL (testdb.StartReplica), each behind a pgbouncer sized as the proxy's share:
// reader functions at their cap stay within the reader's connections and see what the
// writer committed, and a write through the reader fails with the read-only error.
//
// The tests need PostgreSQL, pgbouncer, the emulator (aws-lambda-rie), qemu and Node.js
// for synth; `make deps` installs them. A missing one skips the tests, or fails them when
// CI=true. `make e2e` runs them alone; `make bench-e2e` runs the benchmark, which prints
// throughput, latency and peak database connections at the cap and over it.
package e2e
