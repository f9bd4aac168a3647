/* @-mention autocomplete: in a form with data-mentions-url, typing "@" and a few letters in
   its body textarea lists the people and departments the author may mention (the URL answers
   {"results": [{"kind", "value", "label"}]}); arrow keys / Enter / Tab or a click insert
   "@value ". No framework; text is inserted as text, never as HTML. */
(function () {
  var TOKEN = /(^|[^A-Za-z0-9_.@])@([^\s@]{0,50})$/;

  function attach(form) {
    var area = form.querySelector("textarea[name=body]");
    if (!area || area.dataset.mentions) return;
    area.dataset.mentions = "1";
    var box = document.createElement("div");
    box.className = "list-group shadow-sm mention-menu";
    box.setAttribute("role", "listbox");
    box.dataset.testid = "mention-menu";
    box.hidden = true;
    area.insertAdjacentElement("afterend", box);
    var items = [], active = 0, timer = null, seq = 0;

    function token() {
      var m = TOKEN.exec(area.value.slice(0, area.selectionStart));
      return m ? {query: m[2], start: area.selectionStart - m[2].length - 1} : null;
    }
    function close() { box.hidden = true; items = []; }
    function render() {
      box.textContent = "";
      items.forEach(function (item, i) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "list-group-item list-group-item-action py-1 small" + (i === active ? " active" : "");
        b.setAttribute("role", "option");
        b.dataset.value = item.value;
        b.textContent = "@" + item.value + (item.label && item.label !== item.value ? " · " + item.label : "");
        b.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        box.appendChild(b);
      });
      box.hidden = !items.length;
    }
    function choose(i) {
      var t = token(), item = items[i];
      if (!t || !item) return close();
      var before = area.value.slice(0, t.start), after = area.value.slice(area.selectionStart);
      area.value = before + "@" + item.value + " " + after;
      var caret = before.length + item.value.length + 2;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    }
    function lookup() {
      var t = token();
      if (!t) return close();
      var mine = ++seq, url = new URL(form.dataset.mentionsUrl, window.location.href);
      url.searchParams.set("q", t.query);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) {
          if (mine !== seq) return;
          items = data.results || [];
          active = 0;
          render();
        })
        .catch(close);
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookup, 120); });
    area.addEventListener("blur", function () { setTimeout(close, 150); });
    area.addEventListener("keydown", function (ev) {
      if (box.hidden) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        render();
        ev.preventDefault();
      } else if (ev.key === "Enter" || ev.key === "Tab") {
        choose(active);
        ev.preventDefault();
      } else if (ev.key === "Escape") {
        close();
      }
    });
  }

  function scan() { document.querySelectorAll("form[data-mentions-url]").forEach(attach); }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSwap", scan);
})();
