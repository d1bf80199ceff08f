// Capture page: poll the proxy status; reload once the browser copy is ready (or has failed).
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player || player.dataset.poll !== "1") { return; }
  var timer = setInterval(function () {
    fetch(player.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.proxy_status !== player.dataset.status && data.proxy_status !== "running") {
          clearInterval(timer); window.location.reload(); return;
        }
        var bar = document.getElementById("proxy-progress");
        if (bar && data.proxy_status === "running") { bar.hidden = false; bar.value = data.proxy_progress; }
      })
      .catch(function () { /* keep polling: a dropped request is not an answer */ });
  }, 4000);
})();
