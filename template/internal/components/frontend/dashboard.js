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
  // The banner is an alert, which a screen reader reads out whenever its text changes: it says
  // since when refreshes fail, and changes only when the reason does, not at every failed
  // refresh (every 2 s on the overview, as long as the app is down).
  var failing = "";
  function fail(e, why) {
    if (!isPoll(e)) return;
    var b = banner();
    if (!b) return;
    if (b.hidden || failing !== why) {
      var at = new Date().toLocaleTimeString();
      b.textContent = "Refreshing has failed since " + at + " (" + why + "): what you see may be out of date. Retrying.";
    }
    failing = why;
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
  // An action that fails before its panel can say so (403 for a form loaded before the app
  // restarted with another key, the app down) swaps nothing: htmx leaves the panel as it was,
  // and the button seemed to do nothing. The panel shows it as the action's outcome, with what
  // the answer (an RFC 9457 problem) says to do.
  function actionFailed(e, why) {
    var target = e.detail && e.detail.target;
    if (!target || !target.isConnected) return;
    var old = target.querySelector(".outcome");
    if (old) old.remove();
    var o = document.createElement("div"), p = document.createElement("p");
    o.className = "outcome";
    p.className = "notice notice-error";
    p.setAttribute("role", "alert");
    p.setAttribute("tabindex", "-1");
    p.textContent = "Failed: " + why;
    o.appendChild(p);
    target.insertBefore(o, target.firstChild);
    dismissable(o);
    p.focus();
  }
  // A search (a panel's form that fetches its results with a GET, as the analytics panel's
  // does) is a request the operator made, not a refresh: when it fails, the page is no more
  // out of date than before, and the stale banner it showed said so. The search says it
  // failed in one line under its form, the focus staying in the form to try again; a later
  // search replaces the line, or takes it away when it succeeds.
  function searchFailed(form, why) {
    var old = form.nextElementSibling;
    if (old && old.classList.contains("search-failed")) old.remove();
    var p = document.createElement("p");
    p.className = "notice notice-error search-failed";
    p.setAttribute("role", "alert");
    p.textContent = "Search failed: " + why;
    form.parentNode.insertBefore(p, form.nextSibling);
  }
  function formOf(e) {
    var elt = e.detail && e.detail.elt;
    var form = elt && elt.closest && elt.closest("form");
    return form && form.isConnected ? form : null;
  }
  // requestFailed tells the operator about a request they made (not a poll) that failed: an
  // action (why) in its panel, a search or another GET (again) under its form or in its panel.
  function requestFailed(e, why, again) {
    if (isPoll(e)) return;
    var form = isRefresh(e) && formOf(e);
    if (form) searchFailed(form, again);
    else actionFailed(e, isRefresh(e) ? again : why);
  }
  document.addEventListener("htmx:sendError", function (e) {
    fail(e, "no answer from the app");
    requestFailed(e, "no answer from the app, so the action may not have run.", "no answer from the app. Try again.");
  });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status === 401) {
      signIn(e);
      return;
    }
    fail(e, "HTTP " + (xhr ? xhr.status : "error"));
    var detail = "";
    try {
      detail = JSON.parse(xhr.responseText).detail || "";
    } catch (err) { /* not a problem document: the status says it */ }
    var status = "the app answered HTTP " + (xhr ? xhr.status : "error") + ".";
    requestFailed(e, detail || status, detail || status + " Try again.");
  });
  // A refresh or an action replaces a whole region (outerHTML): the element that had the
  // keyboard focus is gone, so focus fell back to the page and the next Tab went past the
  // panel, and every sideways-scrolled table jumped back to its start, every few seconds.
  // Before the swap this notes what had the focus and how far each scrollable box was
  // scrolled; after it, it restores both on their counterparts in the new content, matched by
  // what they are (a button's text and form, a box's label) rather than by an id that panels
  // do not give them. After an action the focus goes to its outcome (the notice) so it is
  // seen and read out; when what had the focus is gone, to the region itself, so the next Tab
  // stays in it.
  var focusable = "a[href], button, input, select, textarea, summary, [tabindex]";
  function keyOf(el) {
    if (el.id) return "#" + el.id;
    var name = el.getAttribute("aria-labelledby") || el.getAttribute("aria-label") || "";
    if (!name && !el.classList.contains("scroll")) name = (el.textContent || "").replace(/\s+/g, " ").trim();
    var form = "";
    if (el.form) {
      form = el.form.getAttribute("action") || "";
      el.form.querySelectorAll("input[type=hidden]").forEach(function (i) {
        if (i.name !== "csrf_token") form += "&" + i.name + "=" + i.value;
      });
    }
    return [el.tagName, el.getAttribute("href") || "", el.getAttribute("name") || "", name, form].join("|");
  }
  // find returns the n-th element of root matching selector whose key is key.
  function find(root, selector, key, n) {
    var seen = 0, found = null;
    root.querySelectorAll(selector).forEach(function (el) {
      if (!found && keyOf(el) === key && seen++ === n) found = el;
    });
    return found;
  }
  function nth(root, selector, el) {
    var key = keyOf(el), n = 0, i = -1;
    root.querySelectorAll(selector).forEach(function (x) {
      if (x === el) i = n;
      if (keyOf(x) === key) n++;
    });
    return i;
  }
  // An action's outcome (panel.html's .outcome: "Job 7 will run again.", "Failed: ...") stays
  // until the operator dismisses it or acts again. A refresh (polling: no event triggered it,
  // unlike a search) replaces the panel with content that has no outcome, so the notice was
  // gone at the next refresh, seconds later, before it could be read. The kept one loses its
  // live-region role: it was read out when it came, and is not news again at each refresh.
  function isPoll(e) {
    var cfg = e.detail && e.detail.requestConfig;
    return isRefresh(e) && !cfg.triggeringEvent;
  }
  function dismissable(root) {
    var all = root.matches && root.matches(".outcome") ? [root] : [];
    if (root.querySelectorAll) root.querySelectorAll(".outcome").forEach(function (o) { all.push(o); });
    all.forEach(function (o) {
      if (o.querySelector(".dismiss")) return;
      var b = document.createElement("button");
      b.type = "button";
      b.className = "dismiss";
      b.textContent = "Dismiss";
      var more = document.createElement("span");
      more.className = "visually-hidden";
      more.textContent = " this message";
      b.appendChild(more);
      o.appendChild(b);
    });
  }
  document.addEventListener("htmx:load", function (e) { if (e.detail && e.detail.elt) dismissable(e.detail.elt); });
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest(".outcome .dismiss");
    if (!b) return;
    var o = b.closest(".outcome"), region = o.closest("[id]");
    o.remove();
    // The button had the focus: the region takes it, so the next Tab stays there.
    if (region) {
      if (!region.matches(focusable)) region.setAttribute("tabindex", "-1");
      region.focus({ preventScroll: true });
    }
  });
  var kept = {};
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || !target.id) return;
    var k = { refresh: isRefresh(e), scroll: [], focus: null, outcome: isPoll(e) && target.querySelector(".outcome") };
    target.querySelectorAll(".scroll").forEach(function (el) {
      if (el.scrollLeft || el.scrollTop) {
        k.scroll.push({ key: keyOf(el), n: nth(target, ".scroll", el), left: el.scrollLeft, top: el.scrollTop });
      }
    });
    var a = document.activeElement;
    if (a && a !== target && target.contains(a)) k.focus = { key: keyOf(a), n: nth(target, focusable, a) };
    else if (a === target) k.focus = { self: true };
    kept[target.id] = k;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    var id = target && target.id, k = id && kept[id];
    if (!k) return;
    delete kept[id];
    var root = document.getElementById(id);
    if (!root) return;
    if (k.outcome && !root.querySelector(".outcome")) {
      k.outcome.querySelectorAll("[role], [aria-live]").forEach(function (el) {
        el.removeAttribute("role");
        el.removeAttribute("aria-live");
      });
      root.insertBefore(k.outcome, root.firstChild);
    }
    k.scroll.forEach(function (s) {
      var el = find(root, ".scroll", s.key, s.n);
      if (el) {
        el.scrollLeft = s.left;
        el.scrollTop = s.top;
      }
    });
    // Only when the swap took the focus away: htmx itself keeps it on an element with an id.
    var a = document.activeElement;
    if (!k.focus || (a && a !== document.body && a !== document.documentElement)) return;
    var to = !k.refresh && root.querySelector(".notice") || (!k.focus.self && find(root, focusable, k.focus.key, k.focus.n)) || root;
    if (!to.matches(focusable)) to.setAttribute("tabindex", "-1");
    restoring = true;
    try {
      to.focus({ preventScroll: to === root || k.refresh });
    } finally {
      restoring = false;
    }
  });
  // Chromium scrolls an element that takes the focus into view only when none of it shows: on
  // a phone the service graph's second column starts at the right edge of its sideways-
  // scrolling box, so Tab put the focus on a node of which a sliver showed. The box scrolls to
  // show all of it (as far as it fits), but not when a refresh gives the focus back: the box
  // stays where the operator scrolled it.
  var restoring = false;
  document.addEventListener("focusin", function (e) {
    var el = e.target, box = !restoring && el.closest && el.closest(".scroll");
    if (!box || el === box) return;
    var r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (r.left < b.left || r.right > b.right) el.scrollIntoView({ block: "nearest", inline: "nearest" });
  });
  // A search swapped in place puts its query in the page's address, as the form does without
  // JavaScript: the address stayed as it was, so a reload (or a copied link) showed the panel
  // unsearched, its box emptied. Replaced, not pushed: Back leaves the page, whose earlier
  // results htmx could not bring back. Worked out before the request, while the form is there
  // (afterRequest names the form's surviving parent once the swap replaced it), and applied
  // when it succeeds.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt, form = elt && elt.closest && elt.closest("form"), xhr = e.detail && e.detail.xhr;
    if (!form || !xhr || !isRefresh(e) || isPoll(e) || (form.getAttribute("method") || "get").toLowerCase() !== "get" || !form.getAttribute("action")) return;
    var u = new URL(form.getAttribute("action"), location.href);
    if (u.origin !== location.origin) return;
    var q = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token" && typeof v === "string") q.append(k, v); });
    u.search = q.toString();
    xhr.aegisAddress = u.pathname + u.search;
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!isRefresh(e) || !e.detail.successful) return;
    var xhr = e.detail.xhr;
    if (xhr && xhr.aegisAddress) history.replaceState(history.state, "", xhr.aegisAddress);
    var form = formOf(e), line = form && form.nextElementSibling;
    if (line && line.classList.contains("search-failed")) line.remove();
    var b = banner();
    if (b && !b.hidden) {
      b.hidden = true;
      b.textContent = "";
      failing = "";
      document.body.classList.remove("is-stale");
    }
  });
})();
