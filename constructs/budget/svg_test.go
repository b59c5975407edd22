package budget

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// figures parses svg as XML and returns the figure of every bar part (rect) and every
// bracket and legend line (g), by its data-figure.
func figures(t *testing.T, svg string) (parts, labelled map[string]int, text string) {
	t.Helper()
	parts, labelled = map[string]int{}, map[string]int{}
	dec := xml.NewDecoder(strings.NewReader(svg))
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			var figure, value string
			for _, a := range e.Attr {
				switch a.Name.Local {
				case "data-figure":
					figure = a.Value
				case "data-value":
					value = a.Value
				}
			}
			if figure == "" {
				continue
			}
			n, err := strconv.Atoi(value)
			if err != nil {
				t.Fatalf("%s: data-value %q", figure, value)
			}
			if e.Name.Local == "rect" {
				parts[figure] = n
			} else {
				labelled[figure] = n
			}
		case xml.CharData:
			b.Write(e)
		}
	}
	return parts, labelled, b.String()
}

func TestSVG(t *testing.T) {
	direct := exampleConfig()
	direct.Proxy, direct.BorrowTimeoutSeconds = false, 0
	many := exampleConfig()
	many.Functions, many.Database = nil, "db <one> & \"two\""
	for i := range 30 {
		many.Functions = append(many.Functions, Function{Name: fmt.Sprintf("fn%02d", i), Weight: 1 + i%3})
	}
	for _, c := range []Config{exampleConfig(), direct, many} {
		r := mustCompute(t, c)
		parts, labelled, text := figures(t, r.SVG())
		want := map[string]int{"headroom": r.Headroom, "engine-reserved": r.ReservedConnections, "spare": r.Spare, "usable": r.Usable}
		if r.Proxy {
			want["proxy"] = r.ProxyConnections
		}
		rest, drawn := 0, 0
		for i, a := range r.Functions {
			if _, ok := parts["function "+a.Name]; ok {
				want["function "+a.Name] = a.Connections
				drawn++
			} else {
				rest += a.Connections
				if i < maxDrawn && len(r.Functions) <= maxDrawn+1 {
					t.Errorf("function %s is not drawn", a.Name)
				}
			}
		}
		if rest > 0 {
			want["other functions"] = rest
		}
		if drawn > maxDrawn {
			t.Errorf("%d functions drawn one by one, want at most %d", drawn, maxDrawn)
		}
		for figure, v := range want {
			got, ok := parts[figure]
			if !ok {
				got, ok = labelled[figure]
			}
			if !ok || got != v {
				t.Errorf("%s: figure %q = %d (present: %v), want %d", r.Database, figure, got, ok, v)
			}
			if lv, ok := labelled[figure]; ok && lv != v {
				t.Errorf("%s: legend of %q says %d, want %d", r.Database, figure, lv, v)
			}
		}
		// The bar is max_connections, split without a gap.
		sum := 0
		for _, v := range parts {
			sum += v
		}
		if sum != r.MaxConnections {
			t.Errorf("%s: the bar's parts add up to %d, want max_connections %d", r.Database, sum, r.MaxConnections)
		}
		for _, s := range []string{fmt.Sprintf("max_connections %d", r.MaxConnections), fmt.Sprintf("usable %d", r.Usable),
			fmt.Sprintf("headroom: %d", r.Headroom)} {
			if !strings.Contains(text, s) {
				t.Errorf("%s: the picture does not say %q", r.Database, s)
			}
		}
	}
}
