package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Placeholders that Normalize writes in place of what varies between synths and machines.
const (
	// AssetHash stands for an asset's content hash, for example in an S3Key
	// "<asset-hash>.zip" or a nested stack's TemplateURL.
	AssetHash = "<asset-hash>"
	// VersionHash stands for the code-and-configuration hash that aws-cdk-lib appends to
	// the logical ID of a function's currentVersion.
	VersionHash = "<version-hash>"
	// Qualifier stands for the bootstrap qualifier in the names of bootstrap resources,
	// for example "cdk-<qualifier>-assets-${AWS::AccountId}-${AWS::Region}".
	Qualifier = "<qualifier>"
)

// Normalize returns template, a CloudFormation template in JSON, in the form golden files
// hold: what legitimately differs between two synths of the same code on two machines
// replaced or removed, keys sorted, two-space indent, a trailing newline.
//
// It replaces asset hashes (64 lower-case hex digits standing alone, as in S3 keys,
// TemplateURLs and container image tags) by AssetHash, the hash in a function's
// currentVersion logical ID by VersionHash, the bootstrap qualifier in bootstrap bucket,
// repository and role names by Qualifier, and numbers the asset parameters of
// LegacyStackSynthesizer (AssetParameters<asset-1>S3Bucket). It removes the
// AWS::CDK::Metadata resource and its CDKMetadataAvailable condition, the BootstrapVersion
// parameter and the CheckBootstrapVersion rule, "aws:asset:*" resource metadata and any
// "aws:cdk:version" key, and then any section left empty. A hash written as
// "sha256:<hex>", such as a pinned container image digest, is content and stays.
func Normalize(template []byte) ([]byte, error) {
	doc, err := decode(template)
	if err != nil {
		return nil, err
	}
	dropCDKMetadata(doc)
	dropBootstrapVersion(doc)
	numberLegacyAssetParameters(doc)
	doc = rewrite(doc).(map[string]any)
	for _, section := range []string{"Conditions", "Mappings", "Metadata", "Outputs", "Parameters", "Rules"} {
		if m, ok := doc[section].(map[string]any); ok && len(m) == 0 {
			delete(doc, section)
		}
	}
	return encode(doc)
}

// decode parses a template, keeping numbers as written.
func decode(template []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("template is not a JSON object: %v", err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("template has data after its JSON object")
	}
	if doc == nil {
		return nil, errors.New("template is null, not a JSON object")
	}
	return doc, nil
}

// encode writes v as stable JSON: sorted keys, two-space indent, trailing newline, and
// "<", ">" and "&" as themselves so that placeholders stay readable.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dropCDKMetadata removes the version-reporting resource, whose Analytics property encodes
// the aws-cdk-lib version and the constructs used, and its condition, whose region list
// grows with each aws-cdk-lib release.
func dropCDKMetadata(doc map[string]any) {
	resources, _ := doc["Resources"].(map[string]any)
	var conditions []string
	for id, r := range resources {
		r, _ := r.(map[string]any)
		if r["Type"] != "AWS::CDK::Metadata" {
			continue
		}
		delete(resources, id)
		if c, ok := r["Condition"].(string); ok {
			conditions = append(conditions, c)
		}
	}
	section, _ := doc["Conditions"].(map[string]any)
	for _, c := range conditions {
		if _, ok := section[c]; !ok {
			continue
		}
		body := section[c]
		delete(section, c)
		if mentions(doc, c) {
			section[c] = body
		}
	}
}

// dropBootstrapVersion removes the check that the target environment's bootstrap stack is
// recent enough: its version and wording change with aws-cdk-lib.
func dropBootstrapVersion(doc map[string]any) {
	if rules, ok := doc["Rules"].(map[string]any); ok {
		delete(rules, "CheckBootstrapVersion")
	}
	params, _ := doc["Parameters"].(map[string]any)
	if p, ok := params["BootstrapVersion"]; ok {
		delete(params, "BootstrapVersion")
		if mentions(doc, "BootstrapVersion") {
			params["BootstrapVersion"] = p
		}
	}
}

// mentions reports whether any string or key in v equals name.
func mentions(v any, name string) bool {
	switch v := v.(type) {
	case string:
		return v == name
	case map[string]any:
		for k, e := range v {
			if k == name || mentions(e, name) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if mentions(e, name) {
				return true
			}
		}
	}
	return false
}

// legacyParameter is the name LegacyStackSynthesizer gives an asset's parameters,
// AssetParameters<hash><kind><8 hex digits of a hash of the rest>, also found inside the
// names of the parameters that pass them on to a nested stack
// (referenceto<stack>AssetParameters...Ref).
var legacyParameter = regexp.MustCompile(`AssetParameters([0-9a-f]{64})(S3Bucket|S3VersionKey|ArtifactHash)[0-9A-F]{8}`)

// numberLegacyAssetParameters renames the parameters of LegacyStackSynthesizer
// (AssetParameters<hash>S3Bucket<suffix> and so on) to AssetParameters<asset-N>S3Bucket,
// numbering assets in the order the template mentions them: resources (sorted by logical
// ID), then outputs, then the rest. A single placeholder would make two assets'
// parameters collide.
func numberLegacyAssetParameters(doc map[string]any) {
	number := map[string]int{} // asset hash → N
	see := func(s string) {
		for _, m := range legacyParameter.FindAllStringSubmatch(s, -1) {
			if number[m[1]] == 0 {
				number[m[1]] = len(number) + 1
			}
		}
	}
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case string:
			see(v)
		case map[string]any:
			for _, k := range sortedKeys(v) {
				see(k)
				visit(v[k])
			}
		case []any:
			for _, e := range v {
				visit(e)
			}
		}
	}
	visit(doc["Resources"])
	visit(doc["Outputs"])
	visit(doc)
	if len(number) == 0 {
		return
	}
	rename := func(s string) string {
		return legacyParameter.ReplaceAllStringFunc(s, func(name string) string {
			m := legacyParameter.FindStringSubmatch(name)
			return fmt.Sprintf("AssetParameters<asset-%d>%s", number[m[1]], m[2])
		})
	}
	var replace func(v any) any
	replace = func(v any) any {
		switch v := v.(type) {
		case string:
			return rename(v)
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, e := range v {
				out[rename(k)] = replace(e)
			}
			return out
		case []any:
			for i, e := range v {
				v[i] = replace(e)
			}
		}
		return v
	}
	for k, e := range doc {
		doc[k] = replace(e)
	}
}

var (
	// versionID is the logical ID of a function's currentVersion: aws-cdk-lib appends an
	// MD5 of the function's code and configuration to the Version's logical ID, and an
	// export of it gets 8 more hex digits.
	versionID = regexp.MustCompile(`(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}(?:[0-9A-F]{8})?`)
	// bootstrapName is a name that embeds the bootstrap qualifier (default "hnb659fds").
	bootstrapName = regexp.MustCompile(`\bcdk-[a-z0-9]{1,10}-(assets|container-assets|deploy-role|cfn-exec-role|file-publishing-role|image-publishing-role|lookup-role)-`)
	bootstrapPath = regexp.MustCompile(`/cdk-bootstrap/[a-z0-9]{1,10}/`)
	hex64         = regexp.MustCompile(`[0-9a-f]{64}`)
)

// rewrite returns v with the string rules applied to every key and string and with
// metadata that only tools read removed.
func rewrite(v any) any {
	switch v := v.(type) {
	case string:
		return normalizeString(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if k == "aws:cdk:version" || strings.HasPrefix(k, "aws:asset:") {
				continue
			}
			e = rewrite(e)
			if m, ok := e.(map[string]any); ok && k == "Metadata" && len(m) == 0 && len(v[k].(map[string]any)) > 0 {
				continue // only asset metadata was there
			}
			out[normalizeString(k)] = e
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = rewrite(e)
		}
		return out
	}
	return v
}

func normalizeString(s string) string {
	s = versionID.ReplaceAllString(s, "${1}"+VersionHash)
	s = bootstrapName.ReplaceAllString(s, "cdk-"+Qualifier+"-${1}-")
	s = bootstrapPath.ReplaceAllString(s, "/cdk-bootstrap/"+Qualifier+"/")
	return replaceHashes(s)
}

// replaceHashes replaces each run of exactly 64 lower-case hex digits that no letter or
// digit touches, unless "sha256:" precedes it (a digest someone pinned on purpose).
func replaceHashes(s string) string {
	locs := hex64.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		i, j := loc[0], loc[1]
		if i > 0 && alnum(s[i-1]) || j < len(s) && alnum(s[j]) || strings.HasSuffix(s[:i], "sha256:") {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(AssetHash)
		last = j
	}
	b.WriteString(s[last:])
	return b.String()
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
