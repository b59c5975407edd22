package stacks_test

import (
	"testing"
)

// TestEveryCombination switches each choice with one context value and checks what every
// combination must have, on the shared synth of each (synthAll).
func TestEveryCombination(t *testing.T) {
	for _, c := range combinations() {
		t.Run(c.name, func(t *testing.T) {
			a := assemblyOf(t, c.name)
			tmpl := a.templates(t)
			data, fns := tmpl["Data"], tmpl["Functions"]
			kind := map[string]string{"instance": "AWS::RDS::DBInstance", "serverless": "AWS::RDS::DBCluster"}[a.cfg.Database]
			proxies := 0
			if a.cfg.Connection == "proxy" {
				proxies = 1
			}
			for typ, want := range map[string]int{"AWS::EC2::InternetGateway": 0, "AWS::EC2::NatGateway": 0, kind: 1, "AWS::RDS::DBProxy": proxies} {
				if got := len(data.ofType(typ)); got != want {
					t.Errorf("%s: %d, want %d", typ, got, want)
				}
			}
			for _, p := range data.ofType("AWS::RDS::DBProxy") {
				family := map[string]string{"postgres": "POSTGRESQL", "mysql": "MYSQL"}[a.cfg.Engine]
				if p.Properties["EngineFamily"] != family || p.Properties["RequireTLS"] != true || p.Properties["DefaultAuthScheme"] != "IAM_AUTH" {
					t.Errorf("proxy EngineFamily %v, RequireTLS %v, DefaultAuthScheme %v; want %s, true, IAM_AUTH",
						p.Properties["EngineFamily"], p.Properties["RequireTLS"], p.Properties["DefaultAuthScheme"], family)
				}
			}
			res, err := a.app.Pool.Budget()
			if err != nil {
				t.Fatalf("Budget() = %v", err)
			}
			if res.Functions[0].ReservedConcurrency < 1 {
				t.Errorf("reserved concurrency = %d, want at least 1", res.Functions[0].ReservedConcurrency)
			}
			lambdas := fns.ofType("AWS::Lambda::Function")
			if len(lambdas) != 1 {
				t.Fatalf("functions = %d, want 1", len(lambdas))
			}
			// In a VPC, but for the Data API's functions, which run outside any.
			inVpc := a.cfg.Connection != "dataapi"
			if l := lambdas[0]; (l.Properties["VpcConfig"] != nil) != inVpc || l.Properties["ReservedConcurrentExecutions"] != float64(res.Functions[0].ReservedConcurrency) {
				t.Errorf("function VpcConfig %v, ReservedConcurrentExecutions %v; want a VPC %v and the budget's %d",
					l.Properties["VpcConfig"], l.Properties["ReservedConcurrentExecutions"], inVpc, res.Functions[0].ReservedConcurrency)
			}
		})
	}
}
