package main

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

func runPKI(ctx context.Context, m *Main, args []string) error {
	subs := []command{
		{"init", "create a development CA in a directory", runPKIInit},
		{"issue", "issue an agency or gateway certificate and its key", runPKIIssue},
		{"revoke", "revoke a certificate: add it to the CA's CRL", runPKIRevoke},
		{"show", "print what a certificate says", runPKIShow},
	}
	return m.runGroup(ctx, "pki", `A development PKI: a CA kept in a directory, agency and gateway certificates
carrying the agency code, and revocation. For development, tests and
demonstrations; production agencies use a licensed CA.`, subs, args)
}

func runPKIInit(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("pki init", "pki init [-name NAME] [-bits 3072] [-years 10] DIR", `
Creates a development CA in DIR (made with mode 0700 if it does not exist):
ca.crt, the CA certificate to give to trust stores; ca.key, its private key
(mode 0600); crl.pem, its certificate revocation list; and issued/, a copy of
every certificate it issues. Refuses a DIR that already holds a CA.`)
	name := fs.String("name", signing.DefaultCAName, "the CA's `name` (subject common name)")
	bits := fs.Int("bits", signing.DefaultCAKeyBits, "RSA key size: 2048, 3072 or 4096")
	years := fs.Int("years", 10, "validity of the CA certificate, in `years`")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs, "pki init", "DIR")
	if err != nil {
		return err
	}
	switch {
	case *bits != 2048 && *bits != 3072 && *bits != 4096:
		return usageError{msg: fmt.Sprintf("pki init: -bits %d: want 2048, 3072 or 4096", *bits), vi: fmt.Sprintf("Độ dài khóa -bits %d không dùng được; chọn 2048, 3072 hoặc 4096.", *bits), hint: "lienthong pki init -help"}
	case *years < 1 || *years > 30:
		return usageError{msg: fmt.Sprintf("pki init: -years %d: want 1 to 30", *years), vi: fmt.Sprintf("Thời hạn -years %d không dùng được; chọn từ 1 đến 30 năm.", *years), hint: "lienthong pki init -help"}
	}
	ca, err := signing.InitCA(dir, signing.CAOptions{
		Name:     *name,
		KeyBits:  *bits,
		Validity: time.Duration(*years) * 8766 * time.Hour, // years of 365.25 days
	})
	if err != nil {
		return err
	}
	cert := ca.Certificate()
	fmt.Fprintf(m.Stdout, "CA %q created in %s\n", cert.Subject.CommonName, dir)
	fmt.Fprintf(m.Stdout, "  %s  CA certificate, valid until %s, SHA-256 %s\n",
		filepath.Join(dir, signing.CACertFile), showDay(cert.NotAfter), fingerprint(cert))
	fmt.Fprintf(m.Stdout, "  %s  private key (mode 0600)\n", filepath.Join(dir, signing.CAKeyFile))
	fmt.Fprintf(m.Stdout, "  %s  revocation list\n", filepath.Join(dir, signing.CRLFile))
	return nil
}

func runPKIIssue(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("pki issue", "pki issue -ca DIR -agency CODE -name NAME [-gateway | -directory-scope SCOPE…] [-bits 2048] [-days 730] -out PREFIX", `
Issues a certificate signed by the CA in DIR, for the agency whose code
(mã định danh) is CODE, in either official form ("000.00.12.H41" or
"H41.12"). The code is written in the subject as UID and as serialNumber, the
agency NAME as common name. With -gateway the certificate is a gateway's
(subject OU "gateway") rather than an agency's ("agency"). With
-directory-scope it is a directory administrator's (subject OU "directory"),
which signs the directory's entries ("lienthong directory") for the scopes
given: "*" for the whole directory, an agency code for that agency and every
agency under it (a province's own administrator: -directory-scope H41
-directory-scope gw:nghean), "gw:ID" for a gateway's record, "gw:*" for
all; the agency is then the administrator's own. The key usage is digital
signature and non-repudiation.

Writes PREFIX.crt (the certificate) and PREFIX.key (its private key, PKCS#8,
mode 0600); refuses to overwrite either. With -p12 it also writes PREFIX.p12:
the key, the certificate and the CA's certificate in PKCS#12, as a token's
exported .p12/.pfx, encrypted with the password from the environment variable
LIENTHONG_P12_PASSWORD or the first line of -p12-password-file.`)
	caDir := fs.String("ca", "", "the CA `directory` (required)")
	agency := fs.String("agency", "", "the agency `code` (required)")
	name := fs.String("name", "", "the agency `name`, e.g. \"Văn phòng Chính phủ\" (required)")
	gateway := fs.Bool("gateway", false, "issue a gateway certificate instead of an agency one")
	var scopes listFlag
	fs.Var(&scopes, "directory-scope", "issue a directory administrator's certificate for this `scope` (repeat for each)")
	bits := fs.Int("bits", signing.DefaultKeyBits, "RSA key size: 2048 or 3072")
	days := fs.Int("days", int(signing.DefaultValidity/(24*time.Hour)), "validity in `days` (cut to the CA's)")
	out := fs.String("out", "", "write `PREFIX`.crt and PREFIX.key (required)")
	p12 := fs.Bool("p12", false, "also write PREFIX.p12 (PKCS#12), password from LIENTHONG_P12_PASSWORD or -p12-password-file")
	p12PasswordFile := fs.String("p12-password-file", "", "read the PKCS#12 password from this `file` (its first line)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	hint := "lienthong pki issue -help"
	var p12Password string
	if *p12 {
		p12Password = os.Getenv("LIENTHONG_P12_PASSWORD")
		if *p12PasswordFile != "" {
			var err error
			if p12Password, err = firstLine(*p12PasswordFile); err != nil {
				return err
			}
		}
		if p12Password == "" {
			return usageError{msg: "pki issue: -p12 needs a password: set LIENTHONG_P12_PASSWORD or give -p12-password-file", vi: "-p12 cần mật khẩu: đặt biến LIENTHONG_P12_PASSWORD hoặc cho -p12-password-file.", hint: hint}
		}
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("pki issue: unexpected argument %q", fs.Arg(0)), vi: fmt.Sprintf("Đối số thừa %q.", fs.Arg(0)), hint: hint}
	}
	for _, f := range []struct{ flag, val string }{{"-ca", *caDir}, {"-agency", *agency}, {"-name", *name}, {"-out", *out}} {
		if f.val == "" {
			return usageError{msg: "pki issue: " + f.flag + " is required", vi: "Cần " + f.flag + ".", hint: hint}
		}
	}
	if _, err := envelope.ParseAgencyCode(*agency, envelope.CodeStrict); err != nil {
		return usageError{msg: "pki issue: -agency: " + err.Error(), vi: fmt.Sprintf("Mã cơ quan -agency %q không đúng.", *agency), hint: hint}
	}
	if *bits != 2048 && *bits != 3072 {
		return usageError{msg: fmt.Sprintf("pki issue: -bits %d: want 2048 or 3072", *bits), vi: fmt.Sprintf("Độ dài khóa -bits %d không dùng được; chọn 2048 hoặc 3072.", *bits), hint: hint}
	}
	if *days < 1 {
		return usageError{msg: fmt.Sprintf("pki issue: -days %d: want at least 1", *days), vi: fmt.Sprintf("Thời hạn -days %d không dùng được; ít nhất là 1 ngày.", *days), hint: hint}
	}
	// Check before issuing, so that no certificate is issued for nothing.
	outputs := []string{*out + ".crt", *out + ".key"}
	if *p12 {
		outputs = append(outputs, *out+".p12")
	}
	for _, p := range outputs {
		if _, err := os.Lstat(p); err == nil {
			return withVI(fmt.Errorf("pki issue: %s already exists; refusing to overwrite it", p), "Tệp %q đã có; không ghi đè.", p)
		}
	}
	ca, err := signing.OpenCA(*caDir)
	if err != nil {
		return withVI(err, "Không mở được CA trong thư mục %q", *caDir)
	}
	is, err := ca.Issue(signing.IssueRequest{
		Agency:          *agency,
		Name:            *name,
		Gateway:         *gateway,
		DirectoryScopes: scopes,
		KeyBits:         *bits,
		Validity:        time.Duration(*days) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	if err := is.WriteFiles(*out); err != nil {
		return err
	}
	if *p12 {
		if err := is.WriteP12(*out+".p12", p12Password, ca.Certificate()); err != nil {
			return err
		}
	}
	cert := is.Certificate
	code, _ := signing.AgencyCodeOf(cert)
	fmt.Fprintf(m.Stdout, "%s certificate for %s (%s), serial %s, valid %s – %s\n",
		kindOf(cert), cert.Subject.CommonName, code, cert.SerialNumber.Text(16), showDay(cert.NotBefore), showDay(cert.NotAfter))
	fmt.Fprintf(m.Stdout, "  %s.crt  certificate, SHA-256 %s\n", *out, fingerprint(cert))
	fmt.Fprintf(m.Stdout, "  %s.key  private key (mode 0600)\n", *out)
	if *p12 {
		fmt.Fprintf(m.Stdout, "  %s.p12  key, certificate and CA in PKCS#12 (mode 0600)\n", *out)
	}
	return nil
}

// revocationReasons are the reasons "pki revoke -reason" takes, by their RFC
// 5280 names.
var revocationReasons = []struct {
	name string
	code int
}{
	{"unspecified", signing.ReasonUnspecified},
	{"keyCompromise", signing.ReasonKeyCompromise},
	{"cACompromise", signing.ReasonCACompromise},
	{"affiliationChanged", signing.ReasonAffiliationChanged},
	{"superseded", signing.ReasonSuperseded},
	{"cessationOfOperation", signing.ReasonCessationOfOperation},
	{"certificateHold", signing.ReasonCertificateHold},
	{"privilegeWithdrawn", signing.ReasonPrivilegeWithdrawn},
}

func runPKIRevoke(_ context.Context, m *Main, args []string) error {
	names := make([]string, len(revocationReasons))
	for i, r := range revocationReasons {
		names[i] = r.name
	}
	fs := m.newFlagSet("pki revoke", "pki revoke -ca DIR [-reason REASON] CERTFILE", `
Revokes the certificate in CERTFILE, which the CA in DIR must have issued:
adds its serial number to DIR/crl.pem and signs the CRL again, with the next
CRL number and a next update 30 days later. Revoking a certificate already
revoked changes nothing, says so, and succeeds.

REASON is one of: `+strings.Join(names, ", ")+`.`)
	caDir := fs.String("ca", "", "the CA `directory` (required)")
	reasonName := fs.String("reason", "unspecified", "the revocation `reason`")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneArg(fs, "pki revoke", "CERTFILE")
	if err != nil {
		return err
	}
	if *caDir == "" {
		return usageError{msg: "pki revoke: -ca is required", vi: "Cần thư mục CA (-ca).", hint: "lienthong pki revoke -help"}
	}
	reason := -1
	for _, r := range revocationReasons {
		if strings.EqualFold(r.name, *reasonName) {
			reason = r.code
		}
	}
	if reason < 0 {
		return usageError{msg: fmt.Sprintf("pki revoke: unknown reason %q (want one of %s)", *reasonName, strings.Join(names, ", ")), vi: fmt.Sprintf("Không có lý do thu hồi %q; chọn một trong %s.", *reasonName, strings.Join(names, ", ")), hint: "lienthong pki revoke -help"}
	}
	certs, err := signing.LoadCertificates(name)
	if err != nil {
		return err
	}
	if len(certs) != 1 {
		return withVI(fmt.Errorf("pki revoke: %s holds %d certificates; give a file with one", name, len(certs)), "Tệp %q có %d chứng thư; cần tệp chỉ có một.", name, len(certs))
	}
	cert := certs[0]
	ca, err := signing.OpenCA(*caDir)
	if err != nil {
		return withVI(err, "Không mở được CA trong thư mục %q", *caDir)
	}
	if err := cert.CheckSignatureFrom(ca.Certificate()); err != nil {
		return withVI(fmt.Errorf("pki revoke: %s (%s) was not issued by the CA in %s", name, cert.Subject.CommonName, *caDir), "Chứng thư %q không do CA trong %q cấp.", name, *caDir)
	}
	err = ca.Revoke(cert.SerialNumber, reason)
	if err != nil && !errors.Is(err, signing.ErrAlreadyRevoked) {
		return err
	}
	crl, cerr := ca.CRL()
	if cerr != nil {
		return cerr
	}
	if err != nil {
		when := "earlier"
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				when = "on " + showDay(e.RevocationTime)
			}
		}
		fmt.Fprintf(m.Stdout, "%s (serial %s) was already revoked %s; the CRL is unchanged\n",
			cert.Subject.CommonName, cert.SerialNumber.Text(16), when)
		return nil
	}
	fmt.Fprintf(m.Stdout, "revoked %s (serial %s, %s)\n", cert.Subject.CommonName, cert.SerialNumber.Text(16), *reasonName)
	fmt.Fprintf(m.Stdout, "  %s  CRL number %s, %d revoked, next update %s\n",
		filepath.Join(*caDir, signing.CRLFile), crl.Number, len(crl.RevokedCertificateEntries), showDay(crl.NextUpdate))
	return nil
}

func runPKIShow(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("pki show", "pki show CERTFILE", `
Prints what the certificates in CERTFILE (PEM or DER) say: subject, agency
code, kind, issuer, serial number, validity (dd/mm/yyyy, Vietnam time), key,
key usage and SHA-256 fingerprint. Nothing is verified.`)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneArg(fs, "pki show", "CERTFILE")
	if err != nil {
		return err
	}
	certs, err := signing.LoadCertificates(name)
	if err != nil {
		return err
	}
	for i, cert := range certs {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		if err := writeCertificate(m.Stdout, cert, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// writeCertificate prints a certificate for an operator.
func writeCertificate(w io.Writer, cert *x509.Certificate, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label, format string, a ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", label, fmt.Sprintf(format, a...))
	}
	line("Subject", "%s", showName(cert.Subject))
	if code, ok := signing.AgencyCodeOf(cert); ok {
		line("Agency code", "%s", code)
	} else {
		line("Agency code", "-")
	}
	line("Kind", "%s", kindOf(cert))
	line("Issuer", "%s", showName(cert.Issuer))
	line("Serial", "%s", cert.SerialNumber.Text(16))
	state := "valid"
	switch {
	case now.Before(cert.NotBefore):
		state = "not yet valid"
	case now.After(cert.NotAfter):
		state = "expired"
	}
	line("Validity", "%s – %s (%s)", showDay(cert.NotBefore), showDay(cert.NotAfter), state)
	if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		line("Key", "RSA %d bits", k.N.BitLen())
	} else {
		line("Key", "%s", cert.PublicKeyAlgorithm)
	}
	line("Key usage", "%s", orDash(strings.Join(keyUsages(cert), ", ")))
	line("SHA-256", "%s", fingerprint(cert))
	return tw.Flush()
}

// attributeNames are the short names of the attribute types showName knows.
var attributeNames = map[string]string{
	"2.5.4.3":                   "CN",
	"2.5.4.5":                   "serialNumber",
	"2.5.4.6":                   "C",
	"2.5.4.7":                   "L",
	"2.5.4.8":                   "ST",
	"2.5.4.10":                  "O",
	"2.5.4.11":                  "OU",
	"2.5.4.12":                  "title",
	"0.9.2342.19200300.100.1.1": "UID",
	"1.2.840.113549.1.9.1":      "emailAddress",
}

// showName writes a distinguished name's attributes in the order of the
// certificate, with UID and serialNumber named, which pkix.Name.String does
// not do for UID.
func showName(n pkix.Name) string {
	parts := make([]string, 0, len(n.Names))
	for _, atv := range n.Names {
		t, ok := attributeNames[atv.Type.String()]
		if !ok {
			t = atv.Type.String()
		}
		parts = append(parts, fmt.Sprintf("%s=%v", t, atv.Value))
	}
	return strings.Join(parts, ", ")
}

// kindOf names what a certificate is for.
func kindOf(cert *x509.Certificate) string {
	switch {
	case cert.IsCA:
		return "CA"
	case signing.IsGatewayCertificate(cert):
		return "gateway"
	case len(signing.DirectoryScopes(cert)) > 0:
		return "directory administrator (" + strings.Join(signing.DirectoryScopes(cert), ", ") + ")"
	case slices.Contains(cert.Subject.OrganizationalUnit, signing.UnitAgency):
		return "agency"
	}
	return "other"
}

// keyUsages names the key usages and extended key usages of cert.
func keyUsages(cert *x509.Certificate) []string {
	var out []string
	for _, u := range []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digital signature"},
		{x509.KeyUsageContentCommitment, "non-repudiation"},
		{x509.KeyUsageKeyEncipherment, "key encipherment"},
		{x509.KeyUsageDataEncipherment, "data encipherment"},
		{x509.KeyUsageKeyAgreement, "key agreement"},
		{x509.KeyUsageCertSign, "certificate signing"},
		{x509.KeyUsageCRLSign, "CRL signing"},
	} {
		if cert.KeyUsage&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	for _, e := range cert.ExtKeyUsage {
		switch e {
		case x509.ExtKeyUsageAny:
			out = append(out, "any extended usage")
		case x509.ExtKeyUsageEmailProtection:
			out = append(out, "email protection")
		case x509.ExtKeyUsageCodeSigning:
			out = append(out, "code signing")
		case x509.ExtKeyUsageServerAuth:
			out = append(out, "TLS server")
		case x509.ExtKeyUsageClientAuth:
			out = append(out, "TLS client")
		default:
			out = append(out, fmt.Sprintf("extended usage %d", e))
		}
	}
	return out
}

// fingerprint is the SHA-256 of the certificate, in colon-separated hex.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// showDay writes t as dd/mm/yyyy in Vietnam time.
func showDay(t time.Time) string { return t.In(envelope.VietnamTime()).Format("02/01/2006") }

// oneArg returns the single positional argument, called what in the usage.
func oneArg(fs interface{ Args() []string }, cmd, what string) (string, error) {
	args := fs.Args()
	if len(args) != 1 {
		return "", usageError{msg: fmt.Sprintf("%s: want exactly one %s, got %d arguments", cmd, what, len(args)), vi: fmt.Sprintf("Lệnh lienthong %s cần đúng một %s, nhưng nhận %d đối số.", cmd, what, len(args)), hint: "lienthong " + cmd + " -help"}
	}
	return args[0], nil
}
