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
  // A 401 means the session ended (expired, revoked, signed out in another tab). The server
  // sends HX-Redirect to the login page, which htmx follows; should it not, retrying cannot
  // help, so polling stops and the banner links to the login page instead.
  var signedOut = false;
  function signIn(e) {
    signedOut = true;
    var b = banner();
    if (!b) return;
    var xhr = e.detail && e.detail.xhr;
    var to = (xhr && xhr.getResponseHeader("HX-Redirect")) || "/dashboard/login";
    var a = document.createElement("a");
    a.href = to;
    a.textContent = "Sign in again";
    b.textContent = "Your dashboard session has ended, so the page no longer refreshes. ";
    b.appendChild(a);
    b.appendChild(document.createTextNode("."));
    b.hidden = false;
    document.body.classList.add("is-stale");
  }
  // A tab in the background (another tab in front, the window minimised) skips its refreshes:
  // each one runs the app's health checks, and nobody sees the result. htmx's polling timer
  // keeps ticking, so the next tick after the tab comes back refreshes it.
  document.addEventListener("htmx:beforeRequest", function (e) {
    if ((signedOut || document.hidden) && isRefresh(e)) e.preventDefault();
  });
  document.addEventListener("htmx:sendError", function (e) { fail(e, "no answer from the app"); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status === 401) {
      signIn(e);
      return;
    }
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
