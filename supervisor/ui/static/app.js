// supervisor dashboard behaviour: relative times, select-all, the throughput chart.
// Loaded as a file (the CSP forbids inline script); htmx does the live polling.
(function () {
  "use strict";

  function relative(seconds) {
    var span = Math.abs(seconds), units = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
    if (span < 5) return "just now";
    for (var i = 0; i < units.length; i++) {
      if (span >= units[i][0]) {
        var text = Math.floor(span / units[i][0]) + " " + units[i][1];
        return seconds > 0 ? text + " ago" : "in " + text;
      }
    }
    return "just now";
  }

  function refreshTimes(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[data-rel]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = relative((now - when) / 1000);
      if (!el.dataset.local) {  // hover shows the exact local time, then UTC
        el.title = new Date(when).toLocaleString() + " (" + el.title + ")";
        el.dataset.local = "1";
      }
    });
  }

  function wireSelection(root) {
    (root || document).querySelectorAll("input[data-select-all]").forEach(function (all) {
      var form = all.closest("form");
      if (!form || all.dataset.wired) return;
      all.dataset.wired = "1";
      var boxes = function () { return form.querySelectorAll("input[name=uuid]"); };
      var count = function () {
        var picked = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
        var label = form.querySelector("[data-selected-count]");
        if (label) label.textContent = picked ? picked + " selected:" : "Select jobs for a bulk action:";
      };
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        count();
      });
      form.addEventListener("change", count);
    });
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function chart() {
    var el = document.getElementById("throughput");
    if (!el || typeof uPlot === "undefined") return;
    var plot = null;
    function options() {
      return {
        width: el.clientWidth || 600, height: 240,
        axes: [{ stroke: cssVar("--muted"), grid: { stroke: cssVar("--line") } },
               { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line") } }],
        series: [{}, { label: "completed", stroke: cssVar("--ok"), width: 2, points: { show: false } },
                 { label: "failed", stroke: cssVar("--danger"), width: 2, points: { show: false } }],
        scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } }
      };
    }
    function load() {
      fetch(el.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) return;
          var data = [d.minutes, d.completed, d.failed];
          if (plot) { plot.setData(data); } else { plot = new uPlot(options(), data, el); }
        })
        .catch(function () { /* the next poll tries again */ });
    }
    load();
    setInterval(load, 10000);
    window.addEventListener("resize", function () {
      if (plot) plot.setSize({ width: el.clientWidth, height: 240 });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes();
    wireSelection();
    chart();
    setInterval(refreshTimes, 5000);
  });
  document.addEventListener("htmx:afterSettle", function () { refreshTimes(); });

  // A poll that finds the session gone goes to the login form (and back here afterwards);
  // one that cannot reach the server shows the banner until a poll gets through again.
  function offline(lost) {
    var banner = document.getElementById("offline");
    if (banner) banner.hidden = !lost;
  }
  document.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr && e.detail.xhr.status === 401) {
      window.location.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
  });
  document.addEventListener("htmx:sendError", function () { offline(true); });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) offline(false);
  });
})();
