// Package web is the clerk's page of a gateway: server-rendered HTML in
// Vietnamese for the văn thư of the agencies it hosts.
//
// A clerk signs in with a user name and password from the gateway's
// configuration (bcrypt hashes) and sees only the documents of the
// agencies the configuration gives them:
//
//   - Văn bản đi (/di): outgoing documents, one coloured chip per
//     recipient showing where it stands, filters, overdue documents marked;
//     the recipient filter takes a code or a part of a name, letter case
//     and Vietnamese marks ignored ("nghe an" finds "UBND tỉnh Nghệ An"),
//     looked for in the directory once per request, and suggests at most
//     300 agencies (the ministries and provinces, and those of the clerk's
//     own ministry or province), never the whole directory;
//   - Văn bản đến (/den): incoming documents, the same filters (the sender
//     by code or name);
//   - Chi tiết (/van-ban/{id}): the metadata, the attachments, the signature
//     verdict in plain words, each recipient's state and the timeline of
//     every event; the statuses the clerk may send (03, 02 with a reason,
//     04, 05, 06, 15, 16 on an incoming document; 13 on an outgoing one);
//   - Danh bạ (/danh-ba): the agencies of the axis, 200 a page in the order
//     of their codes, searchable by a part of a code or name; their tier
//     (from the kind their entry gives, else from the code's level) and
//     whether their gateway is live.
//
// Every page works without JavaScript. A small script listens to /su-kien
// (server-sent events: the ids of the clerk's documents that changed) and
// refreshes the parts of the page marked data-live. The stream starts
// from the version of the gateway's changes the page was rendered at, so
// that a change between the page and its stream is not lost.
//
// Security: sessions live in memory (a restart signs clerks out) and end
// after an idle timeout and an absolute lifetime; the cookie is HttpOnly,
// SameSite=Lax and Secure unless Options.InsecureCookies; every form
// carries a CSRF token tied to the session (the login form one tied to a
// short-lived cookie), and requests that browsers mark cross-origin are
// refused as well (http.CrossOriginProtection). After signing in, the
// browser goes back only to a path of this site. Wrong passwords are
// throttled by client address, by address and user name, and by user
// name: a client that keeps failing waits a doubling delay (429 with
// Retry-After, no password checked meanwhile), but no one can lock a
// clerk out, since a client without recent failures is always checked.
// The address is the connection's, except from a proxy listed in
// Options.TrustedProxies: then it is the rightmost address of
// X-Forwarded-For that is not a trusted proxy, so that behind a reverse
// proxy each clerk has their own delays rather than sharing the proxy's
// with every stranger. X-Forwarded-For from anyone else is ignored.
//
// Templates and assets are embedded; assets are served under URLs that
// carry their checksum, cached for a year.
//
// # What it is handed
//
// [New] takes the gateway as a [Gateway]: the roles of package gateway
// the page needs (reading documents, posting their statuses, changes,
// hosting, the directory, heartbeats), not the whole *gateway.Gateway:
// it cannot send a packet; and the quarterly reports (Báo cáo,
// /bao-cao) as a gateway.Reports, which the binary makes with
// gateway/rollup, showing of a report its gateway.ReportHighlights, its
// charts and its files. It imports no other face: numbers are
// written by internal/vnfmt, which gateway/report uses too, search text
// folded by internal/vntext, downloads named by
// gateway/internal/disposition, as the API's are.
package web
