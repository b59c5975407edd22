package stacks

import (
	"strings"
	"testing"
)

// TestMonitoringKeys: the alarms are on in prod only, a context key turns them on or off,
// and a topic without alarms is refused.
func TestMonitoringKeys(t *testing.T) {
	for env, want := range map[string]bool{"dev": false, "prod": true, "cheapest": false} {
		c, err := Configure(mapContext{"env": env})
		if err != nil || c.Alarms != want || c.Dashboard != nil {
			t.Errorf("Configure(env %s) = alarms %v, dashboard %v, %v; want alarms %v, dashboard derived", env, c.Alarms, c.Dashboard, err, want)
		}
	}
	const arn = "arn:aws:sns:us-east-1:123456789012:ops"
	c, err := Configure(mapContext{"env": "prod", "alarms": "false", "dashboard": "true"})
	if err != nil || c.Alarms || c.Dashboard == nil || !*c.Dashboard {
		t.Errorf("Configure(prod, alarms false, dashboard true) = %v, %v, %v", c.Alarms, c.Dashboard, err)
	}
	if c, err := Configure(mapContext{"alarms": true, "alarmTopicArn": arn}); err != nil || c.AlarmTopicArn != arn {
		t.Errorf("Configure(alarms, topic) = %q, %v", c.AlarmTopicArn, err)
	}
	for _, tc := range []struct {
		ctx  mapContext
		want string
	}{
		{mapContext{"alarmTopicArn": arn}, "alarmTopicArn = " + arn + " with alarms = false (the default): only alarms notify a topic; " +
			"remove alarmTopicArn, or set alarms = true"},
		{mapContext{"env": "prod", "alarms": "false", "alarmTopicArn": arn}, "with alarms = false: only alarms notify a topic"},
		{mapContext{"alarms": true, "alarmTopicArn": "ops"}, `alarmTopicArn = "ops": must be an SNS topic ARN`},
		{mapContext{"alarms": "sometimes"}, `alarms = "sometimes": must be true or false`},
	} {
		if _, err := Configure(tc.ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%v) = %v, want an error containing %q", tc.ctx, err, tc.want)
		}
	}
}
