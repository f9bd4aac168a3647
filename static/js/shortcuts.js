/* Keyboard shortcuts (issue 16), listed in the `?` overlay (templates/_shortcuts_help.html).
   Case lists: j/k move the selection, Enter/o open it. Opening a case remembers its list
   (the rows' addresses, the list's address with its query, its next page) in this tab's
   sessionStorage, so the workspace's j/k and its pager open the next/previous case of that
   list without asking the server. Workspace: n note, r reply, a assign to me, g d / g c go
   to the desk / the case list. Nothing fires while typing in a field or with a modifier. */
(function () {
  var KEY = "desk.list";
  var help = document.getElementById("shortcuts-help");
  var pendingG = 0;

  function typing(el) {
    if (!el) return false;
    var tag = (el.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }
  function actsOnEnter(el) {
    return !!(el && el.matches && el.matches("a[href], button, input, select, textarea, summary, [role=button]"));
  }
  function caseLinks(table) {
    return Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (tr) {
      return tr.querySelector("a[href*='/desk/cases/']");
    }).filter(Boolean);
  }
  function tables() { return Array.prototype.slice.call(document.querySelectorAll("table.table-cases")); }
  function rows() {
    var out = [];
    tables().forEach(function (t) {
      t.querySelectorAll("tbody tr").forEach(function (tr) {
        if (tr.querySelector("a[href*='/desk/cases/']")) out.push(tr);
      });
    });
    return out;
  }
  function remember(table) {
    var next = document.querySelector(".pagination a[rel=next]");
    var list = {
      urls: caseLinks(table).map(function (a) { return a.pathname; }),
      list: location.pathname + location.search,
      nextPage: next ? next.href : ""
    };
    try { sessionStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  }
  function remembered() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  // Opening a case from a list (mouse or keyboard) remembers that list.
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest && e.target.closest("table.table-cases a[href*='/desk/cases/']");
    if (a) remember(a.closest("table"));
  }, true);

  function current() { return document.querySelector("tr.kbd-current"); }
  function select(tr) {
    var old = current();
    if (old) old.classList.remove("kbd-current");
    if (!tr) return;
    tr.classList.add("kbd-current");
    tr.scrollIntoView({block: "nearest"});
  }
  function moveRow(step) {
    var all = rows();
    if (!all.length) return false;
    var i = all.indexOf(current());
    select(all[Math.max(0, Math.min(all.length - 1, i < 0 ? (step > 0 ? 0 : all.length - 1) : i + step))]);
    return true;
  }
  function openRow() {
    var tr = current();
    if (!tr) return false;
    var a = tr.querySelector("a[href*='/desk/cases/']");
    remember(tr.closest("table"));
    location.href = a.href;
    return true;
  }

  // The workspace: where this case sits in the remembered list.
  function neighbours() {
    var main = document.getElementById("case-main"), list = remembered();
    if (!main || !list || !list.urls) return null;
    var i = list.urls.indexOf(main.dataset.caseUrl);
    if (i < 0) return null;
    return {prev: list.urls[i - 1] || "", next: list.urls[i + 1] || list.nextPage || "", list: list.list};
  }
  function showPager() {
    var n = neighbours(), pager = document.getElementById("case-pager");
    if (!pager || !n) return;
    var prev = document.getElementById("case-prev"), next = document.getElementById("case-next");
    pager.classList.remove("d-none");
    prev.classList.toggle("disabled", !n.prev);
    next.classList.toggle("disabled", !n.next);
    prev.href = n.prev || "#";
    next.href = n.next || "#";
  }
  document.addEventListener("DOMContentLoaded", showPager);
  document.addEventListener("htmx:afterSettle", showPager);  // the main column was swapped
  function goCase(step) {
    var n = neighbours();
    var url = n && (step > 0 ? n.next : n.prev);
    if (url) location.href = url;
    return !!url;
  }
  function focusField(selector) {
    var el = document.querySelector(selector);
    if (!el) return false;
    el.scrollIntoView({block: "center"});
    el.focus();
    return true;
  }
  function assignToMe() {
    var button = document.querySelector("[data-testid=actions] [data-action=assign]");
    if (!button || !window.htmx) return false;
    var url = button.getAttribute("href") + "?handler=me";
    window.htmx.ajax("GET", url, {target: "#action-panel-content", source: button});
    return true;
  }
  function go(attr) {
    var url = help && help.dataset[attr];
    if (url) location.href = url;
    return !!url;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (document.querySelector(".modal.show, .offcanvas.show") && e.key !== "?") return;
    var key = e.key, done = false;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (key === "d") done = go("deskUrl");
      else if (key === "c") done = go("casesUrl");
      if (done) e.preventDefault();
      return;
    }
    pendingG = 0;
    var onCase = !!document.getElementById("case-main");
    switch (key) {
      case "?":
        if (help && window.bootstrap) { window.bootstrap.Modal.getOrCreateInstance(help).toggle(); done = true; }
        break;
      case "g": pendingG = Date.now(); done = true; break;
      case "j": done = onCase ? goCase(1) : moveRow(1); break;
      case "k": done = onCase ? goCase(-1) : moveRow(-1); break;
      case "o": done = !onCase && openRow(); break;
      case "Enter":  // only when no link or button has the focus (Enter already acts there)
        done = !onCase && !actsOnEnter(document.activeElement) && openRow();
        break;
      case "n": done = focusField("#note textarea[name=body]"); break;
      case "r": done = focusField("#id_reply_body"); break;
      case "a": done = assignToMe(); break;
    }
    if (done) e.preventDefault();
  });
})();
