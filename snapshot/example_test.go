package snapshot_test

import (
	"fmt"

	"github.com/lambdards/lambdards/snapshot"
)

// ExampleNormalize shows what a golden file keeps of a template: the asset hash and the
// CDK metadata, which differ between machines, are gone.
func ExampleNormalize() {
	template := []byte(`{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Key":"` +
		`0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zip"}}},` +
		`"CDKMetadata":{"Type":"AWS::CDK::Metadata","Properties":{"Analytics":"v2:deflate64:..."}}}}`)
	out, err := snapshot.Normalize(template)
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(string(out))
	// Output:
	// {
	//   "Resources": {
	//     "Fn": {
	//       "Properties": {
	//         "Code": {
	//           "S3Key": "<asset-hash>.zip"
	//         }
	//       },
	//       "Type": "AWS::Lambda::Function"
	//     }
	//   }
	// }
}

// ExampleDiff reports what changed between a golden template and a new one.
func ExampleDiff() {
	want := []byte(`{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":256}}}}`)
	got := []byte(`{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":512}}}}`)
	d, err := snapshot.Diff(want, got)
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(d)
	// Output:
	// Fn (AWS::Lambda::Function): Properties.MemorySize: 256 → 512
}
