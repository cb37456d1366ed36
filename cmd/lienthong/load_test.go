package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// No package of the module does work when it loads (issue 18, point 4):
// whatever a package computes as it initialises is paid by every run of
// lienthong, "edxml validate" as much as "serve" — gateway/web once made a
// bcrypt hash in a package-level var, 65-125 ms a run. TestNoLoadWork reads
// the source rather than timing the load, so that it says the same on a
// busy machine as on an idle one: it parses every non-test .go file of the
// module (testdata and vendor aside), whatever its build constraints, and
// fails on
//
//   - a func init(), and
//   - a package-level var whose initialiser calls anything but what
//     cheapCall allows: a few pure, cheap functions (loadCalls), the
//     builtins of loadBuiltins, and conversions to a type.
//
// A call inside a func literal is not made at load and is not looked at;
// a func literal that is called at once (var x = func() T {...}()) is a
// call and is flagged. Composite literals and constants are free.
// Work a package needs belongs in a constructor, or in a sync.OnceValue
// that the first use runs. The exceptions are few and named, each with
// why: cheapLoadWork (cheap, and staying) and knownLoadWork (to go).
func TestNoLoadWork(t *testing.T) {
	root := moduleRoot(t)
	var found []loadWork
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root {
				// The go tool builds none of these into the module.
				if name == "testdata" || name == "vendor" ||
					strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			pkg, err := loadWorkIn(root, path)
			found = append(found, pkg...)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, w := range found {
		if _, cheap := cheapLoadWork[w.key()]; cheap {
			seen[w.key()] = true
			continue
		}
		if reason, known := knownLoadWork[w.key()]; known {
			seen[w.key()] = true
			t.Logf("%s: %s\n\tknown: %s", w.pos, w.what, reason)
			continue
		}
		fix := "do it in a constructor, or lazily (sync.OnceValue); if the call is pure and " +
			"costs microseconds, allow it in loadCalls, saying why"
		if w.name == "init" {
			fix = "do its work in a constructor, or lazily (sync.OnceValue)"
		}
		t.Errorf("%s: %s\n\tdone each time the package loads, by every run of lienthong, "+
			"whatever the command (issue 18, no work at package load): %s", w.pos, w.what, fix)
	}
	for _, exceptions := range []map[string]string{cheapLoadWork, knownLoadWork} {
		for key := range exceptions {
			if !seen[key] {
				t.Errorf("%q is excepted from TestNoLoadWork but does no work at load any more: drop its entry", key)
			}
		}
	}
}

// The exceptions below are by file (slash-separated, from the module root)
// and var name. An entry that matches nothing fails the test, so that it is
// dropped when its work goes, or when a merge takes it away.

// cheapLoadWork is work at load that stays, since it is cheap: envelope's
// byte tables, filled by a loop of at most 256 turns and read byte by
// byte in the reader's hot loops, where calling a sync.OnceValue would
// cost, and a test fixture.
var cheapLoadWork = map[string]string{
	"envelope/blob.go: blobBytes":                    "256 bools from a 68-byte alphabet",
	"envelope/xmlread.go: nameBytes":                 "128 bools, the byte loop of name reads it",
	"envelope/xmlread.go: textClass":                 "256 bytes, the 8-bytes-at-a-time loop of text reads it",
	"gateway/internal/storetest/report.go: profiles": "23 short slices of a test fixture; only tests import storetest",
}

// knownLoadWork is work at load that is to go, with why it is still here:
// none now.
var knownLoadWork = map[string]string{}

// loadCalls are the functions a package-level var may call, by import path
// and name (a method called on a call's result: "path.F().M"), with why
// each is cheap. None does I/O; each costs microseconds at most.
var loadCalls = map[string]string{
	"errors.New":                  "allocates one error",
	"fmt.Errorf":                  "formats one error",
	"regexp.MustCompile":          "compiles a short pattern in microseconds; the usual idiom, failing at once on a bad pattern",
	"sync.OnceFunc":               "defers the work to the first call",
	"sync.OnceValue":              "defers the work to the first call",
	"sync.OnceValues":             "defers the work to the first call",
	"strings.NewReplacer":         "copies its arguments; the replacer is built at its first use",
	"strings.Repeat":              "one small allocation",
	"time.FixedZone":              "allocates one zone",
	"encoding/base32.NewEncoding": "fills a 256-byte decoding map",
	"encoding/base32.NewEncoding().WithPadding":              "copies the encoding",
	"github.com/prometheus/client_golang/prometheus.NewDesc": "checks a metric's name and labels and hashes them; the idiom for a collector's descriptions",
}

// loadBuiltins are the builtins a package-level var may call.
var loadBuiltins = map[string]bool{
	"new": true, "make": true, "len": true, "cap": true,
	"min": true, "max": true, "complex": true, "real": true, "imag": true,
}

// builtinTypes are the predeclared types, a call to which is a conversion.
var builtinTypes = map[string]bool{
	"any": true, "bool": true, "byte": true, "comparable": true, "error": true,
	"complex64": true, "complex128": true, "float32": true, "float64": true,
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"rune": true, "string": true, "uint": true, "uint8": true, "uint16": true,
	"uint32": true, "uint64": true, "uintptr": true,
}

// loadWork is one piece of work done at load.
type loadWork struct {
	file string // slash-separated, from the module root
	name string // the var's name, or "init"
	pos  token.Position
	what string
}

func (w loadWork) key() string { return w.file + ": " + w.name }

// loadWorkIn parses the non-test .go files of dir and returns the work
// they do at load.
func loadWorkIn(root, dir string) ([]loadWork, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	files := map[string][]*ast.File{} // by package name
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") ||
			strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if len(files[f.Name.Name]) == 0 {
			names = append(names, f.Name.Name)
		}
		files[f.Name.Name] = append(files[f.Name.Name], f)
	}
	var found []loadWork
	for _, pkg := range names {
		types := typeNames(files[pkg])
		for _, f := range files[pkg] {
			found = append(found, fileLoadWork(root, fset, f, types)...)
		}
	}
	return found, nil
}

// typeNames are the types a package declares at its top level.
func typeNames(files []*ast.File) map[string]bool {
	types := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					types[s.(*ast.TypeSpec).Name.Name] = true
				}
			}
		}
	}
	return types
}

// fileLoadWork returns the work f does at load.
func fileLoadWork(root string, fset *token.FileSet, f *ast.File, types map[string]bool) []loadWork {
	file := fset.Position(f.Pos()).Filename
	if rel, err := filepath.Rel(root, file); err == nil {
		file = filepath.ToSlash(rel)
	}
	imports := map[string]string{} // local name to path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		// The package's name is taken to be its path's last element
		// but a major version ("/v3"), and what precedes a dot in it
		// ("yaml.v3"); a package named otherwise is imported under that
		// name here, or its calls are flagged.
		elems := strings.Split(path, "/")
		name := elems[len(elems)-1]
		if len(elems) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
			name = elems[len(elems)-2]
		}
		name, _, _ = strings.Cut(name, ".")
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = path
	}
	var found []loadWork
	at := func(name string, n ast.Node, what string) {
		pos := fset.Position(n.Pos())
		pos.Filename = file
		found = append(found, loadWork{file: file, name: name, pos: pos, what: what})
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "init" {
				at("init", d, "func init()")
			}
		case *ast.GenDecl:
			if d.Tok != token.VAR {
				continue
			}
			for _, s := range d.Specs {
				spec := s.(*ast.ValueSpec)
				name := spec.Names[0].Name
				for i, v := range spec.Values {
					if i < len(spec.Names) {
						name = spec.Names[i].Name
					}
					ast.Inspect(v, func(n ast.Node) bool {
						switch n := n.(type) {
						case *ast.FuncLit:
							return false // its body runs when called, not at load
						case *ast.CallExpr:
							if !cheapCall(n, imports, types) {
								at(name, n, "var "+name+" = … "+exprText(fset, n))
								return false // the outermost call is enough
							}
						}
						return true
					})
				}
			}
		}
	}
	return found
}

// cheapCall says whether call is allowed in a package-level var: a
// conversion, an allowed builtin, or one of loadCalls. Conversions are
// recognised by syntax, without type-checking: a call to a type literal
// ([]byte(s), func()(nil)), to a predeclared type, to a type the package
// declares, or to a qualified name that loadTypes lists. A package-level
// var or func shadowing a predeclared name would fool it; none does.
func cheapCall(call *ast.CallExpr, imports map[string]string, types map[string]bool) bool {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // a generic type: T[int](x)
		fun = ix.X
	}
	if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	switch fun := fun.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType,
		*ast.InterfaceType, *ast.StructType, *ast.StarExpr:
		return true
	case *ast.Ident:
		return builtinTypes[fun.Name] || loadBuiltins[fun.Name] || types[fun.Name]
	case *ast.SelectorExpr:
		name := calledName(fun, imports)
		_, call := loadCalls[name]
		return call || loadTypes[name]
	}
	return false
}

// calledName names what a call to sel calls, for loadCalls and loadTypes:
// "path.F" for a function of an imported package, "path.F().M" for a
// method called on what a call to it returns, "" for anything else.
func calledName(sel *ast.SelectorExpr, imports map[string]string) string {
	switch x := ast.Unparen(sel.X).(type) {
	case *ast.Ident:
		if path, ok := imports[x.Name]; ok {
			return path + "." + sel.Sel.Name
		}
	case *ast.CallExpr:
		if inner, ok := ast.Unparen(x.Fun).(*ast.SelectorExpr); ok {
			if name := calledName(inner, imports); name != "" {
				return name + "()." + sel.Sel.Name
			}
		}
	}
	return "" // a method of a var, or of something else
}

// loadTypes are types of other packages a package-level var converts to.
var loadTypes = map[string]bool{
	"time.Duration": true,
}

// exprText is n as written, on one line.
func exprText(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		return fmt.Sprintf("%T", n)
	}
	s := []rune(strings.Join(strings.Fields(b.String()), " "))
	if len(s) > 100 {
		return string(s[:97]) + "..."
	}
	return string(s)
}

// moduleRoot is the module's root directory, two up from this package's.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(mod), "\n"), "module github.com/lienthong/lienthong") {
		t.Fatalf("%s is not the root of github.com/lienthong/lienthong", root)
	}
	return root
}
