// Times in the viewer's time zone, and countdowns to SLA deadlines, refreshed every 30 s and after
// every htmx swap. No inline script anywhere (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  var lang = document.body.getAttribute("data-lang") || "vi";
  var locale = lang === "vi" ? "vi-VN" : "en-GB";
  var when = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
  var rel = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });

  function relative(ms) {
    var minutes = Math.round(ms / 60000);
    if (Math.abs(minutes) < 90) return rel.format(minutes, "minute");
    var hours = Math.round(minutes / 60);
    if (Math.abs(hours) < 48) return rel.format(hours, "hour");
    return rel.format(Math.round(hours / 24), "day");
  }

  function render(root) {
    var now = Date.now();
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var text = when.format(at);
      if (el.hasAttribute("data-countdown")) text += " (" + relative(at.getTime() - now) + ")";
      el.textContent = text;
      el.title = at.toISOString();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (e) { render(e.target); });
  setInterval(function () { render(document); }, 30000);
})();
