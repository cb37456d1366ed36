// lienthong: live refresh of the clerk's page. The page works without
// it; with it, the parts marked data-live follow the server's changes.
// The server sends "change" events (a document id, or "*" when changes
// were missed); the page refetches itself and swaps in the new content of
// each data-live region, leaving alone a region the clerk is typing in.
// The stream starts from the version the page was rendered at (its meta
// live-version), so that a change made before the stream opened is sent
// too (as "*"); on reconnecting the browser names the last event it got.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var regions = document.querySelectorAll("[data-live]");
  if (regions.length === 0) return;
  var state = document.getElementById("trang-thai-truc-tiep");
  var timer = null, busy = false, again = false;
  // stale: the last refresh failed; the next (re)opened stream retries it.
  var stale = false;

  function say(text) { if (state) state.textContent = text; }
  // The stream's state, for a test or a style: "open" or "error".
  function stream(s) { if (state) state.setAttribute("data-stream", s); }

  function busyTyping(el) {
    var a = document.activeElement;
    if (a && el.contains(a) && a !== document.body) return true;
    var areas = el.querySelectorAll("textarea");
    for (var i = 0; i < areas.length; i++) if (areas[i].value !== areas[i].defaultValue) return true;
    return false;
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (res.redirected && res.url.indexOf("/dang-nhap") >= 0) { location.reload(); return null; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        if (html === null) return;
        var next = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var name = el.getAttribute("data-live");
          var fresh = next.querySelector('[data-live="' + name + '"]');
          if (fresh && !busyTyping(el) && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        stale = false;
        say("Đã cập nhật lúc " + new Date().toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }));
      })
      .catch(function () { stale = true; say("Chưa cập nhật được; sẽ thử lại khi có thay đổi."); })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  var version = document.querySelector('meta[name="live-version"]');
  var source = new EventSource("/su-kien?phien-ban=" + encodeURIComponent(version ? version.content : ""));
  source.addEventListener("open", function () {
    stream("open");
    say("Đang tự động cập nhật khi có thay đổi.");
    if (stale) schedule();
  });
  source.addEventListener("change", schedule);
  source.addEventListener("expired", function () { source.close(); location.reload(); });
  source.addEventListener("error", function () { stream("error"); say("Mất kết nối cập nhật tự động; đang thử kết nối lại…"); });
})();
