package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeListsEveryKey keeps README's table of context keys equal to Keys.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "<!-- context-keys:start -->\n")
	end := strings.Index(readme, "<!-- context-keys:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no context-keys markers")
	}
	got := readme[start+len("<!-- context-keys:start -->\n") : end]
	if want := keysTable(); got != want {
		t.Errorf("README.md's context keys table is out of date; want:\n%s", want)
	}
}

// keysTable renders Keys as README's Markdown table.
func keysTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	for _, k := range Keys {
		def := "(none)"
		switch {
		case k.Default != "":
			def = "`" + k.Default + "`"
		case strings.Contains(k.Doc, "default:"):
			def = "(derived)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Name, def, k.Doc)
	}
	return b.String()
}
