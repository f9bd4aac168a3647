/* Reports: draws the charts of the reporting pages with the vendored Chart.js (no CDN).
   The numbers come from a json_script block (id "chart-data"); every chart's numbers are
   also in a table on the page. A drawn canvas gets data-rendered="1" (the browser tests
   check it). */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }
  var source = document.getElementById("chart-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997",
                 "#0dcaf0", "#d63384", "#6c757d", "#ffc107", "#6610f2"];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.animation = reduceMotion ? false : Chart.defaults.animation;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  function mark(canvas, chart) {
    canvas.dataset.rendered = "1";
    canvas.chart = chart;
    return chart;
  }

  function trend(canvas) {
    var t = data.trend;
    if (!t) { return null; }
    var datasets = [{
      type: "bar", label: t.volume_label, data: t.volume, yAxisID: "yVolume",
      backgroundColor: "rgba(108,117,125,0.25)", borderColor: "rgba(108,117,125,0.6)", order: 2
    }];
    t.series.forEach(function (s, i) {
      datasets.push({
        type: "line", label: s.label, data: s.data, yAxisID: "yPercent", hidden: s.hidden,
        borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
        spanGaps: true, tension: 0.2, pointRadius: 2, order: 1
      });
    });
    return new Chart(canvas, {
      data: { labels: t.labels, datasets: datasets },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          yVolume: { position: "left", beginAtZero: true, ticks: { precision: 0 } },
          yPercent: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                      ticks: { callback: function (v) { return v + " %"; } } }
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }

  function bars(canvas, block, horizontal) {
    if (!block) { return null; }
    return new Chart(canvas, {
      type: "bar",
      data: { labels: block.labels, datasets: [{
        label: block.label, data: block.data,
        backgroundColor: block.labels.map(function (_, i) { return palette[i % palette.length]; })
      }] },
      options: {
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        scales: horizontal ? { x: { beginAtZero: true, ticks: { precision: 0 } } }
                           : { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var kind = canvas.dataset.chart, chart = null;
    if (kind === "trend") { chart = trend(canvas); }
    else if (kind === "volume") { chart = bars(canvas, (data.volumes || {})[canvas.dataset.dimension], true); }
    else if (kind === "root_causes") { chart = bars(canvas, data.root_causes, true); }
    if (chart) { mark(canvas, chart); }
  });

  // A custom range needs its dates: show them only when "custom" is chosen.
  var select = document.getElementById("id_period");
  if (select) {
    var toggle = function () {
      ["id_start", "id_end"].forEach(function (id) {
        var input = document.getElementById(id);
        if (input) { input.closest(".col-auto").classList.toggle("d-none", select.value !== "custom"); }
      });
    };
    select.addEventListener("change", toggle);
    toggle();
  }
})();
