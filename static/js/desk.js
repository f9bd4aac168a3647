/* Live deadline countdowns: any element with data-due="ISO time" shows the time left and
   turns amber at data-risk and red once due. Refreshed every 30 s; no server round trip. */
(function () {
  function fmt(ms) {
    var neg = ms < 0, s = Math.abs(ms) / 1000, d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    // Units follow the page language: <html lang="zh-hans"> gets 天/小时/分 and "超时" when late.
    var zh = /^zh/i.test(document.documentElement.lang || ""),
        u = zh ? ["天", "小时", "分", "超时 "] : ["d ", "h ", "m", "-"];
    var txt = (d ? d + u[0] : "") + (d || h ? h + u[1] : "") + m + u[2];
    return neg ? u[3] + txt : txt;
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
      // Working-time countdowns are counted on the server (the calendar is not known here).
      if (el.dataset.basis === "working" && now < due) return;
      var out = el.querySelector(".countdown") || el;
      out.textContent = fmt(due - now);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 30000);
})();

/* Behaviour that used to sit in inline handlers, moved here so the Content-Security-Policy can
   forbid inline script: select-all for bulk actions, selects that submit their form
   (data-autosubmit), print buttons (data-action="print"). */
(function () {
  // htmx would add an inline <style> for request indicators; the CSP blocks it and no page
  // uses indicators.
  if (window.htmx) { window.htmx.config.includeIndicatorStyles = false; }
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!el) return;
    if (el.id === "select-all") {
      document.querySelectorAll("input.case-check").forEach(function (box) { box.checked = el.checked; });
    } else if (el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });
  document.addEventListener("click", function (e) {
    var button = e.target && e.target.closest("[data-action='print']");
    if (button) { window.print(); }
  });
})();
