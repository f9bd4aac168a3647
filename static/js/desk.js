/* Live deadline countdowns: any element with data-due="ISO time" shows the time left and
   turns amber at data-risk and red once due. Refreshed every 30 s; no server round trip. */
(function () {
  function fmt(ms) {
    var neg = ms < 0, s = Math.abs(ms) / 1000, d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    var txt = (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m";
    return neg ? "-" + txt : txt;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due), risk = el.dataset.risk ? Date.parse(el.dataset.risk) : null;
      if (isNaN(due)) return;
      var state = now >= due ? "breached" : (risk && now >= risk ? "at_risk" : "on_time");
      if (el.dataset.state === "breached") state = "breached";
      el.classList.remove("sla-on_time", "sla-at_risk", "sla-breached");
      el.classList.add("sla-" + state);
      var out = el.querySelector(".countdown") || el;
      out.textContent = fmt(due - now);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 30000);
})();
