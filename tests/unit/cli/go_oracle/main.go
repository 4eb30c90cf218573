// The Go oracle for sampan's template engine: runs every case of gotemplate_cases.json
// through Go's own text/template, with functions that behave as the docker CLI's
// (templates/templates.go), and prints the cases whose recorded output differs.
//
//	cd tests/unit/cli/go_oracle && go run . ../gotemplate_cases.json          # check
//	cd tests/unit/cli/go_oracle && go run . -update ../gotemplate_cases.json  # record Go's answers
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"
)

type Case struct {
	T          string  `json:"t"`
	Data       string  `json:"data"`
	MissingKey bool    `json:"missingkey,omitempty"`
	Want       *string `json:"want"`
	Err        *string `json:"err"`
	Note       string  `json:"note,omitempty"`
	Sampan     *string `json:"sampan,omitempty"` // where sampan means to differ from this Go (see note)
}

// A docker-style --format over rows: `table` gives a header row and tabwriter columns.
type Table struct {
	Format string  `json:"format"`
	Rows   string  `json:"rows"`   // a data entry holding a list of rows
	Header string  `json:"header"` // a data entry holding the column names
	Want   *string `json:"want"`
	Err    *string `json:"err"`
}

type File struct {
	Data   map[string]json.RawMessage `json:"data"`
	Cases  []Case                     `json:"cases"`
	Tables []Table                    `json:"tables"`
}

// headerContext is the docker CLI's SubHeaderContext: a map with a Label method
type headerContext map[string]string

func (headerContext) Label(name string) string {
	n := strings.Split(name, ".")
	return strings.NewReplacer("-", " ", "_", " ").Replace(n[len(n)-1])
}

var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v string, _ string) string { return v },
	"join":     func(v string, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

func templateString(f string) string {
	switch f {
	case "table":
		return ""
	case "json":
		return "{{json .}}"
	}
	f = strings.TrimPrefix(f, "table")
	f = strings.Trim(f, " ")
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f)
}

func runTable(f *File, t Table) (string, string) {
	tmpl, err := template.New("").Funcs(funcs).Parse(templateString(t.Format))
	if err != nil {
		return "", "template parsing error: " + err.Error()
	}
	rows := decode(f.Data[t.Rows]).([]any)
	buf := &bytes.Buffer{}
	for _, r := range rows {
		if err := tmpl.Execute(buf, r); err != nil {
			return "", "template parsing error: " + err.Error()
		}
		buf.WriteString("\n")
	}
	if !strings.HasPrefix(t.Format, "table") {
		return buf.String(), ""
	}
	h := headerContext{}
	for k, v := range decode(f.Data[t.Header]).(map[string]any) {
		h[k] = v.(string)
	}
	out := &bytes.Buffer{}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	_ = tmpl.Funcs(headerFuncs).Execute(tw, h)
	tw.Write([]byte{'\n'})
	buf.WriteTo(tw)
	tw.Flush()
	return out.String(), ""
}

// numbers: ints stay ints (as Python's json gives them), others float64
func decode(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	return fix(v)
}

func fix(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fix(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fix(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		buf := &bytes.Buffer{}
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join": func(elems any, sep string) (string, error) {
		if elems == nil {
			return "", nil
		}
		if ss, ok := elems.([]string); ok {
			return strings.Join(ss, sep), nil
		}
		rv := reflect.ValueOf(elems)
		switch rv.Kind() {
		case reflect.Array, reflect.Slice:
			parts := make([]string, rv.Len())
			for i := range parts {
				parts[i] = fmt.Sprint(rv.Index(i).Interface())
			}
			return strings.Join(parts, sep), nil
		case reflect.Map:
			var parts []string
			for _, k := range rv.MapKeys() {
				parts = append(parts, fmt.Sprint(rv.MapIndex(k).Interface()))
			}
			sort.Strings(parts)
			return strings.Join(parts, sep), nil
		}
		return "", fmt.Errorf("expected slice, got %T", elems)
	},
	"title": strings.Title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, prefix, suffix int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
	},
	"truncate": func(s string, n int) string {
		if len(s) < n {
			return s
		}
		return s[:n]
	},
}

func run(f *File, c Case) (out string, errText string) {
	tmpl, err := template.New("").Funcs(funcs).Parse(c.T)
	if err != nil {
		return "", err.Error()
	}
	if c.MissingKey {
		tmpl = tmpl.Option("missingkey=error")
	}
	var data any
	if c.Data != "" {
		data = decode(f.Data[c.Data])
	}
	buf := &bytes.Buffer{}
	if err := tmpl.Execute(buf, data); err != nil {
		return "", err.Error()
	}
	return buf.String(), ""
}

func main() {
	update := len(os.Args) > 2 && os.Args[1] == "-update"
	path := os.Args[len(os.Args)-1]
	raw, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var f File
	if err := json.Unmarshal(raw, &f); err != nil {
		panic(err)
	}
	bad := 0
	for i, c := range f.Cases {
		out, e := run(&f, c)
		var want, werr string
		if c.Want != nil {
			want = *c.Want
		}
		if c.Err != nil {
			werr = *c.Err
		}
		if out != want || e != werr {
			bad++
			fmt.Printf("case %d %q\n  go:     out=%q err=%q\n  stored: out=%q err=%q\n", i, c.T, out, e, want, werr)
		}
		if update {
			o, er := out, e
			f.Cases[i].Want, f.Cases[i].Err = &o, nil
			if er != "" {
				f.Cases[i].Want, f.Cases[i].Err = nil, &er
			}
		}
	}
	for i, t := range f.Tables {
		out, e := runTable(&f, t)
		var want, werr string
		if t.Want != nil {
			want = *t.Want
		}
		if t.Err != nil {
			werr = *t.Err
		}
		if out != want || e != werr {
			bad++
			fmt.Printf("table %d %q\n  go:     out=%q err=%q\n  stored: out=%q err=%q\n", i, t.Format, out, e, want, werr)
		}
		if update {
			o, er := out, e
			f.Tables[i].Want, f.Tables[i].Err = &o, nil
			if er != "" {
				f.Tables[i].Want, f.Tables[i].Err = nil, &er
			}
		}
	}
	if update {
		b, _ := json.MarshalIndent(f, "", "  ")
		os.WriteFile(path, append(b, '\n'), 0o644)
	}
	fmt.Printf("%d cases, %d tables, %d differ\n", len(f.Cases), len(f.Tables), bad)
	if bad > 0 && !update {
		os.Exit(1)
	}
}
