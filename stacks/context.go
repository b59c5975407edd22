package stacks

import (
	"encoding/json"
	"fmt"
	"os"
)

// ProcessContext reads the context the CDK CLI hands the app process, the same way
// aws-cdk-lib's App does (App.loadContext): the JSON in CDK_CONTEXT_JSON, then the JSON
// file that CONTEXT_OVERFLOW_LOCATION_ENV names when the CLI found the context too large
// for the environment. It lets the app check its configuration before it starts Node.js.
func ProcessContext() (Context, error) {
	ctx := processContext{}
	if s := os.Getenv("CDK_CONTEXT_JSON"); s != "" {
		if err := json.Unmarshal([]byte(s), &ctx); err != nil {
			return nil, fmt.Errorf("CDK_CONTEXT_JSON: %v", err)
		}
	}
	if path := os.Getenv("CONTEXT_OVERFLOW_LOCATION_ENV"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &ctx); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	}
	return ctx, nil
}

type processContext map[string]any

func (c processContext) TryGetContext(key *string) any              { return c[*key] }
func (c processContext) GetAllContext(defaults *map[string]any) any { return map[string]any(c) }
