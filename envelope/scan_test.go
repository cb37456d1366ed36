package envelope

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// tokenCounts is what encoding/xml's tokeniser, set up as etree sets it up,
// reads of an input before its first error.
type tokenCounts struct {
	attrs, maxAttrs     int // in all, on one element
	decls, maxDecls     int // namespace declarations
	prefixes            int // distinct prefixes declared
	maxValue            int // the longest attribute value, decoded
	directive, complete bool
}

func countTokens(b []byte) tokenCounts {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var c tokenCounts
	prefixes := map[string]bool{}
	for {
		tok, err := dec.RawToken()
		if err != nil {
			c.complete = err == io.EOF
			c.prefixes = len(prefixes)
			return c
		}
		switch t := tok.(type) {
		case xml.StartElement:
			decls := 0
			for _, a := range t.Attr {
				c.maxValue = max(c.maxValue, len(a.Value))
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					prefixes[""] = true
				case a.Name.Space == "xmlns":
					prefixes[a.Name.Local] = true
				default:
					continue
				}
				decls++
			}
			c.attrs += len(t.Attr)
			c.maxAttrs = max(c.maxAttrs, len(t.Attr))
			c.decls += decls
			c.maxDecls = max(c.maxDecls, decls)
		case xml.Directive:
			c.directive = true
		}
	}
}

// unlimited lets everything through but declarations.
var unlimited = scanLimits{math.MaxInt, math.MaxInt, math.MaxInt, math.MaxInt, math.MaxInt, math.MaxInt, math.MaxInt}

// checkScan checks that scanMarkup sees at least what encoding/xml reads of
// b: each limit set one below what encoding/xml reads must refuse b, so
// that no input slips past a limit by confusing the scan.
func checkScan(t *testing.T, b []byte) {
	c := countTokens(b)
	s := &scanner{b: b, lim: unlimited}
	err := s.run()
	if c.directive && !errors.Is(err, ErrForbiddenXML) {
		t.Fatalf("encoding/xml reads a <!…> declaration; the scan says %v", err)
	}
	if err != nil {
		return // a declaration: refused whatever follows
	}
	if n := bytes.Count(b, []byte{'<'}); s.markup != n {
		t.Errorf("the scan counts %d '<', there are %d", s.markup, n)
	}
	below := func(name string, n int, set func(*scanLimits, int)) {
		if n == 0 {
			return
		}
		lim := unlimited
		set(&lim, n-1)
		if _, err := scanMarkup(b, lim); !errors.Is(err, ErrForbiddenXML) {
			t.Errorf("encoding/xml reads %d %s; the scan with a limit of %d says %v", n, name, n-1, err)
		}
	}
	below("attributes on one element", c.maxAttrs, func(l *scanLimits, n int) { l.attrs = n })
	below("attributes", c.attrs, func(l *scanLimits, n int) { l.totalAttrs = n })
	below("declarations on one element", c.maxDecls, func(l *scanLimits, n int) { l.nsDecls = n })
	below("declarations", c.decls, func(l *scanLimits, n int) { l.totalNSDecls = n })
	below("prefixes", c.prefixes, func(l *scanLimits, n int) { l.prefixes = n })
	below("bytes in a value", c.maxValue, func(l *scanLimits, n int) { l.attrValue = n })
}

var scanSeeds = []string{
	`<a b="1" c='2' xmlns="u" xmlns:p="v"><p:d e="&quot;>" f='"'/></a>`,
	`<a b="<" c="2"/>`,
	`<a><!-- <b c="1"> --><![CDATA[<b c="1">]]><?pi <b c="1"?><b c="1">x="y"</b></a>`,
	`<a><!-- a -- b --><b c="1"/></a>`,
	`<a b = "1"	c	=	'2'/>`,
	`<a b="1"c="2"/>`,
	`<a b/>`,
	`<a b=c d="1"/>`,
	`<a xmlns:="u" xmlns:p:q="v"/>`,
	`<!DOCTYPE a [<!ENTITY b "<c d='1'>">]><a/>`,
	`<a><!ELEMENT a ANY></a>`,
	`<?xml version="1.0"?><a b="1"/><c d="2"/>`,
	"<a b=\"1\r\n2\" c='&#60;'/>",
	"<\u00e9l\u00e9 \u00e9=\"1\"/>",
}

func TestScanMarkup_SeesWhatTheParserReads(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
	names, err := filepath.Glob("testdata/samples/*.edxml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		start, _ := xmlStart(b)
		checkScan(t, b[start:])
	}
}

func FuzzScanMarkup(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScan)
}
