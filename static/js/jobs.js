/* Live progress of restoration jobs: polls /jobs/progress.json for the rows of every
 * table.jobs on the page (rows carry data-job-id) and updates badge, bar, text and result link.
 * Polls every 2 s while a job is queued or running, and stops when none is.
 */
(function () {
  "use strict";

  const tables = Array.prototype.slice.call(document.querySelectorAll("table.jobs[data-progress-url]"));
  if (!tables.length) return;
  const url = tables[0].getAttribute("data-progress-url");
  const ACTIVE = { queued: true, running: true };
  const INTERVAL_MS = 2000;
  const BADGE_CLASS = { succeeded: "ok", failed: "err", running: "warn", queued: "warn", cancelled: "" };

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table.jobs tr[data-job-id]"));
  }
  function activeIds() {
    return rows()
      .filter(function (row) { return ACTIVE[row.getAttribute("data-status")]; })
      .map(function (row) { return row.getAttribute("data-job-id"); });
  }
  function update(row, job) {
    row.setAttribute("data-status", job.status);
    const badge = row.querySelector("[data-role=badge]");
    if (badge) {
      badge.textContent = job.status_label + (job.cancel_requested && job.status === "running" ? " · stopping" : "");
      badge.className = "badge job-state job-state-" + job.status + " " + (BADGE_CLASS[job.status] || "");
    }
    const bar = row.querySelector("[data-role=bar]");
    if (bar) {
      bar.hidden = job.status !== "running";
      bar.value = job.progress === null ? 0 : job.progress;
      if (job.progress === null && job.status === "running") bar.removeAttribute("value");
    }
    const text = row.querySelector("[data-role=text]");
    if (text) text.textContent = job.text || "";  // the server's phrase (one wording)
    const result = row.querySelector("[data-role=result]");
    if (result && job.status === "succeeded" && job.version_id && !result.querySelector("a")) {
      const link = document.createElement("a");
      link.href = "/versions/" + job.version_id + "/";
      link.textContent = "Review";
      result.textContent = "";
      result.appendChild(link);
    }
  }

  let timer = null;
  function poll() {
    const ids = activeIds();
    if (!ids.length) { timer = null; return; }
    fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (body) {
        const byId = {};
        (body.jobs || []).forEach(function (job) { byId[String(job.id)] = job; });
        rows().forEach(function (row) {
          const job = byId[row.getAttribute("data-job-id")];
          if (job) update(row, job);
        });
      })
      .catch(function () { /* network hiccup: try again next tick */ })
      .then(function () { timer = window.setTimeout(poll, INTERVAL_MS); });
  }
  if (activeIds().length) timer = window.setTimeout(poll, INTERVAL_MS);
})();
