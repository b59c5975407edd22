package budget_test

import (
	"fmt"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
)

// This is the example of the package documentation: Aurora PostgreSQL
// Serverless v2 at 0.5-4 ACU behind RDS Proxy, with two weighted functions
// and one fixed one.
func ExampleCompute() {
	maxConns, err := budget.ServerlessMaxConnections(dbspec.Postgres, 0.5, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := budget.Compute(budget.Config{
		Database:            "aurora-postgresql serverless v2 (0.5-4 ACU)",
		Engine:              dbspec.Postgres,
		MaxConnections:      maxConns,
		ReservedConnections: budget.ReservedConnections(dbspec.Postgres, true),
		Headroom:            budget.DefaultHeadroom(maxConns),
		Proxy:               true,
		Functions: []budget.Function{
			{Name: "api", Weight: 3},
			{Name: "worker", ConnectionsPerEnvironment: 2},
			{Name: "migrate", ReservedConcurrency: 2},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range r.Functions {
		fmt.Printf("%s: reserved concurrency %d (%d connections, limited by %s)\n",
			a.Name, a.ReservedConcurrency, a.Connections, a.LimitedBy)
	}
	fmt.Printf("proxy MaxConnectionsPercent %d, spare connections %d\n", r.ProxyMaxConnectionsPercent, r.Spare)
	// Output:
	// api: reserved concurrency 541 (541 connections, limited by connections)
	// worker: reserved concurrency 90 (180 connections, limited by connections)
	// migrate: reserved concurrency 2 (2 connections, limited by fixed)
	// proxy MaxConnectionsPercent 88, spare connections 1
}

// The instance class is written as CDK writes it, with or without "db.".
func ExampleInstanceMaxConnections() {
	n, err := budget.InstanceMaxConnections(dbspec.Postgres, "db.t4g.micro")
	fmt.Println(n, err)
	n, err = budget.InstanceMaxConnections(dbspec.MySQL, "t4g.micro")
	fmt.Println(n, err)
	// Output:
	// 73 <nil>
	// 55 <nil>
}
