/* The composer's canned-reply picker: loads the macros filled for this case once (JSON from
   desk:case_macros), filters them as the agent types, inserts the chosen text into the reply
   box (editable afterwards), posts the macro's id with the reply so its action runs with it,
   and previews the text as it will be sent. */
(function () {
  function setup(picker) {
    var form = picker.closest("form"),
        body = form.querySelector("#id_reply_body"),
        search = picker.querySelector("#macro-search"),
        results = picker.querySelector("#macro-results"),
        hidden = picker.querySelector("#id_reply_macro"),
        chosen = picker.querySelector("#macro-chosen"),
        preview = picker.querySelector("#reply-preview"),
        macros = null, loading = null;

    function load() {
      if (macros) return Promise.resolve(macros);
      if (!loading) {
        loading = fetch(picker.dataset.url, {credentials: "same-origin",
                                             headers: {"Accept": "application/json"}})
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (data) { macros = data.macros; return macros; })
          .catch(function (err) { loading = null; throw err; });
      }
      return loading;
    }
    function message(text) {
      results.replaceChildren();
      var div = document.createElement("div");
      div.className = "list-group-item text-body-secondary";
      div.textContent = text;
      results.appendChild(div);
      results.classList.remove("d-none");
    }
    function show(list) {
      var q = search.value.trim().toLowerCase();
      var found = list.filter(function (m) {
        return !q || m.title.toLowerCase().indexOf(q) >= 0 || m.text.toLowerCase().indexOf(q) >= 0;
      });
      if (!found.length) { message(picker.dataset.empty); return; }
      results.replaceChildren();
      found.forEach(function (m) {
        var item = document.createElement("button");
        item.type = "button";
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.dataset.macro = m.macro_id;
        var title = document.createElement("div");
        title.className = "fw-semibold";
        title.textContent = m.title;
        var text = document.createElement("div");
        text.className = "text-body-secondary text-truncate";
        text.textContent = m.text;
        item.append(title, text);
        item.addEventListener("click", function () { insert(m); });
        results.appendChild(item);
      });
      results.classList.remove("d-none");
    }
    function insert(m) {
      var current = body.value.trim();
      body.value = current ? current + "\n\n" + m.text : m.text;
      hidden.value = m.macro_id;
      picker.querySelector("#macro-chosen-title").textContent = m.title;
      picker.querySelector("#macro-chosen-action").textContent = m.action_label;
      picker.querySelector("#macro-warnings").textContent = m.warnings.join(" ");
      chosen.classList.remove("d-none");
      results.classList.add("d-none");
      search.value = "";
      picker.querySelector("#reply-preview-box").open = true;
      update();
      body.focus();
    }
    function update() { preview.textContent = body.value; }

    search.addEventListener("input", function () {
      load().then(show, function () { message(picker.dataset.failed); });
    });
    search.addEventListener("focus", function () {
      load().then(show, function () { message(picker.dataset.failed); });
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {  // never submit the reply from the search box
        e.preventDefault();
        var first = results.querySelector("[data-macro]");
        if (first) first.click();
      } else if (e.key === "Escape") {
        results.classList.add("d-none");
      }
    });
    picker.querySelector("#macro-clear").addEventListener("click", function () {
      hidden.value = "";
      chosen.classList.add("d-none");
    });
    body.addEventListener("input", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".macro-picker").forEach(setup);
  });
})();
