package snapshot

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	base := `{"Resources":{
		"itemsFunction8D9000E0":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":256,"Timeout":30}},
		"topicF00BA400":{"Type":"AWS::SNS::Topic"}}}`
	tests := []struct {
		name, want, got, diff string
	}{{
		name: "equal",
		want: base,
		got:  base,
		diff: "",
	}, {
		name: "resource added, removed and changed",
		want: base,
		got: `{"Resources":{
			"itemsFunction8D9000E0":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":512,"Timeout":30}},
			"queueA2B3C4D5":{"Type":"AWS::SQS::Queue","Properties":{"DelaySeconds":5}}}}`,
		diff: `itemsFunction8D9000E0 (AWS::Lambda::Function): Properties.MemorySize: 256 → 512
queueA2B3C4D5 (AWS::SQS::Queue): added
topicF00BA400 (AWS::SNS::Topic): removed
`,
	}, {
		name: "property added and removed, nested, key with a dot",
		want: `{"Resources":{"P":{"Type":"AWS::RDS::DBParameterGroup","Properties":{"Parameters":{"rds.force_ssl":"1"},"Description":"d"}}}}`,
		got:  `{"Resources":{"P":{"Type":"AWS::RDS::DBParameterGroup","Properties":{"Parameters":{"rds.force_ssl":"0","max_connections":"112"}}}}}`,
		diff: `P (AWS::RDS::DBParameterGroup): Properties.Description: "d" → (absent)
P (AWS::RDS::DBParameterGroup): Properties.Parameters.max_connections: (absent) → "112"
P (AWS::RDS::DBParameterGroup): Properties.Parameters["rds.force_ssl"]: "1" → "0"
`,
	}, {
		name: "list element inserted, changed and dropped",
		want: `{"Resources":{"R":{"Type":"AWS::IAM::Role","Properties":{"Arns":["a","b","c","d"],"S":[{"Action":"x","Effect":"Allow"}]}}}}`,
		got:  `{"Resources":{"R":{"Type":"AWS::IAM::Role","Properties":{"Arns":["a","new","b","d"],"S":[{"Action":"y","Effect":"Allow"}]}}}}`,
		diff: `R (AWS::IAM::Role): Properties.Arns[1]: (absent) → "new"
R (AWS::IAM::Role): Properties.Arns[2]: "c" → (absent)
R (AWS::IAM::Role): Properties.S[0].Action: "x" → "y"
`,
	}, {
		name: "type changed, value changed kind",
		want: `{"Resources":{"R":{"Type":"AWS::SQS::Queue","Properties":{"V":{"Ref":"X"}}}}}`,
		got:  `{"Resources":{"R":{"Type":"AWS::SNS::Topic","Properties":{"V":"literal"}}}}`,
		diff: `R (AWS::SNS::Topic): Properties.V: {"Ref":"X"} → "literal"
R (AWS::SNS::Topic): Type: "AWS::SQS::Queue" → "AWS::SNS::Topic"
`,
	}, {
		name: "other sections and top-level keys, in order",
		want: `{"Description":"old","Outputs":{"Url":{"Value":"a"}},"Parameters":{"P":{"Type":"String"}},"Resources":{}}`,
		got:  `{"Description":"new","Outputs":{"Url":{"Value":"b"},"Arn":{"Value":"c"}},"Resources":{},"Transform":"AWS::Serverless-2016-10-31"}`,
		diff: `Outputs.Arn: added
Outputs.Url: Value: "a" → "b"
Parameters.P: removed
Description: "old" → "new"
Transform: (absent) → "AWS::Serverless-2016-10-31"
`,
	}, {
		name: "long value shortened",
		want: `{"Resources":{"R":{"Type":"T","Properties":{"Code":"short"}}}}`,
		got:  `{"Resources":{"R":{"Type":"T","Properties":{"Code":"` + strings.Repeat("x", 300) + `"}}}}`,
		diff: `R (T): Properties.Code: "short" → "` + strings.Repeat("x", maxValue-2) + "…\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff, err := Diff([]byte(tt.want), []byte(tt.got))
			if err != nil {
				t.Fatalf("Diff error: %v", err)
			}
			if diff != tt.diff {
				t.Errorf("Diff(%s, %s) =\n%s\nwant\n%s", tt.want, tt.got, diff, tt.diff)
			}
		})
	}
}

func TestDiffErrors(t *testing.T) {
	if _, err := Diff([]byte(`{`), []byte(`{}`)); err == nil || !strings.HasPrefix(err.Error(), "want: ") {
		t.Errorf("Diff(bad, good) error = %v, want one about want", err)
	}
	if _, err := Diff([]byte(`{}`), []byte(`[]`)); err == nil || !strings.HasPrefix(err.Error(), "got: ") {
		t.Errorf("Diff(good, bad) error = %v, want one about got", err)
	}
}
