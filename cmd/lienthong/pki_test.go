package main

import (
	"crypto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/signing"
)

// wantStdout fails the test unless stdout holds every one of subs.
func (r result) wantStdout(t *testing.T, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("lienthong %s: stdout does not mention %q:\n%s", strings.Join(r.args, " "), s, r.stdout)
		}
	}
}

// wantPerm fails the test unless the file at path has permissions perm.
func wantPerm(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != perm {
		t.Errorf("%s: mode %v, want %v", path, got, perm)
	}
}

// issuedCount returns how many certificates the CA in dir has recorded.
func issuedCount(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, signing.IssuedDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestPKI goes through the life of a development CA: init, issue, show,
// revoke.
func TestPKI(t *testing.T) {
	tmp := t.TempDir()
	caDir := filepath.Join(tmp, "ca")

	r := run(t, nil, "pki", "init", "-bits", "2048", "-name", "CA thử nghiệm", caDir)
	r.wantCode(t, 0)
	r.wantStdout(t, `CA "CA thử nghiệm" created in `+caDir, filepath.Join(caDir, "ca.key")+"  private key (mode 0600)")
	wantPerm(t, caDir, 0o700)
	wantPerm(t, filepath.Join(caDir, "ca.key"), 0o600)
	wantPerm(t, filepath.Join(caDir, "ca.crt"), 0o644)
	wantPerm(t, filepath.Join(caDir, "crl.pem"), 0o644)

	t.Run("InitTwice", func(t *testing.T) {
		before, _ := os.ReadFile(filepath.Join(caDir, "ca.key"))
		r := run(t, nil, "pki", "init", "-bits", "2048", caDir)
		r.wantCode(t, 3)
		r.wantStderr(t, filepath.Join(caDir, "ca.key"), "already exists")
		after, _ := os.ReadFile(filepath.Join(caDir, "ca.key"))
		if string(before) != string(after) {
			t.Error("the CA key was overwritten")
		}
	})

	vpcp := filepath.Join(tmp, "vpcp")
	r = run(t, nil, "pki", "issue", "-ca", caDir, "-agency", "000.00.00.G01", "-name", "Văn phòng Chính phủ", "-out", vpcp)
	r.wantCode(t, 0)
	r.wantStdout(t, "agency certificate for Văn phòng Chính phủ (000.00.00.G01)", vpcp+".key  private key (mode 0600)")
	wantPerm(t, vpcp+".key", 0o600)
	wantPerm(t, vpcp+".crt", 0o644)
	if strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
		t.Errorf("issue printed key material:\n%s%s", r.stdout, r.stderr)
	}

	t.Run("Show", func(t *testing.T) {
		r := run(t, nil, "pki", "show", vpcp+".crt")
		r.wantCode(t, 0)
		wantField(t, r.stdout, "Agency code", "000.00.00.G01")
		wantField(t, r.stdout, "Kind", "agency")
		wantField(t, r.stdout, "Key", "RSA 2048 bits")
		wantField(t, r.stdout, "Key usage", "digital signature, non-repudiation")
		wantFieldHas(t, r.stdout, "Subject", "CN=Văn phòng Chính phủ")
		wantFieldHas(t, r.stdout, "Subject", "UID=000.00.00.G01")
		wantFieldHas(t, r.stdout, "Subject", "serialNumber=000.00.00.G01")
		wantFieldHas(t, r.stdout, "Issuer", "CN=CA thử nghiệm")
		if vals := summaryField(r.stdout, "Validity"); len(vals) == 0 ||
			!regexp.MustCompile(`^\d\d/\d\d/\d{4} – \d\d/\d\d/\d{4} \(valid\)$`).MatchString(vals[0]) {
			t.Errorf("Validity: %q", vals)
		}
		if vals := summaryField(r.stdout, "SHA-256"); len(vals) == 0 ||
			!regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(vals[0]) {
			t.Errorf("SHA-256: %q", vals)
		}
	})

	t.Run("ShowKeyFile", func(t *testing.T) {
		key, err := os.ReadFile(vpcp + ".key")
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, nil, "pki", "show", vpcp+".key")
		r.wantCode(t, 3)
		r.wantStderr(t, "no CERTIFICATE block")
		for _, line := range strings.Split(string(key), "\n") {
			if line != "" && strings.Contains(r.stdout+r.stderr, line) {
				t.Errorf("output shows a line of the key file: %q", line)
			}
		}
	})

	t.Run("P12", func(t *testing.T) {
		out := filepath.Join(tmp, "token")
		r := run(t, nil, "pki", "issue", "-ca", caDir, "-agency", "000.00.00.G18", "-name", "Bộ Y tế", "-p12", "-out", out)
		r.wantCode(t, exitUsage)
		r.wantStderr(t, "LIENTHONG_P12_PASSWORD")
		if _, err := os.Stat(out + ".crt"); err == nil {
			t.Error("a certificate was issued although the command was refused")
		}

		t.Setenv("LIENTHONG_P12_PASSWORD", "mật khẩu")
		r = run(t, nil, "pki", "issue", "-ca", caDir, "-agency", "000.00.00.G18", "-name", "Bộ Y tế", "-p12", "-out", out)
		r.wantCode(t, exitOK)
		r.wantStdout(t, out+".p12  key, certificate and CA in PKCS#12 (mode 0600)")
		wantPerm(t, out+".p12", 0o600)
		key, chain, err := signing.LoadPKCS12(out+".p12", "mật khẩu")
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := signing.LoadPrivateKey(out + ".key")
		if err != nil {
			t.Fatal(err)
		}
		if !pemKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Error("the .p12 holds another key than the .key file")
		}
		if len(chain) != 2 || chain[1].Subject.CommonName != "CA thử nghiệm" {
			t.Errorf("the .p12's chain: %d certificates, want the agency's and the CA's", len(chain))
		}
		if _, _, err := signing.LoadPKCS12(out+".p12", "sai"); err == nil {
			t.Error("the .p12 opens with a wrong password")
		}
	})

	t.Run("Gateway", func(t *testing.T) {
		out := filepath.Join(tmp, "gw")
		r := run(t, nil, "pki", "issue", "-ca", caDir, "-agency", "H40", "-name", "Cổng liên thông tỉnh Nghệ An", "-gateway", "-days", "30", "-out", out)
		r.wantCode(t, 0)
		r.wantStdout(t, "gateway certificate for Cổng liên thông tỉnh Nghệ An (000.00.00.H40)")
		certs, err := signing.LoadCertificates(out + ".crt")
		if err != nil {
			t.Fatal(err)
		}
		if !signing.IsGatewayCertificate(certs[0]) {
			t.Errorf("not a gateway certificate: OU %q", certs[0].Subject.OrganizationalUnit)
		}
		if d := certs[0].NotAfter.Sub(certs[0].NotBefore).Hours() / 24; d != 30 {
			t.Errorf("valid %v days, want 30", d)
		}
	})

	t.Run("IssueOverExisting", func(t *testing.T) {
		n := issuedCount(t, caDir)
		r := run(t, nil, "pki", "issue", "-ca", caDir, "-agency", "G01", "-name", "X", "-out", vpcp)
		r.wantCode(t, 3)
		r.wantStderr(t, vpcp+".crt already exists")
		if got := issuedCount(t, caDir); got != n {
			t.Errorf("%d certificates issued, want %d: nothing should be issued for files that cannot be written", got, n)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		certs, err := signing.LoadCertificates(vpcp + ".crt")
		if err != nil {
			t.Fatal(err)
		}
		serial := certs[0].SerialNumber
		r := run(t, nil, "pki", "revoke", "-ca", caDir, "-reason", "superseded", vpcp+".crt")
		r.wantCode(t, 0)
		r.wantStdout(t, "revoked Văn phòng Chính phủ (serial "+serial.Text(16)+", superseded)", "CRL number 2, 1 revoked")

		crlPath := filepath.Join(caDir, "crl.pem")
		crl, err := signing.LoadCRL(crlPath)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := signing.OpenCA(caDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(ca.Certificate()); err != nil {
			t.Errorf("CRL signature: %v", err)
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(serial) != 0 ||
			crl.RevokedCertificateEntries[0].ReasonCode != signing.ReasonSuperseded {
			t.Errorf("CRL entries %+v, want serial %x, superseded", crl.RevokedCertificateEntries, serial)
		}

		// Revoking again succeeds and changes nothing.
		before, _ := os.ReadFile(crlPath)
		r = run(t, nil, "pki", "revoke", "-ca", caDir, vpcp+".crt")
		r.wantCode(t, 0)
		r.wantStdout(t, "was already revoked on ", "the CRL is unchanged")
		if after, _ := os.ReadFile(crlPath); string(after) != string(before) {
			t.Error("revoking twice rewrote the CRL")
		}
	})

	t.Run("RevokeForeign", func(t *testing.T) {
		other := filepath.Join(tmp, "other")
		run(t, nil, "pki", "init", "-bits", "2048", other).wantCode(t, 0)
		out := filepath.Join(tmp, "foreign")
		run(t, nil, "pki", "issue", "-ca", other, "-agency", "G01", "-name", "X", "-out", out).wantCode(t, 0)
		r := run(t, nil, "pki", "revoke", "-ca", caDir, out+".crt")
		r.wantCode(t, 3)
		r.wantStderr(t, "was not issued by the CA in "+caDir)
	})
}

func TestPKI_Usage(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"NoCommand", []string{"pki"}, []string{"pki: no command given", "Usage: lienthong pki <command>"}},
		{"UnknownCommand", []string{"pki", "sign"}, []string{`pki: unknown command "sign"`, "Thử / try: lienthong pki -help"}},
		{"InitNoDir", []string{"pki", "init"}, []string{"want exactly one DIR", "Thử / try: lienthong pki init -help"}},
		{"InitSmallKey", []string{"pki", "init", "-bits", "1024", tmp}, []string{"-bits 1024"}},
		{"InitYears", []string{"pki", "init", "-years", "0", tmp}, []string{"-years 0"}},
		{"IssueNoCA", []string{"pki", "issue", "-agency", "G01", "-name", "X", "-out", "o"}, []string{"-ca is required"}},
		{"IssueNoOut", []string{"pki", "issue", "-ca", tmp, "-agency", "G01", "-name", "X"}, []string{"-out is required"}},
		{"IssueBadCode", []string{"pki", "issue", "-ca", tmp, "-agency", "g01", "-name", "X", "-out", "o"}, []string{`bad agency code: "g01"`}},
		{"IssueBadBits", []string{"pki", "issue", "-ca", tmp, "-agency", "G01", "-name", "X", "-out", "o", "-bits", "4096"}, []string{"-bits 4096: want 2048 or 3072"}},
		{"IssueBadDays", []string{"pki", "issue", "-ca", tmp, "-agency", "G01", "-name", "X", "-out", "o", "-days", "0"}, []string{"-days 0"}},
		{"IssueExtraArg", []string{"pki", "issue", "-ca", tmp, "-agency", "G01", "-name", "X", "-out", "o", "extra"}, []string{`unexpected argument "extra"`}},
		{"RevokeNoCA", []string{"pki", "revoke", "x.crt"}, []string{"-ca is required"}},
		{"RevokeBadReason", []string{"pki", "revoke", "-ca", tmp, "-reason", "boredom", "x.crt"}, []string{`unknown reason "boredom"`, "keyCompromise"}},
		{"ShowNoFile", []string{"pki", "show"}, []string{"want exactly one CERTFILE"}},
		{"UnknownFlag", []string{"pki", "show", "-x", "f"}, []string{"pki show: flag provided but not defined: -x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			r.wantCode(t, 2)
			r.wantStderr(t, tt.stderr...)
		})
	}
}

func TestPKI_Help(t *testing.T) {
	r := run(t, nil, "help")
	if !regexp.MustCompile(`(?m)^\tpki +development PKI`).MatchString(r.stdout) {
		t.Errorf("pki is not listed in help:\n%s", r.stdout)
	}
	r = run(t, nil, "pki", "-help")
	r.wantCode(t, 0)
	for _, sub := range []string{"init", "issue", "revoke", "show"} {
		if !regexp.MustCompile(`(?m)^\t` + sub + ` +\S`).MatchString(r.stdout) {
			t.Errorf("pki -help does not list %s:\n%s", sub, r.stdout)
		}
	}
	for _, args := range [][]string{
		{"pki", "init", "-help"},
		{"pki", "issue", "-h"},
		{"help", "pki", "revoke"},
		{"pki", "show", "--help"},
	} {
		sub := args[len(args)-1]
		if strings.HasPrefix(sub, "-") {
			sub = args[1]
		}
		r := run(t, nil, args...)
		r.wantCode(t, 0)
		r.wantStdout(t, "Usage: lienthong pki "+sub)
		if r.stderr != "" {
			t.Errorf("%v: stderr: %s", args, r.stderr)
		}
	}
}
