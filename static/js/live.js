/* Live desk (cases/services/live.py).
   [data-live-check]: polls the change check every data-live-interval seconds while the tab is
   visible; when the stamp moved, fetches this page again and swaps the regions named in
   data-live-regions (element ids) in place, keeping the scroll position, ticked checkboxes
   and a field being typed in.
   [data-presence-url]: a heartbeat every 20 s says who else has the case open and, once the
   case changed since the page loaded, shows the conflict banner; once it shows, a form
   carrying the case's version is held back once, so the warning is read before the save. */
(function () {
  "use strict";

  function swapRegions(doc, regions) {
    var active = document.activeElement;
    regions.forEach(function (id) {
      var cur = document.getElementById(id), next = doc.getElementById(id);
      if (!cur || !next) return;
      if (active && cur.contains(active) && active.matches("input, textarea, select")
          && active.type !== "checkbox") return;  // someone is typing here: leave it
      var ticked = {}, values = {};
      cur.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
        ticked[box.name + "=" + box.value] = true;
      });
      cur.querySelectorAll("select[name], input[name]:not([type=checkbox]):not([type=hidden]), "
                           + "textarea[name]").forEach(function (field) {
        values[field.name] = field.value;
      });
      cur.replaceChildren.apply(cur, Array.prototype.map.call(next.childNodes, function (n) {
        return document.importNode(n, true);
      }));
      cur.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (ticked[box.name + "=" + box.value]) box.checked = true;
      });
      Object.keys(values).forEach(function (name) {
        var field = cur.querySelector("[name='" + CSS.escape(name) + "']");
        if (field && field.type !== "checkbox") field.value = values[name];
      });
      if (window.htmx) window.htmx.process(cur);
    });
    document.dispatchEvent(new CustomEvent("htmx:afterSwap"));  // desk.js re-runs countdowns
  }

  function watch(el) {
    var url = el.dataset.liveCheck, stamp = el.dataset.liveStamp, busy = false, other = null;
    var regions = (el.dataset.liveRegions || "").split(/\s+/).filter(Boolean);
    var every = (parseInt(el.dataset.liveInterval, 10) || 10) * 1000;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, {credentials: "same-origin", cache: "no-store",
                  headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return null;
          // "other": writes of another process (embedded default), seen from the first poll.
          var otherMoved = data.other !== undefined && other !== null && data.other !== other;
          if (data.other !== undefined) other = data.other;
          if (!otherMoved && (!data.stamp || data.stamp === stamp)) return null;
          return fetch(window.location.href, {credentials: "same-origin", cache: "no-store"})
            .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
            .then(function (html) {
              if (html === null) return;
              stamp = data.stamp;
              el.dataset.liveStamp = stamp;
              swapRegions(new DOMParser().parseFromString(html, "text/html"), regions);
            });
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ })
        .then(function () { busy = false; });
    }
    setInterval(tick, every);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  }

  function presence(el) {
    var url = el.dataset.presenceUrl, version = el.dataset.version, stale = false;
    var token = (el.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    var others = el.querySelector("[data-presence-others]");
    var names = el.querySelector("[data-presence-names]");
    var banner = el.querySelector("[data-presence-conflict]");
    function beat(leave) {
      var body = new FormData();
      body.append("csrfmiddlewaretoken", token);
      body.append("version", version);
      if (leave) {
        body.append("leave", "1");
        if (navigator.sendBeacon) navigator.sendBeacon(url, body);
        return Promise.resolve();
      }
      return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                         headers: {"X-CSRFToken": token}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          names.textContent = data.others.join(", ");
          others.hidden = data.others.length === 0;
          if (!data.changed && !stale) version = String(data.version);  // own saves
          if (data.changed) {
            stale = true;
            banner.querySelector("[data-presence-message]").textContent = data.changed;
            banner.hidden = false;
          }
        })
        .catch(function () {});
    }
    beat(false);
    setInterval(function () { if (!document.hidden) beat(false); }, 20000);
    window.addEventListener("pagehide", function () { beat(true); });
    // Ask again as soon as someone starts on a form (at most every 5 s), so a change made
    // since the last heartbeat is known before they submit.
    var asked = 0;
    document.addEventListener("focusin", function (ev) {
      if (!ev.target.form || Date.now() - asked < 5000) return;
      asked = Date.now();
      beat(false);
    });
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!stale || !form.querySelector("input[name=version]") || form.dataset.liveChecked) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();  // htmx (inline forms) sees only the resubmission
      form.dataset.liveChecked = "1";  // the next submit goes through (the server decides)
      banner.scrollIntoView({block: "center"});
    }, true);
  }

  function start() {
    document.querySelectorAll("[data-live-check]").forEach(watch);
    document.querySelectorAll("[data-presence-url]").forEach(presence);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
