package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/web"
	"github.com/lienthong/lienthong/internal/testkit"
)

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not show %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("%s shows %q", what, w)
		}
	}
}

// TestWeb_Exchange: the sender's clerk sees the document and each
// recipient's chip; the recipient's clerk accepts it and then another one
// is refused with a reason, and the sender's page says so; attachments
// download; dates are dd/mm/yyyy.
func TestWeb_Exchange(t *testing.T) {
	a := newAxis(t, nil)
	id := a.vpcp.send(t, testkit.Letter{
		From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea, hcm},
		Subject: "V/v tăng cường kết nối liên thông văn bản điện tử", Priority: envelope.PriorityUrgent,
		Attachments: []testkit.File{{Name: "Công văn số 15.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 nội dung\n%%EOF\n")}},
	})
	in := a.nghean.incoming(t, a.vpcp, id, nghea)
	testkit.Eventually(t, "01 at the sender", func() bool { return a.vpcp.state(t, id, nghea) == envelope.StateArrived })

	sender := newClient(t, a.vpcp)
	sender.login("vanthu.vpcp")
	p := sender.get("/di")
	mustContain(t, "Văn bản đi", p.body, "V/v tăng cường kết nối liên thông văn bản điện tử", "15/VPCP-TH",
		"UBND tỉnh Nghệ An", "Đã đến", "Khẩn", time.Now().In(envelope.VietnamTime()).Format("02/01/2006"))

	p = sender.get("/van-ban/" + id)
	if n := strings.Count(p.body, "Chữ ký số hợp lệ"); n != 1 {
		t.Errorf("Chi tiết says \"Chữ ký số hợp lệ\" %d times, want once", n)
	}
	mustContain(t, "Chi tiết", p.body, "Chữ ký số hợp lệ", "Văn phòng Chính phủ (000.00.00.G22)", "Mã định danh văn bản", "Công văn số 15.pdf", "Dòng thời gian",
		"Đã chuyển lên trục liên thông tới UBND tỉnh Nghệ An", "UBND tỉnh Nghệ An: Đã đến")
	p = sender.get("/van-ban/" + id + "/dinh-kem/1")
	if p.status != http.StatusOK || p.body != "%PDF-1.4 nội dung\n%%EOF\n" || p.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("attachment: %d %q %q", p.status, p.header.Get("Content-Type"), p.body)
	}
	if cd := p.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "C%C3%B4ng") {
		t.Errorf("attachment's Content-Disposition: %q", cd)
	}

	recipient := newClient(t, a.nghean)
	token := recipient.login("vanthu.nghean")
	p = recipient.get("/den")
	mustContain(t, "Văn bản đến", p.body, "V/v tăng cường kết nối liên thông văn bản điện tử", "Văn phòng Chính phủ", "Hợp lệ")
	p = recipient.get("/van-ban/" + in)
	mustContain(t, "Chi tiết (đến)", p.body, "Tiếp nhận", "Từ chối tiếp nhận", "Chữ ký số hợp lệ")
	p = recipient.post("/van-ban/"+in+"/trang-thai", url.Values{"csrf": {token}, "ma": {"03"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("03 from the page: %d\n%s", p.status, p.body)
	}
	p = recipient.get(p.header.Get("Location"))
	mustContain(t, "Chi tiết after 03", p.body, "Đã ghi nhận và gửi trạng thái “Đã tiếp nhận”", "Phân công xử lý")
	testkit.Eventually(t, "03 at the sender", func() bool { return a.vpcp.state(t, id, nghea) == envelope.StateAccepted })
	mustContain(t, "Văn bản đi after 03", sender.get("/di").body, "Đã tiếp nhận")

	// A refusal needs a reason, and the sender sees it.
	id2 := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}, Number: "16", Subject: "V/v văn bản gửi nhầm"})
	in2 := a.nghean.incoming(t, a.vpcp, id2, nghea)
	p = recipient.post("/van-ban/"+in2+"/trang-thai", url.Values{"csrf": {token}, "ma": {"02"}, "ly-do": {"  "}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("02 without a reason: %d", p.status)
	}
	mustContain(t, "02 without a reason", p.body, "Vui lòng nhập lý do")
	const reason = "Văn bản không thuộc thẩm quyền giải quyết của UBND tỉnh"
	p = recipient.post("/van-ban/"+in2+"/trang-thai", url.Values{"csrf": {token}, "ma": {"02"}, "ly-do": {reason}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("02 with a reason: %d\n%s", p.status, p.body)
	}
	testkit.Eventually(t, "02 at the sender", func() bool { return a.vpcp.state(t, id2, nghea) == envelope.StateRejected })
	mustContain(t, "Văn bản đi after 02", sender.get("/di").body, "Từ chối tiếp nhận, lý do: "+reason)
	mustContain(t, "Chi tiết after 02", sender.get("/van-ban/"+id2).body, "UBND tỉnh Nghệ An: Từ chối tiếp nhận", reason, "Người xử lý: Trần Văn Hùng")

	// A status the lifecycle does not take now is refused with its reason.
	p = recipient.post("/van-ban/"+in2+"/trang-thai", url.Values{"csrf": {token}, "ma": {"06"}})
	if p.status != http.StatusConflict {
		t.Errorf("06 after 02: %d", p.status)
	}
	mustContain(t, "06 after 02", p.body, "Không gửi được trạng thái “Hoàn thành”")

	// Filters.
	mustContain(t, "state filter", sender.get("/di?trang-thai=rejected").body, "V/v văn bản gửi nhầm")
	mustNotContain(t, "state filter", sender.get("/di?trang-thai=rejected").body, "V/v tăng cường")
	mustContain(t, "recipient filter", sender.get("/di?don-vi-lien-quan="+hcm).body, "V/v tăng cường")
	mustNotContain(t, "recipient filter", sender.get("/di?don-vi-lien-quan="+hcm).body, "V/v văn bản gửi nhầm")
	// By a part of a name, letter case and marks ignored, as well as by
	// code.
	for _, name := range []string{"Hồ Chí Minh", "thành phố HỒ CHÍ", "ho chi  minh", "H29", "UBND Thành phố Hồ Chí Minh (" + hcm + ")"} {
		p := sender.get("/di?don-vi-lien-quan=" + url.QueryEscape(name))
		mustContain(t, "recipient filter "+name, p.body, "V/v tăng cường")
		mustNotContain(t, "recipient filter "+name, p.body, "V/v văn bản gửi nhầm")
	}
	mustContain(t, "recipient filter nghe an", sender.get("/di?don-vi-lien-quan=nghe+an").body, "V/v tăng cường", "V/v văn bản gửi nhầm")
	p = sender.get("/di?don-vi-lien-quan=" + url.QueryEscape("Bộ Ngoại giao"))
	if p.status != http.StatusBadRequest {
		t.Errorf("recipient filter with a name no agency has: %d", p.status)
	}
	mustContain(t, "recipient filter with a name no agency has", p.body, "Không có cơ quan nào có mã hoặc tên “Bộ Ngoại giao” trong danh bạ")
	mustContain(t, "sender filter", recipient.get("/den?don-vi-lien-quan="+url.QueryEscape("văn phòng chính phủ")).body, "V/v tăng cường", "V/v văn bản gửi nhầm")
	mustContain(t, "sender filter", recipient.get("/den?don-vi-lien-quan="+url.QueryEscape("van phong chinh phu")).body, "V/v tăng cường")
	mustContain(t, "sender filter", recipient.get("/den?don-vi-lien-quan="+url.QueryEscape(vpcp)).body, "V/v tăng cường")
	p = recipient.get("/den?don-vi-lien-quan=" + url.QueryEscape("Hồ Chí Minh"))
	mustNotContain(t, "sender filter", p.body, "V/v tăng cường")
	mustContain(t, "sender filter", p.body, "Không có văn bản đến nào phù hợp", `placeholder="Mã hoặc tên"`)
	mustContain(t, "text filter", sender.get("/di?q=g%E1%BB%ADi+nh%E1%BA%A7m").body, "V/v văn bản gửi nhầm")
	yesterday := time.Now().In(envelope.VietnamTime()).AddDate(0, 0, -1)
	mustNotContain(t, "date filter", sender.get("/di?den-ngay="+yesterday.Format(time.DateOnly)).body, "V/v văn bản gửi nhầm")
	mustContain(t, "date filter", sender.get("/di?tu-ngay="+yesterday.Format("02/01/2006")).body, "V/v văn bản gửi nhầm")
	p = sender.get("/di?tu-ngay=31/02/2026&trang-thai=bogus")
	if p.status != http.StatusBadRequest {
		t.Errorf("bad filter: %d", p.status)
	}
	mustContain(t, "bad filter", p.body, "“Từ ngày” “31/02/2026” không phải một ngày", "Trạng thái “bogus” không có trong danh mục")

	// A recall goes to the recipients that can take it; the recipient's
	// clerk can answer it.
	inHCM := a.hcm.incoming(t, a.vpcp, id, hcm)
	if err := a.hcm.gw.PostStatus(t.Context(), gateway.StatusRequest{Document: inHCM, Code: envelope.StatusRejected, Description: "Không thuộc thẩm quyền"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "02 from TP.HCM", func() bool { return a.vpcp.state(t, id, hcm) == envelope.StateRejected })
	senderToken := csrf(t, sender.get("/van-ban/"+id).body)
	p = sender.post("/van-ban/"+id+"/trang-thai", url.Values{"csrf": {senderToken}, "ma": {"13"}, "ly-do": {"Gửi nhầm phiên bản"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("recall with one recipient refused: %d\n%s", p.status, p.body)
	}
	if s := a.vpcp.state(t, id, nghea); s != envelope.StateRecallRequested {
		t.Errorf("the recall left Nghệ An's delivery %s", s)
	}
	if s := a.vpcp.state(t, id, hcm); s != envelope.StateRejected {
		t.Errorf("the recall changed TP.HCM's refused delivery to %s", s)
	}
	testkit.Eventually(t, "13 at Nghệ An", func() bool { return a.nghean.state(t, in, nghea) == envelope.StateRecallRequested })
	mustContain(t, "Chi tiết (đến) after 13", recipient.get("/van-ban/"+in).body, "Đồng ý lấy lại", "Từ chối lấy lại", "Yêu cầu lấy lại", "Gửi nhầm phiên bản")

	// Báo cáo opens on this quarter: the gateway has no document before
	// it, and the last one would be an empty report.
	current := report.QuarterOf(time.Now()).String()
	if p := sender.get("/bao-cao"); !strings.Contains(p.body, `<option value="`+current+`" selected>`) {
		t.Errorf("Báo cáo does not open on %s", current)
	}
	// Báo cáo: this quarter's figures, charts and files.
	q := "/bao-cao?quy=" + url.QueryEscape(report.QuarterOf(time.Now()).String()) + "&paperOutgoing=4"
	p = sender.get(q)
	if p.status != http.StatusOK {
		t.Fatalf("Báo cáo: %d\n%s", p.status, p.body)
	}
	mustContain(t, "Báo cáo", p.body, "Văn phòng Chính phủ — "+report.QuarterOf(time.Now()).Label(), "Văn bản đi điện tử", "<svg", "Tải báo cáo", "dinh-dang=xlsx")
	if n := strings.Count(p.body, "<svg"); n != 3 {
		t.Errorf("Báo cáo has %d charts, want 3", n)
	}
	p = sender.get(strings.Replace(q, "/bao-cao?", "/bao-cao/tai-ve?dinh-dang=json&", 1))
	var rep report.Report
	if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &rep) != nil || rep.Use.Outgoing != 2 || rep.Use.PaperOutgoing.Value != 4 {
		t.Errorf("the report's JSON: %d %+v", p.status, rep.Use)
	}
	p = sender.get(strings.Replace(q, "/bao-cao?", "/bao-cao/tai-ve?dinh-dang=xlsx&", 1))
	if p.status != http.StatusOK || !strings.HasPrefix(p.body, "PK") || !strings.Contains(p.header.Get("Content-Disposition"), "bao-cao-lien-thong_G22_") {
		t.Errorf("the report's XLSX: %d %q", p.status, p.header.Get("Content-Disposition"))
	}
	if p := sender.get("/bao-cao?don-vi=" + nghea); p.status != http.StatusBadRequest || !strings.Contains(p.body, "không thuộc quyền của bạn") {
		t.Errorf("another agency's report: %d", p.status)
	}

	// Danh bạ: search without marks, tiers, live gateways.
	p = sender.get("/danh-ba?q=nghe+an")
	mustContain(t, "Danh bạ", p.body, "UBND tỉnh Nghệ An", "Sở Y tế tỉnh Nghệ An", "Ủy ban nhân dân tỉnh, thành phố trực thuộc trung ương", "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh", "Đang hoạt động", "2 cơ quan trên tổng số 4")
	mustNotContain(t, "Danh bạ", p.body, "Thành phố Hồ Chí Minh")
}

// TestWeb_Scope: a clerk sees only the documents of their own agencies,
// even on the same gateway, and cannot act on others'.
func TestWeb_Scope(t *testing.T) {
	a := newAxis(t, nil)
	id := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}, Subject: "V/v chỉ gửi UBND tỉnh"})
	in := a.nghean.incoming(t, a.vpcp, id, nghea)

	other := newClient(t, a.nghean)
	token := other.login("vanthu.soyte") // Sở Y tế, on the same gateway
	for _, path := range []string{"/den", "/di", "/den?q=ch%E1%BB%89"} {
		p := other.get(path)
		if p.status != http.StatusOK {
			t.Errorf("%s: %d", path, p.status)
		}
		mustNotContain(t, "Sở Y tế's "+path, p.body, "V/v chỉ gửi UBND tỉnh", in)
	}
	for _, path := range []string{"/van-ban/" + in, "/van-ban/" + in + "/dinh-kem/1"} {
		p := other.get(path)
		if p.status != http.StatusNotFound {
			t.Errorf("Sở Y tế's GET %s: %d, want 404", path, p.status)
		}
		mustNotContain(t, "Sở Y tế's "+path, p.body, "V/v chỉ gửi UBND tỉnh", "%PDF")
	}
	p := other.post("/van-ban/"+in+"/trang-thai", url.Values{"csrf": {token}, "ma": {"02"}, "ly-do": {"thử"}})
	if p.status != http.StatusNotFound {
		t.Errorf("Sở Y tế's status on UBND's document: %d, want 404", p.status)
	}
	if s := a.nghean.state(t, in, nghea); s != envelope.StateArrived {
		t.Errorf("the document's state is %s after another agency's attempt", s)
	}
	// The sender's gateway's document is not the recipient clerk's either.
	p = other.get("/van-ban/" + id)
	if p.status != http.StatusNotFound {
		t.Errorf("a document id of another gateway: %d", p.status)
	}
	// A clerk of another gateway sees nothing of it.
	hcmClerk := newClient(t, a.hcm)
	hcmClerk.login("vanthu.hcm")
	mustNotContain(t, "TP.HCM's lists", hcmClerk.get("/den").body+hcmClerk.get("/di").body, "V/v chỉ gửi UBND tỉnh")
}

// TestWeb_CSRF: every form refuses a missing or wrong token, and nothing
// is done; requests a browser marks cross-site are refused too.
func TestWeb_CSRF(t *testing.T) {
	a := newAxis(t, nil)
	id := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}})
	in := a.nghean.incoming(t, a.vpcp, id, nghea)
	c := newClient(t, a.nghean)
	token := c.login("vanthu.nghean")

	for name, form := range map[string]url.Values{
		"missing": {"ma": {"03"}},
		"wrong":   {"ma": {"03"}, "csrf": {token + "x"}},
		"empty":   {"ma": {"03"}, "csrf": {""}},
	} {
		p := c.post("/van-ban/"+in+"/trang-thai", form)
		if p.status != http.StatusForbidden {
			t.Errorf("status with a %s token: %d, want 403", name, p.status)
		}
		mustContain(t, "refused form", p.body, "thiếu mã xác thực biểu mẫu")
	}
	if p := c.post("/dang-xuat", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("sign-out without a token: %d", p.status)
	}
	if s := a.nghean.state(t, in, nghea); s != envelope.StateArrived {
		t.Fatalf("state %s after refused forms", s)
	}
	// The session still works with the right token.
	if p := c.post("/van-ban/"+in+"/trang-thai", url.Values{"csrf": {token}, "ma": {"03"}}); p.status != http.StatusSeeOther {
		t.Errorf("status with the token: %d", p.status)
	}

	// The sign-in form has its own token, tied to a cookie.
	fresh := newClient(t, a.nghean)
	p := fresh.get("/dang-nhap")
	p = fresh.post("/dang-nhap", url.Values{"username": {"vanthu.nghean"}, "password": {password}})
	if p.status != http.StatusForbidden || fresh.jar.cookies["lienthong_session"] != nil {
		t.Errorf("sign-in without a token: %d", p.status)
	}
	stranger := newClient(t, a.nghean)
	p = stranger.post("/dang-nhap", url.Values{"csrf": {csrf(t, fresh.get("/dang-nhap").body)}, "username": {"vanthu.nghean"}, "password": {password}})
	if p.status != http.StatusForbidden {
		t.Errorf("sign-in with another browser's token: %d", p.status)
	}

	// A cross-site request is refused whatever it carries.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, a.nghean.srv.URL+"/van-ban/"+in+"/trang-thai",
		strings.NewReader(url.Values{"csrf": {token}, "ma": {"04"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", res.StatusCode)
	}
}

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// TestWeb_Sessions: sessions end after the idle timeout and the maximum
// age; a form sent on an ended session is refused and nothing is done; a
// page sends the browser to sign in and back; cookies carry HttpOnly,
// Secure and SameSite. (Wrong passwords: TestWeb_SignInThrottle.)
func TestWeb_Sessions(t *testing.T) {
	clk := &clock{t: time.Now()}
	a := newAxis(t, func(o *web.Options) {
		o.Now, o.IdleTimeout, o.MaxSessionAge = clk.Now, 30*time.Minute, 2*time.Hour
	})
	id := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}})
	in := a.nghean.incoming(t, a.vpcp, id, nghea)

	c := newClient(t, a.nghean)
	p := c.get("/dang-nhap")
	p = c.post("/dang-nhap", url.Values{"csrf": {csrf(t, p.body)}, "username": {"vanthu.nghean"}, "password": {password}, "tiep": {"/van-ban/" + in}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/van-ban/"+in {
		t.Fatalf("sign-in back to the document: %d %q", p.status, p.header.Get("Location"))
	}
	cookie := strings.Join(p.header.Values("Set-Cookie"), "\n")
	mustContain(t, "the session cookie", cookie, "lienthong_session=", "HttpOnly", "Secure", "SameSite=Lax")
	token := csrf(t, c.get("/van-ban/"+in).body)

	// Used within the idle timeout, the session lives on.
	clk.Add(20 * time.Minute)
	if p := c.get("/den"); p.status != http.StatusOK {
		t.Fatalf("after 20 minutes: %d", p.status)
	}
	clk.Add(31 * time.Minute)
	p = c.post("/van-ban/"+in+"/trang-thai", url.Values{"csrf": {token}, "ma": {"03"}})
	if p.status != http.StatusUnauthorized {
		t.Errorf("a form after the idle timeout: %d, want 401", p.status)
	}
	mustContain(t, "expired form", p.body, "Phiên làm việc đã hết hạn", "chưa được thực hiện", `name="tiep" value="/van-ban/`+in+`"`)
	if s := a.nghean.state(t, in, nghea); s != envelope.StateArrived {
		t.Errorf("state %s after a form on an expired session", s)
	}
	p = c.get("/den")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/dang-nhap?") {
		t.Errorf("a page after the timeout: %d to %q", p.status, p.header.Get("Location"))
	}

	// However busy, a session ends at its maximum age.
	token = c.login("vanthu.nghean")
	for range 5 {
		clk.Add(25 * time.Minute)
		c.get("/den")
	}
	p = c.post("/van-ban/"+in+"/trang-thai", url.Values{"csrf": {token}, "ma": {"03"}})
	if p.status != http.StatusUnauthorized {
		t.Errorf("a form after the maximum age: %d, want 401", p.status)
	}

	// Signing out ends the session on the server.
	token = c.login("vanthu.nghean")
	old := c.jar.cookies["lienthong_session"].Value
	if p := c.post("/dang-xuat", url.Values{"csrf": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	c.jar.SetCookies(nil, []*http.Cookie{{Name: "lienthong_session", Value: old}})
	if p := c.get("/den"); p.status != http.StatusSeeOther {
		t.Errorf("the old cookie after sign-out: %d", p.status)
	}
}

// TestWeb_SignInRedirect: after signing in, the browser goes back to the
// page it came from only if that is a page of this site; whatever else
// the form's "tiep" says, it lands on the outgoing documents, never on
// another host, even as a browser reads the Location (dropping tabs and
// line breaks, '\' for '/').
func TestWeb_SignInRedirect(t *testing.T) {
	s := newPage(t, nil)
	base, err := url.Parse(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// local reports whether loc, read as a browser does, stays on this
	// host (https://url.spec.whatwg.org/#concept-basic-url-parser).
	local := func(loc string) bool {
		loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
		loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
		u, err := url.Parse(loc)
		return err == nil && base.ResolveReference(u).Host == base.Host
	}
	for _, tc := range []struct{ tiep, want string }{
		{"/van-ban-den?trang=2", "/van-ban-den?trang=2"},
		{"/den?q=c%C3%B4ng%20v%C4%83n", "/den?q=c%C3%B4ng%20v%C4%83n"},
		{"/van-ban/abc", "/van-ban/abc"},
		{"/%09/evil.example", "/di"},
		{"/\t/evil.example", "/di"},
		{"\t/\t/evil.example", "/di"},
		{"/\r\n/evil.example", "/di"},
		{"//evil.example", "/di"},
		{"/\\evil.example", "/di"},
		{"/%2F%2Fevil.example", "/di"},
		{"/%5Cevil.example", "/di"},
		{"/di%0d%0aLocation:%20https://evil.example", "/di"},
		{"https:evil.example", "/di"},
		{"https://evil.example/di", "/di"},
		{"//vanthu@evil.example", "/di"},
		{"/\u3000/evil.example", "/di"},
		{"/\u00a0/evil.example", "/di"},
		{"/" + strings.Repeat("x", 5000), "/di"},
		{"/dang-nhap", "/di"},
	} {
		c := newClient(t, s)
		p := c.get("/dang-nhap?tiep=" + url.QueryEscape(tc.tiep))
		p = c.post("/dang-nhap", url.Values{"csrf": {csrf(t, p.body)}, "username": {"vanthu.vpcp"}, "password": {password}, "tiep": {tc.tiep}})
		loc := p.header.Get("Location")
		if p.status != http.StatusSeeOther || loc != tc.want || !local(loc) {
			t.Errorf("sign-in with tiep=%q: %d to %q, want %q", tc.tiep, p.status, loc, tc.want)
		}
		// Signed in already, the sign-in page sends the browser on too.
		p = c.get("/dang-nhap?tiep=" + url.QueryEscape(tc.tiep))
		if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || loc != tc.want || !local(loc) {
			t.Errorf("GET /dang-nhap?tiep=%q signed in: %d to %q, want %q", tc.tiep, p.status, loc, tc.want)
		}
	}
}

// signIn sends the sign-in form as a browser does: the form, then the
// post.
func (c *client) signIn(user, pass string) page {
	c.t.Helper()
	p := c.get("/dang-nhap")
	return c.post("/dang-nhap", url.Values{"csrf": {csrf(c.t, p.body)}, "username": {user}, "password": {pass}})
}

// TestWeb_SignInThrottle: a client that keeps sending wrong passwords is
// told to wait, with a delay that doubles, 429 and Retry-After, and its
// attempts are not even checked meanwhile; another client with the right
// password for the same user name gets in all the same; a client that
// failed recently waits for a user name many clients failed on; a
// success forgets the client's failures for that name; a client trying
// many names waits too; after an hour everything is forgotten.
func TestWeb_SignInThrottle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 9, 7, 2, 0, 0, 0, time.UTC)}
	s := newPage(t, func(o *web.Options) { o.Now = clk.Now })
	const user = "vanthu.vpcp"

	// waits checks that p is a 429 telling to wait secs seconds.
	waits := func(what string, p page, secs int) {
		t.Helper()
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != strconv.Itoa(secs) {
			t.Fatalf("%s: %d, Retry-After %q; want 429, Retry-After %d", what, p.status, p.header.Get("Retry-After"), secs)
		}
		mustContain(t, what, p.body, "Đăng nhập sai quá nhiều lần", "lần đăng nhập này chưa được kiểm tra")
	}
	fails := func(what string, p page) {
		t.Helper()
		if p.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", what, p.status)
		}
		mustContain(t, what, p.body, "Tên đăng nhập hoặc mật khẩu không đúng")
	}
	signsIn := func(what string, p page) {
		t.Helper()
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/di" {
			t.Fatalf("%s: %d to %q, want 303 to /di", what, p.status, p.header.Get("Location"))
		}
	}

	// A guesser: three tries, then waits of 2, 4, 8 s; while it waits,
	// not even the right password is checked, and asking again does not
	// shorten or lengthen the wait.
	guesser := newClient(t, s)
	for i := range 3 {
		fails(fmt.Sprintf("wrong password %d", i+1), guesser.signIn(user, "sai"))
	}
	p := guesser.signIn(user, password)
	waits("the right password after 3 failures", p, 2)
	mustContain(t, "the wait", p.body, "Vui lòng thử lại sau 2 giây (lúc 09:00:02)", `value="`+user+`"`)
	waits("again at once", guesser.signIn(user, "sai"), 2)
	for _, secs := range []int{2, 4, 8, 16} {
		clk.Add(time.Duration(secs) * time.Second)
		fails(fmt.Sprintf("after waiting %d s", secs), guesser.signIn(user, "sai"))
		waits(fmt.Sprintf("after the failure that follows a wait of %d s", secs), guesser.signIn(user, "sai"), 2*secs)
	}

	// The clerk, from another machine, signs in all the same: the
	// guesser cannot lock them out.
	signsIn("the clerk from another client while the guesser waits", newClientFrom(t, s, "127.0.0.2").signIn(user, password))

	// A guesser spread over many addresses: once the user name has ten
	// failures (7 so far), a new address gets one try, then waits for the
	// name: 1 s, then doubled with each failure.
	for i := range 3 {
		fails("a new address's first try", newClientFrom(t, s, fmt.Sprintf("127.0.0.%d", 10+i)).signIn(user, "sai"))
	}
	other := newClientFrom(t, s, "127.0.0.13")
	fails("one more address's first try", other.signIn(user, "sai"))
	waits("its second try on a name many clients failed on", other.signIn(user, "sai"), 2)
	signsIn("the clerk while the name is slowed down", newClientFrom(t, s, "127.0.0.2").signIn(user, password))

	// An hour later, all is forgotten.
	clk.Add(time.Hour)
	typo := newClientFrom(t, s, "127.0.0.4")
	for range 3 {
		fails("a typo", typo.signIn(user, "sai"))
	}
	waits("after three typos", typo.signIn(user, password), 2)
	clk.Add(2 * time.Second)
	signsIn("the right password after the wait", typo.signIn(user, password))
	// The success forgot the failures for that name: three free tries
	// again, then the first wait (another browser on the same machine).
	typo = newClientFrom(t, s, "127.0.0.4")
	for range 3 {
		fails("a typo after signing in", typo.signIn(user, "sai"))
	}
	waits("three typos after signing in", typo.signIn(user, password), 2)

	// A client trying many names: ten tries, then it waits, whatever the
	// name (its tries are one per name, so the names are no limit).
	clk.Add(time.Hour)
	sprayer := newClientFrom(t, s, "127.0.0.5")
	for i := range 10 {
		fails("another name", sprayer.signIn(fmt.Sprintf("vanthu.%d", i), "sai"))
	}
	waits("the eleventh name", sprayer.signIn("vanthu.moi", "sai"), 2)
	waits("the clerk's name with the right password, from the sprayer", sprayer.signIn(user, password), 2)
	signsIn("the clerk from elsewhere", newClientFrom(t, s, "127.0.0.6").signIn(user, password))
}

// TestNew_Refuses: clerks that cannot be used stop New with an error
// naming them.
func TestNew_Refuses(t *testing.T) {
	ax := testkit.NewAxis(t)
	gw := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	_, err := web.New(gw, rollup.New(gw), web.Options{Clerks: []web.Clerk{
		{Username: "a", PasswordHash: "plain", Agencies: []string{vpcp}},
		{Username: "b", PasswordHash: "$2a$04$abcdefghijklmnopqrstuu5xYkqVXbKk1Z5x8m0mIpd3uQ3Ty3Ju.", Agencies: []string{hcm}},
		{Username: "", Agencies: []string{vpcp}},
		{Username: "c", PasswordHash: "$2a$04$abcdefghijklmnopqrstuu5xYkqVXbKk1Z5x8m0mIpd3uQ3Ty3Ju."},
	}}, nil)
	if err == nil {
		t.Fatal("New took unusable clerks")
	}
	for _, want := range []string{`clerk "a": passwordHash is not a bcrypt hash`, `clerk "b": agency "000.00.00.H29" is not hosted`, "clerk 2: no username", `clerk "c": no agencies`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestWeb_NotFound: an address the page does not have is answered by a
// page of its own in Vietnamese (with the clerk's menu when signed in),
// which sets no cookie.
func TestWeb_NotFound(t *testing.T) {
	a := newAxis(t, nil)
	anon := newClient(t, a.nghean)
	if p := anon.get("/favicon.ico"); p.status != http.StatusNotFound || len(p.header.Values("Set-Cookie")) != 0 ||
		!strings.Contains(p.body, "Không có trang này") {
		t.Errorf("an unknown address before sign-in: %d, cookies %q", p.status, p.header.Values("Set-Cookie"))
	}
	c := newClient(t, a.nghean)
	c.login("vanthu.nghean")
	p := c.get("/khong-co-trang-nay")
	if p.status != http.StatusNotFound || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("an unknown address: %d %q", p.status, p.header.Get("Content-Type"))
	}
	mustContain(t, "404", p.body, "Không có trang này", "Văn bản đến")
	if strings.Contains(p.body, "404 page not found") {
		t.Error("Go's English 404 text")
	}
}
