package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// verdictExit is the exit status of each verdict of "edxml verify".
var verdictExit = map[signing.Outcome]int{
	signing.Valid:         exitOK,
	signing.Invalid:       10,
	signing.Untrusted:     11,
	signing.Expired:       12,
	signing.Revoked:       13,
	signing.WeakAlgorithm: 14,
	signing.Missing:       15,
	signing.NotBound:      16,
	signing.Malformed:     17,
}

// listFlag is a repeatable flag: file names, gateway ids.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, ",") }
func (f *listFlag) Set(s string) error { *f = append(*f, s); return nil }

func runEdxmlVerify(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml verify", "edxml verify -ca FILE [-crl FILE]… [-registered FILE]… [-allow-sha1] [-max-size BYTES] [-json] FILE", `
Verifies a packet's signature and prints the verdict: valid, invalid (the
packet was changed), untrusted (no chain to a trusted CA), expired,
revoked, weak-algorithm, missing, not-bound (the certificate is not
registered for the sender) or malformed, with the signer's subject, the
certificate's SHA-256 fingerprint and the reason in Vietnamese and English.

The certificates given with -registered are registered for the agency
whose code their subject carries (as "lienthong pki issue" writes it); the
packet's From/OrganId must be one of them.

SHA-1 (RSA-SHA1 signatures, SHA-1 digests) is weak-algorithm unless
-allow-sha1 names the legacy policy; a SHA-1 signature that verifies under
it is valid, and the verdict says that it is legacy.

Exit status by verdict: 0 valid, 10 invalid, 11 untrusted, 12 expired,
13 revoked, 14 weak-algorithm, 15 missing, 16 not-bound, 17 malformed;
2 usage, 3 a file could not be read.`)
	var cas, crls, registered listFlag
	fs.Var(&cas, "ca", "trusted CA certificates (PEM `file`; repeatable)")
	fs.Var(&crls, "crl", "a CA's revocation list (PEM or DER `file`; repeatable)")
	fs.Var(&registered, "registered", "certificates registered for the agency in their subject (PEM `file`; repeatable)")
	allowSHA1 := fs.Bool("allow-sha1", false, "legacy policy: accept RSA-SHA1 signatures and SHA-1 digests")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	maxSize := maxSizeFlag(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml verify")
	if err != nil {
		return err
	}
	if len(cas) == 0 {
		return usageError{msg: "edxml verify: at least one -ca is required", vi: "Cần ít nhất một chứng thư CA tin cậy (-ca).", hint: "lienthong edxml verify -help"}
	}
	v := &signing.Verifier{Roots: x509.NewCertPool(), Policy: signing.Policy{AllowSHA1: *allowSHA1},
		// The verifier reads the packet again: with the same limit.
		Parser: envelope.Parser{MaxSize: *maxSize}}
	for _, f := range cas {
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return withVI(err, "Không đọc được chứng thư CA trong tệp %q", f)
		}
		for _, c := range certs {
			v.Roots.AddCert(c)
		}
	}
	for _, f := range crls {
		crl, err := signing.LoadCRL(f)
		if err != nil {
			return withVI(err, "Không đọc được danh sách thu hồi (CRL) trong tệp %q", f)
		}
		v.CRLs = append(v.CRLs, crl)
	}
	dir := signing.StaticDirectory{}
	for _, f := range registered {
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return withVI(err, "Không đọc được chứng thư đã đăng ký (-registered) trong tệp %q", f)
		}
		for _, c := range certs {
			code, ok := signing.AgencyCodeOf(c)
			if !ok {
				return withVI(fmt.Errorf("%s: the certificate %q carries no agency code in its subject", f, c.Subject.String()),
					"Chứng thư số %q trong tệp %q không mang mã cơ quan", c.Subject.String(), f)
			}
			if err := dir.Register(code, c); err != nil {
				return withVI(err, "Không đăng ký được chứng thư số trong tệp %q cho cơ quan %s", f, code)
			}
		}
	}
	v.Directory = dir
	raw, _, _, err := m.readPacket(name, *maxSize)
	if err != nil {
		return err
	}
	vd, err := v.Verify(ctx, raw)
	if err != nil {
		return withVI(err, "Không kiểm tra được chữ ký của gói tin từ %s", source(name))
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(vd); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "%s: %s\n  %s\n  (%s)\n", name, vd.Outcome, vd.ReasonVI, vd.ReasonEN)
		if vd.Subject != "" {
			fmt.Fprintf(m.Stdout, "  người ký / signer: %s\n  SHA-256: %s\n", vd.Subject, vd.Fingerprint)
		}
	}
	if code := verdictExit[vd.Outcome]; code != exitOK {
		return exitError{code: code}
	}
	return nil
}
