package stacks

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/constructs/monitoring"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's generated tables")

// TestReadmeListsEveryKey keeps README's tables of context keys and presets equal to
// Keys and Presets; -update-readme rewrites them.
func TestReadmeListsEveryKey(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if *updateReadme {
		readme = replaceBetween(t, readme, "context-keys", keysTable())
		readme = replaceBetween(t, readme, "presets", presetsTable())
		readme = replaceBetween(t, readme, "alarms", alarmsTable())
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := strings.Index(readme, "<!-- context-keys:start -->\n")
	end := strings.Index(readme, "<!-- context-keys:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no context-keys markers")
	}
	got := readme[start+len("<!-- context-keys:start -->\n") : end]
	if want := keysTable(); got != want {
		t.Errorf("README.md's context keys table is out of date; want:\n%s", want)
	}
	start = strings.Index(readme, "<!-- presets:start -->\n")
	end = strings.Index(readme, "<!-- presets:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no presets markers")
	}
	if got, want := readme[start+len("<!-- presets:start -->\n"):end], presetsTable(); got != want {
		t.Errorf("README.md's presets table is out of date; want:\n%s", want)
	}
	start = strings.Index(readme, "<!-- alarms:start -->\n")
	end = strings.Index(readme, "<!-- alarms:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no alarms markers")
	}
	if got, want := readme[start+len("<!-- alarms:start -->\n"):end], alarmsTable(); got != want {
		t.Errorf("README.md's alarms table is out of date; want:\n%s", want)
	}
}

// alarmsTable renders monitoring.Kinds as README's Markdown table.
func alarmsTable() string {
	var b strings.Builder
	b.WriteString("| alarm | fires when | threshold: the budget's figure | missing data | what to do |\n|---|---|---|---|---|\n")
	for _, k := range monitoring.Kinds {
		fmt.Fprintf(&b, "| `%s` (%s) | %s %s | %s | %s | %s |\n", k.ID, k.When, k.Metric, k.Condition, k.Threshold, k.Missing, k.Action)
	}
	return b.String()
}

// keysTable renders Keys as README's Markdown table.
func keysTable() string {
	var b strings.Builder
	b.WriteString("| key | default (dev) | meaning |\n|---|---|---|\n")
	for _, k := range Keys {
		def := "(none)"
		if v, ok := Presets["dev"][k.Name]; ok {
			def = "`" + v + "`"
		} else if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		switch {
		case def != "(none)":
		case strings.Contains(k.Doc, "default:"):
			def = "(derived)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Name, def, k.Doc)
	}
	return b.String()
}

// presetsTable renders what each preset sets, side by side, for every key some preset sets.
func presetsTable() string {
	var b strings.Builder
	b.WriteString("| key |")
	for _, p := range PresetNames {
		fmt.Fprintf(&b, " `%s` |", p)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(PresetNames)) + "\n")
	for _, k := range Keys {
		set := false
		for _, p := range PresetNames {
			_, ok := Presets[p][k.Name]
			set = set || ok
		}
		if !set {
			continue
		}
		fmt.Fprintf(&b, "| `%s` |", k.Name)
		for _, p := range PresetNames {
			v, ok := Presets[p][k.Name]
			if !ok {
				v = k.Default
			}
			if v == "" {
				v = "(derived)"
			}
			fmt.Fprintf(&b, " %s |", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// replaceBetween replaces the text between <!-- name:start --> and <!-- name:end -->.
func replaceBetween(t *testing.T, doc, name, text string) string {
	t.Helper()
	start, end := "<!-- "+name+":start -->\n", "<!-- "+name+":end -->"
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s markers", name)
	}
	return doc[:i+len(start)] + text + doc[j:]
}
