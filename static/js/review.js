/* Review page of a restored version: synchronized before/after playback (side by side or wipe),
 * frame stepping with timecode, zoom on a region, and the per-frame artifact-score timeline.
 *
 * The "after" video (the restored access copy) is the clock; the "before" video (the capture's
 * browser proxy) follows it, offset by the version's first frame. No dependencies.
 */
(function () {
  "use strict";

  const root = document.getElementById("review");
  const dataNode = document.getElementById("review-data");
  if (!root || !dataNode) return;
  const data = JSON.parse(dataNode.textContent);

  const stage = root.querySelector("[data-role=stage]");
  const before = root.querySelector("video[data-role=before]");
  const after = root.querySelector("video[data-role=after]");
  const playButton = root.querySelector("[data-action=play]");
  const timecodeOut = root.querySelector("[data-role=timecode]");
  const frameOut = root.querySelector("[data-role=frame]");
  const wipe = root.querySelector("[data-role=wipe]");
  const zoomSelect = root.querySelector("[data-role=zoom]");
  const canvas = root.querySelector("canvas[data-role=timeline]");

  function parseRate(text) {
    const parts = String(text || "25").split("/");
    const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
    return value > 0 && isFinite(value) ? value : 25;
  }
  const fps = parseRate(data.frame_rate);
  const frameCount = Number(data.frame_count) || 0;
  const frameStart = Number(data.frame_start) || 0;
  const offset = frameStart / fps; // seconds of the capture before the restored segment
  const hasBefore = Boolean(data.before_url);

  // ---- frames and time -------------------------------------------------------------------
  function currentFrame() {
    return Math.min(Math.max(Math.floor(after.currentTime * fps + 1e-3), 0), Math.max(frameCount - 1, 0));
  }
  function timeOfFrame(index) {
    // The middle of the frame: robust to rounding in the decoder's timestamps.
    return (index + 0.5) / fps;
  }
  function pad(value) { return String(value).padStart(2, "0"); }
  function timecode(index) {
    const absolute = index + frameStart;
    const base = Math.round(fps);
    const seconds = Math.floor(absolute / base);
    return pad(Math.floor(seconds / 3600)) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" +
      pad(seconds % 60) + ":" + pad(absolute % base);
  }

  function syncBefore(force) {
    if (!hasBefore) return;
    const target = after.currentTime + offset;
    if (force || Math.abs(before.currentTime - target) > 0.5 / fps) {
      before.currentTime = target;
    }
  }
  function seekFrame(index) {
    const clamped = Math.min(Math.max(index, 0), Math.max(frameCount - 1, 0));
    after.pause();
    if (hasBefore) before.pause();
    after.currentTime = timeOfFrame(clamped);
    syncBefore(true);
    render();
  }
  function step(delta) { seekFrame(currentFrame() + delta); }

  function togglePlay() {
    if (after.paused) {
      syncBefore(true);
      const started = after.play();
      if (hasBefore) before.play().catch(function () {});
      if (started && started.catch) started.catch(function () {});
    } else {
      after.pause();
      if (hasBefore) before.pause();
      syncBefore(true);
    }
  }
  after.addEventListener("play", function () { playButton.textContent = "Pause"; });
  after.addEventListener("pause", function () { playButton.textContent = "Play"; });
  after.addEventListener("seeked", function () { syncBefore(true); render(); });
  after.addEventListener("ended", function () { if (hasBefore) before.pause(); });
  after.addEventListener("loadedmetadata", render);
  // While playing, keep the two within half a frame (drift correction, not every frame).
  after.addEventListener("timeupdate", function () { if (!after.paused) syncBefore(false); });

  playButton.addEventListener("click", togglePlay);
  root.querySelector("[data-action=prev]").addEventListener("click", function () { step(-1); });
  root.querySelector("[data-action=next]").addEventListener("click", function () { step(1); });

  document.addEventListener("keydown", function (event) {
    const tag = (event.target && event.target.tagName) || "";
    if (tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT") return;
    if (event.key === "ArrowRight") { step(event.shiftKey ? Math.round(fps) : 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { step(event.shiftKey ? -Math.round(fps) : -1); event.preventDefault(); }
    else if (event.key === " ") { togglePlay(); event.preventDefault(); }
    else if (event.key === "+" || event.key === "=") { changeZoom(1); }
    else if (event.key === "-") { changeZoom(-1); }
  });

  // ---- comparison modes ------------------------------------------------------------------
  root.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () {
      const mode = button.getAttribute("data-mode");
      stage.classList.toggle("wipe", mode === "wipe");
      stage.classList.toggle("side", mode === "side");
      root.classList.toggle("wipe-mode", mode === "wipe");
      root.querySelectorAll("[data-mode]").forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
    });
  });
  function applyWipe() { stage.style.setProperty("--wipe", wipe.value + "%"); }
  wipe.addEventListener("input", applyWipe);
  applyWipe();

  // ---- zoom on a region ------------------------------------------------------------------
  let zoom = 1;
  let origin = { x: 50, y: 50 };
  function applyZoom() {
    [before, after].forEach(function (video) {
      video.style.transformOrigin = origin.x + "% " + origin.y + "%";
      video.style.transform = zoom > 1 ? "scale(" + zoom + ")" : "";
    });
    zoomSelect.value = String(zoom);
  }
  function changeZoom(direction) {
    const levels = [1, 2, 4, 8];
    const index = Math.min(Math.max(levels.indexOf(zoom) + direction, 0), levels.length - 1);
    zoom = levels[index];
    applyZoom();
  }
  zoomSelect.addEventListener("change", function () { zoom = Number(zoomSelect.value) || 1; applyZoom(); });
  root.querySelectorAll(".viewport").forEach(function (viewport) {
    viewport.addEventListener("click", function (event) {
      const box = viewport.getBoundingClientRect();
      // Click position in the video's own coordinates (undo the current zoom).
      const px = (event.clientX - box.left) / box.width * 100;
      const py = (event.clientY - box.top) / box.height * 100;
      origin = {
        x: zoom > 1 ? origin.x + (px - origin.x) / zoom : px,
        y: zoom > 1 ? origin.y + (py - origin.y) / zoom : py,
      };
      if (zoom === 1) zoom = 2;
      applyZoom();
    });
  });

  // ---- artifact-score timeline ------------------------------------------------------------
  let scores = { before: [], after: [] };
  function drawTimeline() {
    if (!canvas) return;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth * ratio;
    const height = canvas.clientHeight * ratio;
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const count = Math.max(frameCount, scores.before.length, scores.after.length, 1);
    const x = function (index) { return (index + 0.5) / count * width; };
    const y = function (value) { return height - 4 * ratio - value * (height - 8 * ratio); };
    ctx.strokeStyle = "#e4e9ef";
    ctx.lineWidth = ratio;
    [0.25, 0.5, 0.75].forEach(function (level) {
      ctx.beginPath(); ctx.moveTo(0, y(level)); ctx.lineTo(width, y(level)); ctx.stroke();
    });
    [["before", "#c0392b"], ["after", "#1d7a3a"]].forEach(function (series) {
      const values = scores[series[0]];
      if (!values.length) return;
      ctx.strokeStyle = series[1];
      ctx.lineWidth = 1.5 * ratio;
      ctx.beginPath();
      values.forEach(function (value, index) {
        if (index === 0) ctx.moveTo(x(index), y(value)); else ctx.lineTo(x(index), y(value));
      });
      ctx.stroke();
    });
    ctx.strokeStyle = "#1f5fa8";
    ctx.lineWidth = 2 * ratio;
    const cursor = x(currentFrame());
    ctx.beginPath(); ctx.moveTo(cursor, 0); ctx.lineTo(cursor, height); ctx.stroke();
  }
  if (canvas) {
    canvas.addEventListener("click", function (event) {
      const box = canvas.getBoundingClientRect();
      const count = Math.max(frameCount, 1);
      seekFrame(Math.floor((event.clientX - box.left) / box.width * count));
    });
    window.addEventListener("resize", drawTimeline);
    fetch(data.scores_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body) { scores = { before: body.before || [], after: body.after || [] }; }
        drawTimeline();
      })
      .catch(function () { drawTimeline(); });
  }

  // ---- worst frames -------------------------------------------------------------------------
  document.querySelectorAll("[data-seek]").forEach(function (button) {
    button.addEventListener("click", function () {
      seekFrame(Number(button.getAttribute("data-seek")));
      stage.scrollIntoView({ block: "nearest" });
    });
  });

  // ---- display ------------------------------------------------------------------------------
  function render() {
    const index = currentFrame();
    timecodeOut.textContent = timecode(index);
    frameOut.textContent = String(index + frameStart);
    drawTimeline();
  }
  function loop() {
    if (!after.paused) render();
    window.requestAnimationFrame(loop);
  }
  window.requestAnimationFrame(loop);
  if (hasBefore) {
    before.addEventListener("loadedmetadata", function () { syncBefore(true); });
  }
  render();
  // Expose a tiny hook for end-to-end tests (frame under the playhead).
  root.dataset.ready = "1";
  root.reviewState = function () { return { frame: currentFrame(), zoom: zoom, before: hasBefore ? before.currentTime : null, after: after.currentTime }; };
})();
