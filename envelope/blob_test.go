package envelope

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeText serialises the tree read from b, with or without lifting.
func treeText(t testing.TB, b []byte, lift bool) (string, error) {
	var p Parser
	doc, _, err := p.readTree(b, lift)
	if err != nil {
		return "", err
	}
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s, nil
}

// sameTree checks that lifting base64 runs out of b changes nothing in the
// tree, nor whether b is accepted.
func sameTree(t testing.TB, b []byte) {
	t.Helper()
	slow, errSlow := treeText(t, b, false)
	fast, errFast := treeText(t, b, true)
	if (errSlow == nil) != (errFast == nil) {
		t.Fatalf("lifting changes the verdict: %v vs %v", errSlow, errFast)
	}
	if slow != fast {
		t.Fatalf("lifting changes the tree:\n%.400s\n---\n%.400s", slow, fast)
	}
}

func TestLiftBlobs_SameTree(t *testing.T) {
	names, err := filepath.Glob("testdata/samples/*.edxml")
	if err != nil || len(names) == 0 {
		t.Fatalf("samples: %v", err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, b)
	}
	run := strings.Repeat("QUJD", blobMin/4)
	cases := map[string]string{
		"Plain":        "<a>" + run + "</a>",
		"CRLF":         "<a>\r\n" + strings.Repeat("QUJD\r\n", blobMin/4) + "\r</a>",
		"OnlySpace":    "<a>" + strings.Repeat(" \n", blobMin) + "</a>",
		"TextAround":   "<a>x &gt; " + run + "<b/>" + run + "</a>",
		"InComment":    "<a><!-- >" + run + "< --></a>",
		"InCDATA":      "<a><![CDATA[>" + run + "<]]></a>",
		"InAttribute":  "<a x=\">" + run + "\"/>",
		"Unterminated": "<a>" + run,
		"Two":          "<a><b>" + run + "</b><c>" + run + run + "</c></a>",
		"ShortRun":     "<a>" + run[:blobMin-1] + "</a>",
		"CommentCRLF":  "<a><!-- >\r\n" + run + "\r\n< --></a>",
		"ProcInstCRLF": "<a><?pi >\r\n" + run + "\r< ?></a>",
		"CDATACRLF":    "<a><![CDATA[>\r\n" + run + "\r<]]></a>",
		"Directive":    "<a><!X <y>" + run + "<!-- z --> ></a>",
		"MarkerLike":   "<a>\uE000deadbeef:0\uE001" + run + "</a>",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) { sameTree(t, []byte(s)) })
	}
	if lifted, bl := liftBlobs([]byte(cases["Two"])); bl == nil || len(bl.runs) != 2 || bytes.Contains(lifted, []byte(run)) {
		t.Errorf("runs not lifted from %q", cases["Two"][:20])
	}
}

// FuzzLiftBlobs checks on arbitrary input that lifting never changes the
// tree or the verdict.
func FuzzLiftBlobs(f *testing.F) {
	run := strings.Repeat("QUJD", blobMin/4)
	f.Add("<a>", run, "</a>")
	f.Add("<a><!-- >", run, "< --></a>")
	f.Add("<a x=\">", run, "\"/>")
	f.Add("<a>\r\n", run+"\r", "\r\n</a>")
	f.Fuzz(func(t *testing.T, pre, mid, post string) {
		sameTree(t, []byte(pre+mid+post))
	})
}
