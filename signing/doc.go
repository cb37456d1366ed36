// Package signing holds what a lienthong gateway needs to sign the edXML
// packets it sends and to judge the signatures on those it receives: keys,
// certificates, the trust store, XML-DSig signing and verification, and
// verdicts.
//
// # Signatures
//
// A packet carries exactly one enveloped XML-DSig Signature, RSA-SHA256 with
// exclusive canonicalisation, covering the whole packet (URI=""). It sits in
// edXML:edXMLHeader after TraceHeaderList, or after MessageHeader in a status
// packet, which has no trace list; status packets are signed too, because a
// status is evidence. Verification checks that there is exactly one
// Signature, that its algorithms are on the allow-list, that the signer
// certificate chains to the configured CA pool with the right key usage,
// inside its validity and not revoked, and that it is registered in the
// directory for the packet's From/OrganId (or for the gateway hosting that
// agency). The outcome is a verdict that names the cause of a failure with a
// documented sentinel error and gives the operator a hint. Business data is
// read only from the tree that verification returns, never from the bytes
// that were received.
//
// SHA-1 is refused as weak-algorithm unless the verifier's [Policy] allows
// it for packets from systems that cannot yet sign with SHA-256; such a
// verdict is valid but marked Legacy. The Signature is built and XML-DSig
// core validation is done in this package, with goxmldsig's
// canonicalisers, for the reasons given on Signer.signature and
// checkSignature: goxmldsig's validator gives up on packets of more than
// 1000 elements, cannot check SHA-1 at all and re-parses the whole packet,
// and neither of its halves can stream the packet's canonical form into
// the digest, which for a 67 MB packet is the difference between holding
// it once and holding it three times.
//
// # Development PKI
//
// [InitCA] makes a small certificate authority kept in a directory, [OpenCA]
// opens it again, [CA.Issue] makes agency and gateway certificates carrying
// the agency code (mã định danh) in their subject, read back with
// [AgencyCodeOf], and [CA.Revoke] publishes revocations in the CA's CRL. The
// command "lienthong pki" is built on them. It is meant for development,
// tests and demonstrations; production agencies use certificates from a
// licensed Vietnamese CA, which the same verification accepts once their CA
// is in the trust store. [LoadCertificates], [LoadPrivateKey] and [LoadCRL]
// read PEM files from either kind of CA.
//
// # Private keys
//
// Private keys are written in PKCS#8 PEM with mode 0600 and never over an
// existing file. Their bytes never appear in an error message, a log line or
// any output of this package: a key file that cannot be read is reported by
// its path and what is wrong with it, never by its content.
//
// The package depends on goxmldsig, etree, the envelope package and the
// standard library.
package signing
