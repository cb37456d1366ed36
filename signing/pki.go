package signing

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/lienthong/lienthong/envelope"
)

// The files of a CA directory made by [InitCA].
const (
	// CACertFile is the CA certificate, PEM, mode 0644: what a trust store
	// is given.
	CACertFile = "ca.crt"
	// CAKeyFile is the CA private key, PKCS#8 PEM, mode 0600.
	CAKeyFile = "ca.key"
	// CRLFile is the CA's certificate revocation list, PEM, mode 0644. It is
	// also the record of what was revoked: [CA.Revoke] reads it, adds an
	// entry and signs it again.
	CRLFile = "crl.pem"
	// IssuedDir holds a copy of every certificate the CA issued, named by
	// its serial number in lower-case hexadecimal ("issued/3f9a….crt"). It
	// is the record of what was issued: [CA.Revoke] refuses a serial that
	// has no file here.
	IssuedDir = "issued"
)

// Defaults of [CAOptions] and [IssueRequest].
const (
	DefaultCAName     = "lienthong development CA"
	DefaultCAKeyBits  = 3072
	DefaultCAValidity = 3652 * 24 * time.Hour // ten years
	DefaultKeyBits    = 2048
	DefaultValidity   = 730 * 24 * time.Hour // two years
	// CRLValidity is how long a CRL written by the CA stays current: its
	// NextUpdate is this long after its ThisUpdate. [CA.RefreshCRL] signs
	// a new one with the same entries.
	CRLValidity = 30 * 24 * time.Hour
)

// Subject attributes of the certificates the CA issues.
const (
	// Organization is the subject O of every certificate of the CA.
	Organization = "lienthong"
	// UnitAgency is the subject OU of an agency certificate, which signs
	// the packets of one agency.
	UnitAgency = "agency"
	// UnitGateway is the subject OU of a gateway certificate, which signs
	// for the gateway hosting one or more agencies.
	UnitGateway = "gateway"
)

// Revocation reasons of RFC 5280 §5.3.1 that [CA.Revoke] accepts.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonPrivilegeWithdrawn   = 9
	ReasonAACompromise         = 10
)

// oidUID is the userId attribute type (RFC 4519), 0.9.2342.19200300.100.1.1.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// CAOptions tune [InitCA]. The zero value gives the defaults.
type CAOptions struct {
	// Name is the CA's subject common name; DefaultCAName if empty.
	Name string
	// KeyBits is the size of the CA's RSA key: 2048, 3072 or 4096;
	// DefaultCAKeyBits if zero.
	KeyBits int
	// Validity is how long the CA certificate is valid; DefaultCAValidity
	// if zero.
	Validity time.Duration
	// Now is the clock; time.Now if nil. The CA returned keeps it.
	Now func() time.Time
}

// CA is a development certificate authority kept in a directory (see
// [CACertFile], [CAKeyFile], [CRLFile] and [IssuedDir]). Its methods are
// safe for concurrent use within one process; two processes must not revoke
// with the same CA at the same time.
type CA struct {
	// Now is the clock for the validity of issued certificates and the
	// dates of the CRL; time.Now if nil.
	Now func() time.Time

	dir  string
	cert *x509.Certificate
	key  *rsa.PrivateKey
	mu   sync.Mutex // serialises rewrites of the CRL
}

// Issued is a certificate just issued, with its private key.
type Issued struct {
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
}

// IssueRequest describes a certificate for [CA.Issue].
type IssueRequest struct {
	// Agency is the agency code (mã định danh) in one of its official
	// forms, judged by envelope.ParseAgencyCode in CodeStrict mode. The
	// certificate carries its canonical text (AgencyCode.String).
	Agency string
	// Name is the agency's name, the subject common name, in Vietnamese
	// UTF-8 NFC: "Văn phòng Chính phủ". At most 64 characters.
	Name string
	// Gateway asks for a gateway certificate (subject OU UnitGateway)
	// rather than an agency one (UnitAgency).
	Gateway bool
	// DirectoryScopes asks for a directory administrator's certificate
	// (subject OU UnitDirectory) that may sign the directory records of
	// these scopes: "*" (the whole directory), an agency code (that
	// agency and every agency under it), "gw:<gateway id>" or "gw:*" (see
	// [DirectoryScopes]). Agency is then the administrator's own agency.
	DirectoryScopes []string
	// KeyBits is the size of the RSA key: 2048 or 3072; DefaultKeyBits if
	// zero.
	KeyBits int
	// Validity is how long the certificate is valid from NotBefore;
	// DefaultValidity if zero. The certificate never outlives the CA: its
	// NotAfter is cut to the CA's.
	Validity time.Duration
	// NotBefore is when the certificate becomes valid; now if zero. A date
	// in the past, with a short Validity, makes an expired certificate for
	// tests.
	NotBefore time.Time
	// Key, if set, is the key certified instead of a new one of KeyBits:
	// a simulation of the national axis certifies thousands of agencies,
	// and an RSA key takes tens of milliseconds to make.
	Key *rsa.PrivateKey
}

// InitCA makes a new CA in dir: a self-signed CA certificate and its key,
// an empty CRL, and the directory of issued certificates. It creates dir
// with mode 0700 if it does not exist. It refuses, with an error wrapping
// [ErrCAExists] and naming the file, when dir already holds one of the CA's
// files.
func InitCA(dir string, opts CAOptions) (*CA, error) {
	if opts.Name == "" {
		opts.Name = DefaultCAName
	}
	if opts.KeyBits == 0 {
		opts.KeyBits = DefaultCAKeyBits
	}
	if opts.Validity == 0 {
		opts.Validity = DefaultCAValidity
	}
	if err := checkName(opts.Name); err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	switch opts.KeyBits {
	case 2048, 3072, 4096:
	default:
		return nil, fmt.Errorf("signing: init CA: key size %d bits: want 2048, 3072 or 4096", opts.KeyBits)
	}
	if opts.Validity < 0 {
		return nil, fmt.Errorf("signing: init CA: validity %v is negative", opts.Validity)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	for _, name := range []string{CAKeyFile, CACertFile, CRLFile, IssuedDir} {
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("signing: init CA: %s: %w", path, ErrCAExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("signing: init CA: %w", err)
		}
	}

	ca := &CA{Now: opts.Now, dir: dir}
	key, err := rsa.GenerateKey(rand.Reader, opts.KeyBits)
	if err != nil {
		return nil, fmt.Errorf("signing: init CA: generating the key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.Name, Organization: []string{Organization}},
		NotBefore:             now,
		NotAfter:              now.Add(opts.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true, // agency certificates only, no intermediates
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing: init CA: creating the certificate: %w", err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	ca.key = key
	crl, err := ca.signCRL(nil, big.NewInt(1), now)
	if err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	keyPEM, err := marshalKey(key)
	if err != nil {
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}

	// Write the key first: once it is there, a second InitCA refuses.
	var written []string
	files := []struct {
		name string
		data []byte
		perm fs.FileMode
	}{
		{CAKeyFile, keyPEM, 0o600},
		{CACertFile, pemBytes("CERTIFICATE", der), 0o644},
		{CRLFile, crl, 0o644},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := writeNew(path, f.data, f.perm); err != nil {
			removeAll(written)
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("signing: init CA: %s: %w", path, ErrCAExists)
			}
			return nil, fmt.Errorf("signing: init CA: %w", err)
		}
		written = append(written, path)
	}
	if err := os.Mkdir(filepath.Join(dir, IssuedDir), 0o700); err != nil {
		removeAll(written)
		return nil, fmt.Errorf("signing: init CA: %w", err)
	}
	return ca, nil
}

// OpenCA opens the CA that [InitCA] made in dir. It checks that the CA
// certificate is a CA's and that the key is its key.
func OpenCA(dir string) (*CA, error) {
	certPath := filepath.Join(dir, CACertFile)
	certs, err := LoadCertificates(certPath)
	if err != nil {
		return nil, fmt.Errorf("signing: open CA: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("signing: open CA: %s: %d certificates, want one", certPath, len(certs))
	}
	cert := certs[0]
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("signing: open CA: %s: not a CA certificate", certPath)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	signer, err := LoadPrivateKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("signing: open CA: %w", err)
	}
	key := signer.(*rsa.PrivateKey) // LoadPrivateKey returns RSA keys only
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("signing: open CA: %s is not the key of %s", keyPath, certPath)
	}
	return &CA{dir: dir, cert: cert, key: key}, nil
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Dir returns the CA's directory.
func (ca *CA) Dir() string { return ca.dir }

// String describes the CA by its directory and subject; it never shows the
// key.
func (ca *CA) String() string {
	return fmt.Sprintf("CA %q in %s", ca.cert.Subject.CommonName, ca.dir)
}

func (ca *CA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// Issue makes a certificate for an agency or its gateway, signed by the CA,
// with a new RSA key, and records it in the CA's [IssuedDir].
//
// The subject is CN = req.Name, O = [Organization], OU = [UnitAgency] or
// [UnitGateway], and the agency code twice: as UID (userId,
// 0.9.2342.19200300.100.1.1), the attribute meant for an identifier that
// software reads, and as the subject serialNumber (2.5.4.5), where
// Vietnamese CAs commonly put identifiers such as a tax or agency code, so
// that tools and people used to those certificates find it where they look.
// [AgencyCodeOf] reads it back. The key usage is digital signature and
// content commitment (non-repudiation), with no extended key usage; the
// certificate is not a CA. Its serial number is a random 128-bit number.
func (ca *CA) Issue(req IssueRequest) (*Issued, error) {
	code, err := envelope.ParseAgencyCode(req.Agency, envelope.CodeStrict)
	if err != nil {
		return nil, fmt.Errorf("signing: issue: %w", err)
	}
	if err := checkName(req.Name); err != nil {
		return nil, fmt.Errorf("signing: issue for %s: %w", code, err)
	}
	bits := req.KeyBits
	if bits == 0 {
		bits = DefaultKeyBits
	}
	if bits != 2048 && bits != 3072 {
		return nil, fmt.Errorf("signing: issue for %s: key size %d bits: want 2048 or 3072", code, bits)
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultValidity
	}
	if validity < 0 {
		return nil, fmt.Errorf("signing: issue for %s: validity %v is negative", code, validity)
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = ca.now()
	}
	notAfter := notBefore.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("signing: issue for %s: the CA certificate expires on %s, before the certificate would start",
			code, ca.cert.NotAfter.In(envelope.VietnamTime()).Format("02/01/2006"))
	}
	unit := UnitAgency
	if req.Gateway {
		unit = UnitGateway
	}
	scopes, err := directoryScopeURIs(req.DirectoryScopes)
	if err != nil {
		return nil, fmt.Errorf("signing: issue for %s: %w", code, err)
	}
	if len(scopes) > 0 {
		if req.Gateway {
			return nil, fmt.Errorf("signing: issue for %s: a certificate is a gateway's or a directory administrator's, not both", code)
		}
		unit = UnitDirectory
	}

	key := req.Key
	if key == nil {
		key, err = rsa.GenerateKey(rand.Reader, bits)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: issue for %s: generating the key: %w", code, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("signing: issue for %s: %w", code, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         req.Name,
			Organization:       []string{Organization},
			OrganizationalUnit: []string{unit},
			SerialNumber:       code.String(),
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidUID, Value: code.String()}},
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		IsCA:                  false,
		URIs:                  scopes,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing: issue for %s: creating the certificate: %w", code, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("signing: issue for %s: %w", code, err)
	}
	if err := writeNew(ca.issuedPath(serial), pemBytes("CERTIFICATE", der), 0o644); err != nil {
		return nil, fmt.Errorf("signing: issue for %s: recording the certificate: %w", code, err)
	}
	return &Issued{Certificate: cert, Key: key}, nil
}

func (ca *CA) issuedPath(serial *big.Int) string {
	return filepath.Join(ca.dir, IssuedDir, serial.Text(16)+".crt")
}

// WriteFiles writes the certificate to prefix+".crt" (PEM, mode 0644) and
// the key to prefix+".key" (PKCS#8 PEM, mode 0600). It overwrites nothing:
// if either file exists it writes neither and returns an error wrapping
// [fs.ErrExist].
func (is *Issued) WriteFiles(prefix string) error {
	keyPEM, err := marshalKey(is.Key)
	if err != nil {
		return fmt.Errorf("signing: write files: %w", err)
	}
	keyPath, certPath := prefix+".key", prefix+".crt"
	for _, p := range []string{keyPath, certPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("signing: write files: %s: %w; refusing to overwrite it", p, fs.ErrExist)
		}
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("signing: write files: %w", err)
	}
	if err := writeNew(certPath, pemBytes("CERTIFICATE", is.Certificate.Raw), 0o644); err != nil {
		os.Remove(keyPath)
		return fmt.Errorf("signing: write files: %w", err)
	}
	return nil
}

// WriteP12 writes the key, the certificate and the CA's certificate ca (nil
// to leave it out) as a PKCS#12 file at path (mode 0600), encrypted with
// password as current tools expect (AES-256-CBC, PBKDF2): the form a
// token's exported .p12/.pfx has, which "lienthong edxml sign -p12" and a
// gateway's agencies[].p12 read. It refuses to overwrite a file and an
// empty password.
func (is *Issued) WriteP12(path, password string, ca *x509.Certificate) error {
	if password == "" {
		return errors.New("signing: write PKCS#12: the password is empty")
	}
	var chain []*x509.Certificate
	if ca != nil {
		chain = append(chain, ca)
	}
	pfx, err := pkcs12.Modern.Encode(is.Key, is.Certificate, chain, password)
	if err != nil {
		return fmt.Errorf("signing: write PKCS#12: %w", err)
	}
	if err := writeNew(path, pfx, 0o600); err != nil {
		return fmt.Errorf("signing: write PKCS#12: %w", err)
	}
	return nil
}

// AgencyCodeOf returns the agency code in the subject of cert: from the UID
// attribute if there is one, else from the subject serialNumber (see
// [CA.Issue]). The value must be an agency code that
// envelope.ParseAgencyCode accepts in CodeLenient mode, since certificates
// from other CAs write codes less carefully; the code is returned in its
// canonical text (AgencyCode.String). It reports false when neither
// attribute holds an agency code.
func AgencyCodeOf(cert *x509.Certificate) (string, bool) {
	if cert == nil {
		return "", false
	}
	var candidates []string
	for _, atv := range cert.Subject.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidUID) {
			candidates = append(candidates, s)
		}
	}
	candidates = append(candidates, cert.Subject.SerialNumber)
	for _, s := range candidates {
		if s == "" {
			continue
		}
		if c, err := envelope.ParseAgencyCode(s, envelope.CodeLenient); err == nil {
			return c.String(), true
		}
	}
	return "", false
}

// IsGatewayCertificate reports whether cert is a gateway certificate: its
// subject OU is [UnitGateway].
func IsGatewayCertificate(cert *x509.Certificate) bool {
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == UnitGateway {
			return true
		}
	}
	return false
}

// Revoke adds serial to the CA's CRL with reason, one of the Reason
// constants, and signs the CRL again: its number one higher, ThisUpdate now
// and NextUpdate [CRLValidity] later. The serial number must be one the CA
// issued (its file is in [IssuedDir]); otherwise the error wraps
// [ErrNotIssued]. Revoking a serial number twice returns an error wrapping
// [ErrAlreadyRevoked] and leaves the CRL, with the first revocation's date
// and reason, as it was.
func (ca *CA) Revoke(serial *big.Int, reason int) error {
	if serial == nil || serial.Sign() <= 0 {
		return errors.New("signing: revoke: no serial number")
	}
	switch reason {
	case 0, 1, 2, 3, 4, 5, 6, 9, 10:
	default:
		return fmt.Errorf("signing: revoke %s: reason %d is not a CRL entry reason of RFC 5280", serial.Text(16), reason)
	}
	if _, err := os.Stat(ca.issuedPath(serial)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("signing: revoke %s: %w", serial.Text(16), ErrNotIssued)
		}
		return fmt.Errorf("signing: revoke %s: %w", serial.Text(16), err)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	crl, err := ca.CRL()
	if err != nil {
		return fmt.Errorf("signing: revoke %s: %w", serial.Text(16), err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return fmt.Errorf("signing: revoke %s: %w on %s", serial.Text(16), ErrAlreadyRevoked,
				e.RevocationTime.In(envelope.VietnamTime()).Format("02/01/2006 15:04:05"))
		}
	}
	now := ca.now()
	entries := append(entryTemplates(crl.RevokedCertificateEntries), x509.RevocationListEntry{
		SerialNumber:   serial,
		RevocationTime: now,
		ReasonCode:     reason,
	})
	if err := ca.writeCRL(entries, crl.Number, now); err != nil {
		return fmt.Errorf("signing: revoke %s: %w", serial.Text(16), err)
	}
	return nil
}

// RevokeCertificate revokes cert, which must be one the CA issued, with
// reason [ReasonUnspecified]: see [CA.Revoke].
func (ca *CA) RevokeCertificate(cert *x509.Certificate) error {
	if err := ca.checkIssued(cert); err != nil {
		return err
	}
	return ca.Revoke(cert.SerialNumber, ReasonUnspecified)
}

// checkIssued returns an error wrapping ErrNotIssued unless cert is the
// certificate recorded for its serial number in IssuedDir.
func (ca *CA) checkIssued(cert *x509.Certificate) error {
	if cert == nil || cert.SerialNumber == nil {
		return errors.New("signing: revoke: no certificate")
	}
	hex := cert.SerialNumber.Text(16)
	if err := cert.CheckSignatureFrom(ca.cert); err != nil {
		return fmt.Errorf("signing: revoke %s (%s): %w", hex, cert.Subject.CommonName, ErrNotIssued)
	}
	certs, err := LoadCertificates(ca.issuedPath(cert.SerialNumber))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("signing: revoke %s (%s): %w", hex, cert.Subject.CommonName, ErrNotIssued)
	case err != nil:
		return fmt.Errorf("signing: revoke %s: %w", hex, err)
	case len(certs) != 1 || !bytes.Equal(certs[0].Raw, cert.Raw):
		return fmt.Errorf("signing: revoke %s (%s): not the certificate recorded for that serial number: %w",
			hex, cert.Subject.CommonName, ErrNotIssued)
	}
	return nil
}

// RefreshCRL signs the CRL again with the same entries, its number one
// higher, ThisUpdate now and NextUpdate [CRLValidity] later: a CRL whose
// NextUpdate has passed is stale, and verifiers may refuse to rely on it.
func (ca *CA) RefreshCRL() error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	crl, err := ca.CRL()
	if err != nil {
		return fmt.Errorf("signing: refresh CRL: %w", err)
	}
	if err := ca.writeCRL(entryTemplates(crl.RevokedCertificateEntries), crl.Number, ca.now()); err != nil {
		return fmt.Errorf("signing: refresh CRL: %w", err)
	}
	return nil
}

// CRL returns the CA's current CRL, after checking that the CA signed it.
func (ca *CA) CRL() (*x509.RevocationList, error) {
	path := filepath.Join(ca.dir, CRLFile)
	crl, err := LoadCRL(path)
	if err != nil {
		return nil, err
	}
	if err := crl.CheckSignatureFrom(ca.cert); err != nil {
		return nil, fmt.Errorf("signing: %s is not signed by the CA: %w", path, err)
	}
	return crl, nil
}

// entryTemplates copies parsed CRL entries into entries fit for
// x509.CreateRevocationList.
func entryTemplates(parsed []x509.RevocationListEntry) []x509.RevocationListEntry {
	out := make([]x509.RevocationListEntry, 0, len(parsed)+1)
	for _, e := range parsed {
		out = append(out, x509.RevocationListEntry{
			SerialNumber:   e.SerialNumber,
			RevocationTime: e.RevocationTime,
			ReasonCode:     e.ReasonCode,
		})
	}
	return out
}

// writeCRL signs a CRL numbered prev+1 and puts it in place of the CRL file
// in one rename.
func (ca *CA) writeCRL(entries []x509.RevocationListEntry, prev *big.Int, now time.Time) error {
	number := big.NewInt(1)
	if prev != nil {
		number.Add(number, prev)
	}
	data, err := ca.signCRL(entries, number, now)
	if err != nil {
		return err
	}
	return replaceFile(filepath.Join(ca.dir, CRLFile), data, 0o644)
}

// signCRL returns a CRL in PEM.
func (ca *CA) signCRL(entries []x509.RevocationListEntry, number *big.Int, now time.Time) ([]byte, error) {
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                now,
		NextUpdate:                now.Add(CRLValidity),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing the CRL: %w", err)
	}
	return pemBytes("X509 CRL", der), nil
}

// checkName checks a subject common name.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("the name is empty")
	case !utf8.ValidString(name):
		return errors.New("the name is not valid UTF-8")
	case utf8.RuneCountInString(name) > 64:
		return fmt.Errorf("the name has %d characters, more than the 64 a common name allows", utf8.RuneCountInString(name))
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("the name has control characters")
	}
	return nil
}

// randomSerial returns a random positive serial number of at most 128 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("random serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func marshalKey(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errors.New("encoding the private key in PKCS#8 failed")
	}
	return pemBytes("PRIVATE KEY", der), nil
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeNew writes data to a new file with mode perm, whatever the umask;
// it fails if the file exists. A file it could not finish is removed.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	err = fill(f, data, perm)
	if err != nil {
		os.Remove(path)
	}
	return err
}

// fill writes data to f with mode perm (whatever the umask), syncs and
// closes it.
func fill(f *os.File, data []byte, perm fs.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile puts data in place of path in one rename, so readers see the
// old file or the new one, never a part.
func replaceFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f, data, perm)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func removeAll(paths []string) {
	for _, p := range paths {
		os.Remove(p)
	}
}
