package snapshot

import (
	"strings"
	"testing"
)

// Two asset hashes, as aws-cdk-lib writes them: 64 lower-case hex digits.
var (
	hashA = strings.Repeat("ab", 32)
	hashB = strings.Repeat("c0", 32)
)

// canonical re-encodes a compact JSON literal the way Normalize writes its output.
func canonical(t *testing.T, s string) string {
	t.Helper()
	doc, err := decode([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	b, err := encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNormalize(t *testing.T) {
	r := strings.NewReplacer("HASH_A", hashA, "HASH_B", hashB)
	tests := []struct {
		name, in, want string
	}{{
		name: "asset hash in an S3 key and the bootstrap bucket's qualifier",
		in:   `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Bucket":{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"S3Key":"HASH_A.zip"}}}}}`,
		want: `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Bucket":{"Fn::Sub":"cdk-<qualifier>-assets-${AWS::AccountId}-${AWS::Region}"},"S3Key":"<asset-hash>.zip"}}}}}`,
	}, {
		name: "nested stack template URL, container image tag, concrete environment",
		in:   `{"Resources":{"N":{"Properties":{"TemplateURL":{"Fn::Join":["",["https://s3.",{"Ref":"AWS::Region"},"/","/HASH_B.json"]]},"Image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-custom1-container-assets-123456789012-eu-west-1:HASH_A"}}}}`,
		want: `{"Resources":{"N":{"Properties":{"TemplateURL":{"Fn::Join":["",["https://s3.",{"Ref":"AWS::Region"},"/","/<asset-hash>.json"]]},"Image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-<qualifier>-container-assets-123456789012-eu-west-1:<asset-hash>"}}}}`,
	}, {
		name: "hex that is content stays: pinned digest, longer run, part of a word",
		in:   `{"Resources":{"X":{"Properties":{"Image":"public.ecr.aws/x/y@sha256:HASH_A","Long":"HASH_Af","Word":"gHASH_B"}}}}`,
		want: `{"Resources":{"X":{"Properties":{"Image":"public.ecr.aws/x/y@sha256:HASH_A","Long":"HASH_Af","Word":"gHASH_B"}}}}`,
	}, {
		name: "version reporting resource and its condition",
		in:   `{"Resources":{"CDKMetadata":{"Type":"AWS::CDK::Metadata","Properties":{"Analytics":"v2:deflate64:H4sI"},"Condition":"CDKMetadataAvailable"},"Q":{"Type":"AWS::SQS::Queue","Condition":"IsProd"}},"Conditions":{"CDKMetadataAvailable":{"Fn::Equals":[{"Ref":"AWS::Region"},"us-east-1"]},"IsProd":{"Fn::Equals":["a","a"]}}}`,
		want: `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Condition":"IsProd"}},"Conditions":{"IsProd":{"Fn::Equals":["a","a"]}}}`,
	}, {
		name: "version reporting condition that something else uses stays",
		in:   `{"Resources":{"CDKMetadata":{"Type":"AWS::CDK::Metadata","Condition":"CDKMetadataAvailable"},"Q":{"Type":"AWS::SQS::Queue","Condition":"CDKMetadataAvailable"}},"Conditions":{"CDKMetadataAvailable":{"Fn::Equals":["a","a"]}}}`,
		want: `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Condition":"CDKMetadataAvailable"}},"Conditions":{"CDKMetadataAvailable":{"Fn::Equals":["a","a"]}}}`,
	}, {
		name: "bootstrap version check, leaving other parameters",
		in:   `{"Parameters":{"BootstrapVersion":{"Type":"AWS::SSM::Parameter::Value<String>","Default":"/cdk-bootstrap/hnb659fds/version"},"Stage":{"Type":"String"}},"Rules":{"CheckBootstrapVersion":{"Assertions":[{"Assert":{"Fn::Not":[{"Fn::Contains":[["1","2"],{"Ref":"BootstrapVersion"}]}]}}]}},"Resources":{}}`,
		want: `{"Parameters":{"Stage":{"Type":"String"}},"Resources":{}}`,
	}, {
		name: "bootstrap parameter path with a custom qualifier, when the parameter stays",
		in:   `{"Parameters":{"BootstrapVersion":{"Type":"String","Default":"/cdk-bootstrap/myqual/version"}},"Outputs":{"V":{"Value":{"Ref":"BootstrapVersion"}}}}`,
		want: `{"Parameters":{"BootstrapVersion":{"Type":"String","Default":"/cdk-bootstrap/<qualifier>/version"}},"Outputs":{"V":{"Value":{"Ref":"BootstrapVersion"}}}}`,
	}, {
		name: "asset metadata, and metadata that held nothing else",
		in:   `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Metadata":{"aws:cdk:path":"S/Fn/Resource","aws:asset:path":"asset.HASH_A","aws:asset:is-bundled":false,"aws:asset:property":"Code"}},"N":{"Type":"AWS::CloudFormation::Stack","Metadata":{"aws:asset:path":"SN1234.nested.template.json","aws:asset:property":"TemplateURL"}},"E":{"Type":"AWS::SQS::Queue","Metadata":{}}}}`,
		want: `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Metadata":{"aws:cdk:path":"S/Fn/Resource"}},"N":{"Type":"AWS::CloudFormation::Stack"},"E":{"Type":"AWS::SQS::Queue","Metadata":{}}}}`,
	}, {
		name: "aws:cdk:version anywhere",
		in:   `{"Metadata":{"aws:cdk:version":"2.276.0"},"Resources":{"Q":{"Type":"AWS::SQS::Queue","Metadata":{"aws:cdk:version":"2.276.0","owner":"me"}}}}`,
		want: `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Metadata":{"owner":"me"}}}}`,
	}, {
		name: "function version logical ID, references and exports",
		in: `{"Resources":{"FnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b":{"Type":"AWS::Lambda::Version"},"Live":{"Type":"AWS::Lambda::Alias","Properties":{"FunctionVersion":{"Fn::GetAtt":["FnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b","Version"]}},"DependsOn":["FnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b"]}},` +
			`"Outputs":{"ExportsOutputRefFnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b20CA31B4":{"Value":{"Ref":"FnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b"},"Export":{"Name":"S:ExportsOutputRefFnCurrentVersion17A89ABB3af4c6891378e8453e7a2fa222a4a86b20CA31B4"}}}}`,
		want: `{"Resources":{"FnCurrentVersion17A89ABB<version-hash>":{"Type":"AWS::Lambda::Version"},"Live":{"Type":"AWS::Lambda::Alias","Properties":{"FunctionVersion":{"Fn::GetAtt":["FnCurrentVersion17A89ABB<version-hash>","Version"]}},"DependsOn":["FnCurrentVersion17A89ABB<version-hash>"]}},` +
			`"Outputs":{"ExportsOutputRefFnCurrentVersion17A89ABB<version-hash>":{"Value":{"Ref":"FnCurrentVersion17A89ABB<version-hash>"},"Export":{"Name":"S:ExportsOutputRefFnCurrentVersion17A89ABB<version-hash>"}}}}`,
	}, {
		name: "legacy asset parameters, numbered in the order resources refer to them",
		in: `{"Parameters":{"AssetParametersHASH_AS3Bucket1F7EAA96":{"Type":"String","Description":"S3 bucket for asset \"HASH_A\""},"AssetParametersHASH_BS3BucketB1D31DCA":{"Type":"String"},"AssetParametersHASH_BArtifactHash0BED0B29":{"Type":"String"}},` +
			`"Resources":{"A":{"Properties":{"Bucket":{"Ref":"AssetParametersHASH_BS3BucketB1D31DCA"}}},"B":{"Properties":{"Bucket":{"Ref":"AssetParametersHASH_AS3Bucket1F7EAA96"}}}}}`,
		want: `{"Parameters":{"AssetParameters<asset-2>S3Bucket":{"Type":"String","Description":"S3 bucket for asset \"<asset-hash>\""},"AssetParameters<asset-1>S3Bucket":{"Type":"String"},"AssetParameters<asset-1>ArtifactHash":{"Type":"String"}},` +
			`"Resources":{"A":{"Properties":{"Bucket":{"Ref":"AssetParameters<asset-1>S3Bucket"}}},"B":{"Properties":{"Bucket":{"Ref":"AssetParameters<asset-2>S3Bucket"}}}}}`,
	}, {
		name: "numbers as written, no HTML escaping",
		in:   `{"Resources":{"X":{"Properties":{"Half":0.5,"Big":12345678901234567890,"Exp":1e3,"Text":"<&>"}}}}`,
		want: `{"Resources":{"X":{"Properties":{"Half":0.5,"Big":12345678901234567890,"Exp":1e3,"Text":"<&>"}}}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := r.Replace(tt.in)
			got, err := Normalize([]byte(in))
			if err != nil {
				t.Fatalf("Normalize(%s) error: %v", in, err)
			}
			if want := canonical(t, r.Replace(tt.want)); string(got) != want {
				t.Errorf("Normalize(%s) =\n%s\nwant\n%s", in, got, want)
			}
			again, err := Normalize(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("Normalize is not idempotent: Normalize(%s) = %s, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeFormat(t *testing.T) {
	got, err := Normalize([]byte(`{"b":{"z":[1,{"y":true,"x":null}],"a":"s"},"a":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "a": {},
  "b": {
    "a": "s",
    "z": [
      1,
      {
        "x": null,
        "y": true
      }
    ]
  }
}
`
	if string(got) != want {
		t.Errorf("Normalize = %q, want %q (sorted keys, two-space indent, trailing newline)", got, want)
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `null`, `{"a":1} {}`, `{"a":`} {
		if got, err := Normalize([]byte(in)); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", in, got)
		}
	}
}
