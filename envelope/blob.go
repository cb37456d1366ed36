package envelope

// Attachments are base64 text, often tens of megabytes of it in one text
// node. The reader does not copy such a node: when the whole of it is a run
// of base64 characters and white space of blobMin bytes or more, holding
// no CR to normalise, its string shares the input's memory (see readXML
// and Parser.ReadTree), and FromTree copies what a Packet keeps of it
// (mayShareInput), but for the text of an attachment it does not decode
// (content.go).

// blobMin is the shortest text node that may share the input's memory. A
// signature's certificate and value are longer, and are not copied either.
const blobMin = 256

// blobBytes are the bytes a shared run may hold: base64's and white space.
var blobBytes = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\n\r") {
		t[c] = true
	}
	return t
}()
