package signing

import "errors"

// Errors of signing. Verification reports its outcomes as a Verdict, not
// as errors.
var (
	// ErrKey: the key cannot sign edXML packets (not RSA, wrong size, or
	// not the certificate's key).
	ErrKey = errors.New("signing: unusable signing key")
	// ErrAlreadySigned: the packet already carries a Signature; a packet
	// has exactly one.
	ErrAlreadySigned = errors.New("signing: the packet is already signed")
	// ErrNotSignable: the packet is not an edXML packet the signer can
	// place a Signature in.
	ErrNotSignable = errors.New("signing: the packet cannot be signed")
)

// Causes of verdicts other than valid, grouped by stage. A [Verdict]'s
// Cause is one of these, for errors.Is.
var (
	// Reading.
	ErrUnreadablePacket   = errors.New("signing: the packet cannot be read")
	ErrNoSignature        = errors.New("signing: no Signature")
	ErrManySignatures     = errors.New("signing: more than one Signature")
	ErrSignatureNamespace = errors.New("signing: the Signature is not in the XML-DSig namespace")
	ErrSignaturePlace     = errors.New("signing: the Signature is not in edXMLHeader")
	ErrSignatureShape     = errors.New("signing: the Signature does not have the shape lienthong accepts")
	// Algorithms.
	ErrAlgorithmNotAllowed = errors.New("signing: algorithm not allowed")
	// Certificate.
	ErrBadCertificate     = errors.New("signing: the signer certificate cannot be read")
	ErrCertificateExpired = errors.New("signing: the signer certificate is not valid at this time")
	ErrUntrustedChain     = errors.New("signing: the signer certificate does not chain to a trusted CA")
	ErrCertificateRevoked = errors.New("signing: the signer certificate is revoked")
	// Cryptography.
	ErrSignatureMismatch = errors.New("signing: the digest or the signature does not match")
	// Binding.
	ErrSignerNotRegistered = errors.New("signing: the signer certificate is not registered for the sender")
)

// Why core validation failed; both are reported as the invalid verdict.
var (
	errDigestMismatch    = errors.New("the digest of the packet does not match the signed DigestValue")
	errSignatureMismatch = errors.New("the SignatureValue does not match SignedInfo and the signer's key")
)

// Errors of the development CA. They are wrapped with the operation and the
// file or serial number concerned; test them with [errors.Is].
var (
	// ErrCAExists: InitCA found a CA file already in the directory.
	ErrCAExists = errors.New("a CA already exists there; refusing to overwrite it")
	// ErrNotIssued: the certificate or serial number was not issued by
	// this CA.
	ErrNotIssued = errors.New("not issued by this CA")
	// ErrAlreadyRevoked: the serial number is already in the CRL, which
	// is left as it was. Callers that want revocation to be idempotent
	// treat it as success.
	ErrAlreadyRevoked = errors.New("already revoked")
)
