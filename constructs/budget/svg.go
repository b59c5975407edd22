package budget

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"slices"
	"text/template"
)

// SVG draws how the budget splits max_connections, as a standalone SVG image: one bar
// as wide as max_connections, cut into each function's connections, the spare
// connections, what the proxy's rounding leaves unused, the headroom and the
// engine-reserved slots, with the proxy's share and the usable connections bracketed
// above it and a legend below. Each part carries its figure in data-figure and data-value
// attributes. The output depends only on r.
func (r *Result) SVG() string {
	parts := r.parts()
	const x0, width = 20.0, 760.0
	scale := width / float64(max(r.MaxConnections, 1))
	x := x0
	for i := range parts {
		parts[i].X, parts[i].W = x, float64(parts[i].Value)*scale
		x += parts[i].W
	}
	d := svgData{Title: fmt.Sprintf("max_connections %d: %s", r.MaxConnections, r.Database), Parts: parts,
		MaxConnections: r.MaxConnections, Height: 196 + 22*len(parts)}
	for i := range d.Parts {
		d.Parts[i].LegendY = 184 + 22*i
		// A figure is written on its part when it fits (about 8 pixels a digit).
		d.Parts[i].Inside = d.Parts[i].W >= float64(8*len(fmt.Sprint(d.Parts[i].Value))+8)
		d.Parts[i].Ink = "#ffffff"
		if light[d.Parts[i].Color] {
			d.Parts[i].Ink = "#333333"
		}
	}
	usable := x0 + float64(r.Usable)*scale
	d.Brackets = append(d.Brackets, bracket{Figure: "usable", Value: r.Usable, X1: x0, X2: usable, Y: 58,
		Label: fmt.Sprintf("usable %d = %d − %d engine-reserved − %d headroom", r.Usable, r.MaxConnections, r.ReservedConnections, r.Headroom)})
	if r.Proxy {
		d.Brackets = append(d.Brackets, bracket{Figure: "proxy", Value: r.ProxyConnections, X1: x0, X2: x0 + float64(r.ProxyConnections)*scale, Y: 84,
			Label: fmt.Sprintf("RDS Proxy's share %d (MaxConnectionsPercent %d %%)", r.ProxyConnections, r.ProxyMaxConnectionsPercent)})
	} else {
		d.Brackets[0].Label += ", all of it the functions' (no proxy)"
	}
	var b bytes.Buffer
	if err := svgTemplate.Execute(&b, d); err != nil {
		panic(err) // the template and its data are ours
	}
	return b.String()
}

// light are the fills a figure is written on in dark ink.
var light = map[string]bool{"#aec7e8": true, "#d9f0d3": true, "#eeeeee": true}

// maxDrawn is how many functions the picture draws one by one; the others share a part.
const maxDrawn = 8

// part is one part of the bar and its line of the legend.
type part struct {
	Figure, Label, Color string
	Ink                  string // the colour of a figure written on the part
	Value                int
	X, W                 float64
	LegendY              int
	Inside               bool // the figure is written on the part
}

// parts cuts max_connections into what the picture draws, left to right.
func (r *Result) parts() []part {
	palette := []string{"#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#e377c2", "#7f7f7f"}
	fns := slices.Clone(r.Functions)
	slices.SortStableFunc(fns, func(a, b Allocation) int { return cmp.Compare(b.Connections, a.Connections) })
	var out []part
	for i, a := range fns {
		if i == maxDrawn && len(fns) > maxDrawn+1 {
			rest := 0
			for _, o := range fns[i:] {
				rest += o.Connections
			}
			out = append(out, part{Figure: "other functions", Value: rest, Color: "#aec7e8",
				Label: fmt.Sprintf("%d more functions: %d connections", len(fns)-i, rest)})
			break
		}
		out = append(out, part{Figure: "function " + a.Name, Value: a.Connections, Color: palette[i%len(palette)],
			Label: fmt.Sprintf("%s: %d connections (reserved concurrency %d × %d per environment)", a.Name, a.Connections,
				a.ReservedConcurrency, a.ConnectionsPerEnvironment)})
	}
	out = append(out, part{Figure: "spare", Value: r.Spare, Color: "#d9f0d3",
		Label: fmt.Sprintf("spare: %d of the %d available to functions", r.Spare, r.Available)})
	if gap := r.Usable - r.Available; gap > 0 {
		out = append(out, part{Figure: "outside the proxy's share", Value: gap, Color: "#eeeeee",
			Label: fmt.Sprintf("usable but outside the proxy's share (its whole percentage rounds down): %d", gap)})
	}
	return append(out,
		part{Figure: "headroom", Value: r.Headroom, Color: "#ff7f0e",
			Label: fmt.Sprintf("headroom: %d for admins, migrations, rotation, monitoring", r.Headroom)},
		part{Figure: "engine-reserved", Value: r.ReservedConnections, Color: "#555555",
			Label: fmt.Sprintf("engine-reserved: %d for superusers and AWS automation", r.ReservedConnections)})
}

// bracket spans the parts that make up a figure, above the bar.
type bracket struct {
	Figure, Label string
	Value         int
	X1, X2        float64
	Y             int
}

type svgData struct {
	Title          string
	Parts          []part
	Brackets       []bracket
	MaxConnections int
	Height         int
}

var svgTemplate = template.Must(template.New("svg").Funcs(template.FuncMap{
	"x": func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	},
	"f":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"half": func(v float64) float64 { return v / 2 },
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="800" height="{{.Height}}" viewBox="0 0 800 {{.Height}}" font-family="Helvetica, Arial, sans-serif" font-size="13">
<title>{{x .Title}}</title>
<rect width="800" height="{{.Height}}" fill="#ffffff"/>
<text x="20" y="24" font-size="15" font-weight="bold">{{x .Title}}</text>
{{range .Brackets}}<g data-figure="{{x .Figure}}" data-value="{{.Value}}">
<path d="M{{f .X1}},{{.Y}} v6 H{{f .X2}} v-6" fill="none" stroke="#333333"/>
<text x="{{f .X1}}" y="{{.Y}}" dy="-4">{{x .Label}}</text>
</g>
{{end}}<g stroke="#ffffff" stroke-width="1">
{{range .Parts}}<rect data-figure="{{x .Figure}}" data-value="{{.Value}}" x="{{f .X}}" y="100" width="{{f .W}}" height="48" fill="{{.Color}}"><title>{{x .Label}}</title></rect>
{{end}}</g>
{{range .Parts}}{{if .Inside}}<text x="{{f .X}}" dx="{{f (half .W)}}" y="129" text-anchor="middle" fill="{{.Ink}}" font-weight="bold">{{.Value}}</text>
{{end}}{{end}}<text x="20" y="164" font-size="11" fill="#555555">0</text>
<text x="780" y="164" font-size="11" fill="#555555" text-anchor="end">max_connections {{.MaxConnections}}</text>
{{range .Parts}}<g data-figure="{{x .Figure}}" data-value="{{.Value}}">
<rect x="20" y="{{.LegendY}}" width="14" height="14" fill="{{.Color}}" stroke="#999999"/>
<text x="42" y="{{.LegendY}}" dy="12">{{x .Label}}</text>
</g>
{{end}}</svg>
`))
