/* The workspace's side panel (issue 16). A step's button loads its form with htmx into
   #action-panel-content; this opens the panel when a form arrives, closes and empties it when
   the server says the step is done (HX-Trigger: deskActionDone, after it swapped the
   workspace's main column), and lets htmx swap the answers that carry a form or an error
   (422 form errors, 403/404 error fragments) instead of dropping them. */
(function () {
  if (!window.htmx) return;
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "422", swap: true},
    {code: "40[34]", swap: true, error: true},
    {code: "[45]..", swap: false, error: true}
  ];
  var reopen = false;  // a step's form was loaded while the panel was closing
  function panel() { return document.getElementById("action-panel"); }
  function offcanvas() {
    var el = panel();
    return el && window.bootstrap ? window.bootstrap.Offcanvas.getOrCreateInstance(el) : null;
  }
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || target.id !== "action-panel-content") return;
    var oc = offcanvas();
    // A form that arrives while the panel is still closing is shown once it has closed.
    if (panel().classList.contains("hiding")) reopen = true;
    else if (oc) oc.show();
    var first = target.querySelector(".is-invalid, input:not([type=hidden]), select, textarea");
    if (first) first.focus({preventScroll: true});
  });
  document.addEventListener("deskActionDone", function () {
    reopen = false;
    var oc = offcanvas();
    if (oc) oc.hide();
    var content = document.getElementById("action-panel-content");
    if (content) content.innerHTML = "";
  });
  document.addEventListener("hidden.bs.offcanvas", function (e) {
    if (e.target && e.target.id === "action-panel") {
      if (reopen) {
        reopen = false;
        offcanvas().show();
        return;
      }
      var content = document.getElementById("action-panel-content");
      if (content) content.innerHTML = "";
    }
  });
  // A request that fails without an answer to show (network, 500): say so in the panel.
  document.addEventListener("htmx:sendError", showFailure);
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status >= 500) showFailure(e);
  });
  function showFailure(e) {
    var target = e.detail && e.detail.target;
    if (!target || !target.closest || !target.closest("#action-panel, [data-testid=actions]")) return;
    var content = document.getElementById("action-panel-content");
    var msg = (panel() && panel().dataset.failure) || "Error";
    if (content) {
      content.innerHTML = "";
      var div = document.createElement("div");
      div.className = "alert alert-danger m-3";
      div.setAttribute("role", "alert");
      div.textContent = msg;
      content.appendChild(div);
      var oc = offcanvas();
      if (oc) oc.show();
    }
  }
})();
