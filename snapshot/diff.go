package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sections are the template sections whose entries Diff reports one by one, in the order
// it reports them; other top-level keys follow in name order.
var sections = []string{"Resources", "Outputs", "Parameters", "Conditions", "Rules", "Mappings"}

// absent stands for a value that one side does not have.
const absent = "(absent)"

// maxValue is how many characters of a value a diff line shows.
const maxValue = 200

// Diff describes how template got differs from template want, both CloudFormation
// templates in JSON, one change a line in a stable order; it returns "" when they hold the
// same values. Resources come first, named by logical ID and type:
//
//	queueA2B3C4D5 (AWS::SQS::Queue): added
//	topicF00BA400 (AWS::SNS::Topic): removed
//	itemsFunction8D9000E0 (AWS::Lambda::Function): Properties.MemorySize: 256 → 512
//
// then outputs, parameters, conditions, rules and mappings, named by section and name
// ("Outputs.Url: added"), then any other top-level key ("Description: "a" → "b"").
// A changed value is shown by its JSON path and its old and new JSON, "(absent)" where a
// side has none. Lists are aligned on their longest common subsequence: an element that
// was inserted or dropped is reported alone, with its index in the new or old list.
func Diff(want, got []byte) (string, error) {
	a, err := decode(want)
	if err != nil {
		return "", fmt.Errorf("want: %v", err)
	}
	b, err := decode(got)
	if err != nil {
		return "", fmt.Errorf("got: %v", err)
	}
	var d differ
	done := map[string]bool{}
	for _, s := range sections {
		done[s] = true
		d.section(s, a[s], b[s])
	}
	for _, k := range union(a, b) {
		if !done[k] {
			x, inA := a[k]
			y, inB := b[k]
			d.walk("", step("", k), x, y, inA, inB)
		}
	}
	if len(d.lines) == 0 {
		return "", nil
	}
	return strings.Join(d.lines, "\n") + "\n", nil
}

type differ struct {
	lines []string
}

// section reports a section's added and removed entries by name and recurses into the
// entries on both sides.
func (d *differ) section(name string, a, b any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if a != nil && !aok || b != nil && !bok {
		d.walk("", name, a, b, a != nil, b != nil) // not a map: report it whole
		return
	}
	for _, k := range union(am, bm) {
		x, inA := am[k]
		y, inB := bm[k]
		subject := step(name, k)
		if name == "Resources" {
			subject = k + " (" + resourceType(x, y) + ")"
		}
		switch {
		case !inA:
			d.add(subject + ": added")
		case !inB:
			d.add(subject + ": removed")
		default:
			d.walk(subject, "", x, y, true, true)
		}
	}
}

// resourceType is a resource's type, preferring the new side's.
func resourceType(old, new any) string {
	for _, r := range []any{new, old} {
		if m, ok := r.(map[string]any); ok {
			if t, ok := m["Type"].(string); ok {
				return t
			}
		}
	}
	return "no type"
}

// walk reports the differences between a and b at path under subject; inA and inB say
// whether each side has a value at all.
func (d *differ) walk(subject, path string, a, b any, inA, inB bool) {
	if inA && inB {
		switch x := a.(type) {
		case map[string]any:
			if y, ok := b.(map[string]any); ok {
				for _, k := range union(x, y) {
					e, ea := x[k]
					f, fb := y[k]
					d.walk(subject, step(path, k), e, f, ea, fb)
				}
				return
			}
		case []any:
			if y, ok := b.([]any); ok {
				d.list(subject, path, x, y)
				return
			}
		}
		if reflect.DeepEqual(a, b) {
			return
		}
	}
	old, new := absent, absent
	if inA {
		old = render(a)
	}
	if inB {
		new = render(b)
	}
	line := path + ": " + old + " → " + new
	if subject != "" {
		line = subject + ": " + line
	}
	d.add(line)
}

// list aligns two lists on their longest common subsequence and reports the gaps: within
// a gap, removed and added elements are paired up and compared in place, and the rest are
// reported as dropped (old index) or inserted (new index).
func (d *differ) list(subject, path string, a, b []any) {
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if reflect.DeepEqual(a[i], b[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if i < len(a) && j < len(b) && reflect.DeepEqual(a[i], b[j]) {
			i, j = i+1, j+1
			continue
		}
		// Collect the gap up to the next common element.
		var gapA, gapB []int
		for i < len(a) || j < len(b) {
			if i < len(a) && j < len(b) && reflect.DeepEqual(a[i], b[j]) {
				break
			}
			if j == len(b) || i < len(a) && lcs[i+1][j] >= lcs[i][j+1] {
				gapA = append(gapA, i)
				i++
			} else {
				gapB = append(gapB, j)
				j++
			}
		}
		n := min(len(gapA), len(gapB))
		for k := 0; k < n; k++ {
			d.walk(subject, index(path, gapB[k]), a[gapA[k]], b[gapB[k]], true, true)
		}
		for _, x := range gapA[n:] {
			d.walk(subject, index(path, x), a[x], nil, true, false)
		}
		for _, y := range gapB[n:] {
			d.walk(subject, index(path, y), nil, b[y], false, true)
		}
	}
}

func (d *differ) add(line string) { d.lines = append(d.lines, line) }

// step appends key k to path: .Key, or ["key"] when the key holds characters that would
// make the path ambiguous. A path starts without the dot.
func step(path, k string) string {
	if k == "" || strings.ContainsAny(k, ".[]\" ") {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// render writes v as compact JSON, shortened to maxValue characters.
func render(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if utf8.RuneCountInString(s) > maxValue {
		r := []rune(s)
		s = string(r[:maxValue-1]) + "…"
	}
	return s
}

// union returns the keys of a and b, sorted.
func union(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
