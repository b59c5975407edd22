package stacks

import (
	"strings"
	"testing"

	"github.com/lambdards/lambdards/constructs/pool"
)

// TestConfigureFunctionFeatures reads the functions key's reader, provisionedConcurrency
// and queue, and refuses what the rest of the configuration cannot honour.
func TestConfigureFunctionFeatures(t *testing.T) {
	c, err := Configure(mapContext{"env": "prod", "functions": `{"r":{"entry":"x","reader":true,"provisionedConcurrency":3},"q":{"entry":"x","queue":true,"reader":false}}`})
	if err != nil {
		t.Fatal(err)
	}
	q, r := c.Functions[0], c.Functions[1]
	if !r.Reader || r.ProvisionedConcurrency != 3 || r.Queue || !q.Queue || q.Reader {
		t.Errorf("Functions = %+v", c.Functions)
	}
	if o := r.attachOptions(pool.AttachOptions{Weight: 2}); !o.Reader || o.ProvisionedConcurrency != 3 || o.Weight != 2 {
		t.Errorf("attachOptions = %+v", o)
	}
	for _, tc := range []struct {
		ctx  mapContext
		want string
	}{
		{mapContext{"functions": `{"r":{"entry":"x","reader":true}}`},
			`function "r" has reader = true, but the database has no reader (database = instance (the default), which has no reader): set the app's reader = true`},
		{mapContext{"database": "serverless", "functions": `{"r":{"entry":"x","reader":true}}`},
			`(reader = false (the default)): set the app's reader = true (with database = serverless), or remove the function's reader`},
		{mapContext{"env": "prod", "reader": "false", "functions": `{"r":{"entry":"x","reader":true}}`},
			`(reader = false)`},
		{mapContext{"env": "cheapest", "functions": `{"p":{"entry":"x","provisionedConcurrency":1}}`},
			`function "p" has provisionedConcurrency = 1 with env = cheapest: provisioned environments are billed every hour`},
		{mapContext{"functions": `{"p":{"entry":"x","provisionedConcurrency":0}}`},
			`function "p" has provisionedConcurrency = 0: must be 1 or more; remove provisionedConcurrency for the default, none`},
		{mapContext{"functions": `{"p":{"entry":"x","queue":null}}`},
			`function "p" has queue = null: empty; give true or false, or remove queue for the default false, no queue`},
	} {
		_, err := Configure(tc.ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%v) = %v, want an error containing %q", tc.ctx, err, tc.want)
		}
	}
}
