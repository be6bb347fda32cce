// The dashboard refreshes itself with htmx polling. When a refresh fails (the app is down,
// restarting or unreachable, or answers an error), htmx keeps the last content on screen, which
// would show old health as if it were current. This marks the page stale until a refresh
// succeeds again. It is a file of its own because the Content-Security-Policy allows no inline
// script.
(function () {
  "use strict";
  function banner() { return document.getElementById("stale"); }
  function isRefresh(e) {
    var cfg = e.detail && e.detail.requestConfig;
    return cfg && String(cfg.verb).toLowerCase() === "get";
  }
  function fail(e, why) {
    if (!isRefresh(e)) return;
    var b = banner();
    if (!b) return;
    var at = new Date().toLocaleTimeString();
    b.textContent = "The last refresh failed at " + at + " (" + why + "): what you see may be out of date. Retrying.";
    b.hidden = false;
    document.body.classList.add("is-stale");
  }
  document.addEventListener("htmx:sendError", function (e) { fail(e, "no answer from the app"); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    fail(e, "HTTP " + (xhr ? xhr.status : "error"));
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!isRefresh(e) || !e.detail.successful) return;
    var b = banner();
    if (b && !b.hidden) {
      b.hidden = true;
      b.textContent = "";
      document.body.classList.remove("is-stale");
    }
  });
})();
