package stacks

import "fmt"

// Combination is one configuration of the default app that the tests build.
type Combination struct {
	Name    string
	Context map[string]any
}

// Combinations are the configurations the tests build and keep golden files for: every
// preset with each engine, and each database variant with each engine and each connection
// it takes (the Data API is Aurora's alone).
func Combinations() []Combination {
	var out []Combination
	for _, engine := range []string{"postgres", "mysql"} {
		for _, env := range PresetNames {
			out = append(out, Combination{"env-" + env + "-" + engine, map[string]any{"env": env, "engine": engine}})
		}
	}
	for _, database := range []string{"instance", "serverless"} {
		for _, engine := range []string{"postgres", "mysql"} {
			for _, via := range []string{"proxy", "direct", "dataapi"} {
				if via == "dataapi" && database == "instance" {
					continue
				}
				out = append(out, Combination{fmt.Sprintf("%s-%s-%s", database, engine, via),
					map[string]any{"database": database, "engine": engine, "connection": via}})
			}
		}
	}
	return out
}
