// The settings page works without this file; it only smooths two things.
(function () {
  "use strict";

  // 1. A form is sent once: its buttons are disabled while the next page loads.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    window.setTimeout(function () {
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    });
  });

  // 2. After a retry, sync activity refreshes itself until the invoice has synced (or failed again).
  var tries = 40;
  function refresh() {
    var section = document.getElementById("activity");
    var url = section && section.getAttribute("data-refresh");
    if (!url || tries <= 0) { return; }
    tries -= 1;
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("activity");
          if (fresh) { section.replaceWith(fresh); }
          refresh();
        })
        .catch(function () { /* the section stays as it is; reloading the page shows the latest */ });
    }, 1000);
  }
  refresh();
})();
