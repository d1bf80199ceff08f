/* The review room (templates/restoration/_review_room.html): two players in sync — pane "a"
 * (the capture's browser copy, or version A) and pane "b" (the restored version, the clock) —
 * side by side, as a wipe, as an A/B flip or as an amplified difference; frame-accurate
 * transport, J/K/L shuttle, go-to-timecode, loop, nearest-neighbour zoom with pan, the score
 * timeline with frame comments, and the exact original frame when paused. No dependencies.
 *
 * Frame numbers are the capture's. The frame shown is the one the decoder presented
 * (requestVideoFrameCallback's mediaTime), never guessed from currentTime, and a pause snaps
 * both players to the middle of that frame, so the label, the picture and the other player
 * always agree.
 */
(function () {
  "use strict";

  const root = document.getElementById("review");
  const dataNode = document.getElementById("review-data");
  if (!root || !dataNode) return;
  const data = JSON.parse(dataNode.textContent);
  const $ = function (selector) { return root.querySelector(selector); };

  const stage = $("[data-role=stage]");
  const va = $("video[data-role=a]");
  const vb = $("video[data-role=b]");
  const playButton = $("[data-action=play]");
  const timecodeOut = $("[data-role=timecode]");
  const frameOut = $("[data-role=frame]");
  const speedOut = $("[data-role=speed]");
  const canvas = $("canvas[data-role=timeline]");
  const diffCanvas = $("canvas[data-role=diff]");
  const exactImg = $("img[data-role=exact-img]");
  const exactBox = $("[data-role=exact]");

  function parseRate(text) {
    const parts = String(text || "25").split("/");
    const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
    return value > 0 && isFinite(value) ? value : 25;
  }
  const fps = parseRate(data.frame_rate);
  const first = Number(data.first) || 0;
  const last = Math.max(first, (Number(data.end) || first + 1) - 1);
  const hasA = Boolean(data.a.url);
  const panes = [{ video: vb, start: Number(data.b.start) || 0 }];
  if (hasA) panes.push({ video: va, start: Number(data.a.start) || 0 });
  const paneA = hasA ? panes[1] : null;
  const paneB = panes[0];

  // ---- frames and time ---------------------------------------------------------------------
  let frame = first;          // the capture frame on screen (label, cursor, comments)
  let seeking = 0;            // seeks in flight
  let plays = 0;              // play requests; a stop cancels the ones still seeking
  let reverseTimer = null;    // J shuttle
  let shuttle = 0;            // -8..8, 0 = stopped
  const loop = { from: null, to: null, on: false };

  function clamp(index) { return Math.min(Math.max(index, first), last); }
  function timeOf(pane, index) { return (index - pane.start + 0.5) / fps; }  // middle of the frame
  function frameAt(pane, seconds) { return Math.floor(seconds * fps + 1e-6) + pane.start; }
  function pad(value) { return String(value).padStart(2, "0"); }
  function timecode(index) {
    const base = Math.round(fps);
    const seconds = Math.floor(index / base);
    return pad(Math.floor(seconds / 3600)) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" +
      pad(seconds % 60) + ":" + pad(index % base);
  }
  function parseTimecode(text) {
    const value = String(text || "").trim();
    if (/^\d+$/.test(value)) return Number(value);
    const parts = value.split(/[:;.]/).map(Number);
    if (!parts.length || parts.some(function (n) { return !isFinite(n); })) return null;
    while (parts.length < 4) parts.unshift(0);
    const base = Math.round(fps);
    return ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * base + parts[3];
  }
  function playing() { return !vb.paused && !vb.ended; }

  function seekVideo(pane, index, force) {
    return new Promise(function (resolve) {
      const target = timeOf(pane, index);
      const video = pane.video;
      // After a pause the picture may be a frame ahead of currentTime: only a real seek makes
      // the decoder present exactly the frame at the target, so pauses always seek.
      if (!force && Math.abs(video.currentTime - target) < 0.25 / fps && !video.seeking) { resolve(); return; }
      const done = function () { video.removeEventListener("seeked", done); resolve(); };
      video.addEventListener("seeked", done);
      video.currentTime = target;
    });
  }
  /* Both players to the middle of capture frame ``index``; resolves when both show it. */
  function seekFrame(index, force) {
    const target = clamp(index);
    frame = target;
    seeking += 1;
    render();
    return Promise.all(panes.map(function (pane) { return seekVideo(pane, target, force); }))
      .then(function () {
        seeking -= 1;
        if (seeking === 0) { frame = target; render(); afterSettle(); }
      });
  }
  function pauseAll() {
    stopReverse();
    plays += 1;  // a play still waiting for its seek must not start after this
    panes.forEach(function (pane) { pane.video.pause(); });
  }
  function stop() {
    // The picture on screen is the frame the decoder presented last: snap both players to it.
    pauseAll();
    shuttle = 0;
    return seekFrame(frame, true);
  }
  function step(delta) { pauseAll(); shuttle = 0; return seekFrame(frame + delta); }
  function playAll(rate) {
    stopReverse();
    const request = ++plays;
    const start = (vb.ended || frame >= last) ? seekFrame(loop.on && loop.from !== null ? loop.from : first)
      : seekFrame(frame);
    return start.then(function () {
      if (request !== plays) return;  // stopped (K, pause, a step) before the seek finished
      panes.forEach(function (pane) {
        pane.video.playbackRate = rate || 1;
        const started = pane.video.play();
        if (started && started.catch) started.catch(function () {});
      });
    });
  }
  function togglePlay() { if (playing() || reverseTimer) stop(); else { shuttle = 1; playAll(1); } }

  // J/K/L: L forward (again: 2×, 4×, 8×), J backward the same way (frame steps), K stops.
  function stopReverse() { if (reverseTimer) { window.clearInterval(reverseTimer); reverseTimer = null; } }
  function shuttleTo(speed) {
    shuttle = Math.max(-8, Math.min(8, speed));
    if (shuttle > 0) { playAll(shuttle); }
    else if (shuttle < 0) {
      panes.forEach(function (pane) { pane.video.pause(); });
      stopReverse();
      const per = Math.max(1, Math.round(-shuttle / 2));
      reverseTimer = window.setInterval(function () {
        if (seeking) return;
        if (frame <= first) { stop(); return; }
        seekFrame(frame - per);
      }, 1000 / fps * per / -shuttle);
    }
    else stop();
    speedOut.textContent = shuttle && Math.abs(shuttle) !== 1 ? "· " + (shuttle > 0 ? "▶︎ " : "◀︎ ") + Math.abs(shuttle) + "×" : (shuttle === -1 ? "· ◀︎" : "");
  }

  // While playing: the frame on screen comes from the decoder; pane a follows pane b.
  const hasFrameCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  function onFrameB(now, meta) {
    if (playing() && !seeking) {
      frame = clamp(Math.round(meta.mediaTime * fps) + paneB.start);
      if (paneA) {
        const want = timeOf(paneA, frame);
        if (Math.abs(va.currentTime - want) > 1.5 / fps) va.currentTime = want;
      }
      if (loop.on && loop.to !== null && frame >= loop.to) { seekFrame(loop.from).then(function () { playAll(vb.playbackRate); }); }
      render();
      if (mode === "diff") drawDiff();
    }
    vb.requestVideoFrameCallback(onFrameB);
  }
  if (hasFrameCallback) vb.requestVideoFrameCallback(onFrameB);
  else {
    (function tick() {
      if (playing() && !seeking) { frame = clamp(frameAt(paneB, vb.currentTime)); render(); }
      window.requestAnimationFrame(tick);
    })();
  }
  vb.addEventListener("play", function () { playButton.textContent = "Pause"; hideExact(); });
  vb.addEventListener("pause", function () {
    playButton.textContent = "Play";
    if (!seeking && !reverseTimer) {
      // A pause from anywhere (the player, the end of a loop): snap both to the frame shown.
      if (paneA) va.pause();
      seekFrame(frame, true);
    }
  });
  vb.addEventListener("ended", function () { if (paneA) va.pause(); frame = last; seekFrame(last); });
  // First picture: both players to the first frame once BOTH know their timing. A seek on a
  // player without metadata is never answered, and metadata may arrive before this script
  // runs (the event then came and went), so check at the end of start-up as well as on each event.
  function seekWhenReady() {
    if (vb.readyState >= 1 && (!paneA || va.readyState >= 1) && !playing()) seekFrame(frame);
  }
  vb.addEventListener("loadedmetadata", seekWhenReady);
  if (paneA) va.addEventListener("loadedmetadata", seekWhenReady);

  playButton.addEventListener("click", togglePlay);
  $("[data-action=prev]").addEventListener("click", function () { step(-1); });
  $("[data-action=next]").addEventListener("click", function () { step(1); });
  // Shuttle buttons: J and L for fingers (again: faster), as the keys do.
  const shuttleBack = $("[data-action=shuttle-back]");
  const shuttleForward = $("[data-action=shuttle-forward]");
  if (shuttleBack) shuttleBack.addEventListener("click", function () { shuttleTo(shuttle < 0 ? shuttle * 2 : -1); });
  if (shuttleForward) shuttleForward.addEventListener("click", function () { shuttleTo(shuttle > 0 ? shuttle * 2 : 1); });

  // ---- go to, loop ----------------------------------------------------------------------
  const gotoForm = $("[data-role=goto]");
  const gotoInput = $("[data-role=goto-input]");
  gotoForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const index = parseTimecode(gotoInput.value);
    if (index === null) { gotoInput.setCustomValidity("Type a frame number or HH:MM:SS:FF"); gotoInput.reportValidity(); return; }
    gotoInput.setCustomValidity("");
    pauseAll();
    seekFrame(index);
    stage.focus();
  });
  const loopOut = $("[data-role=loop-out]");
  const loopButton = $("[data-action=loop]");
  function showLoop() {
    loopButton.setAttribute("aria-pressed", String(loop.on));
    loopOut.textContent = loop.from === null ? "no loop region" :
      "loop " + timecode(loop.from) + " – " + timecode(loop.to) + " (frames " + loop.from + "–" + loop.to + ")" + (loop.on ? ", on" : ", off");
    drawTimeline();
  }
  function setLoop(which) {
    if (which === "in") { loop.from = frame; if (loop.to === null || loop.to < frame) loop.to = last; }
    else { loop.to = frame; if (loop.from === null || loop.from > frame) loop.from = first; }
    loop.on = true;
    showLoop();
  }
  $("[data-action=in]").addEventListener("click", function () { setLoop("in"); });
  $("[data-action=out]").addEventListener("click", function () { setLoop("out"); });
  loopButton.addEventListener("click", function () {
    if (loop.from === null) { loop.from = first; loop.to = last; }
    loop.on = !loop.on; showLoop();
  });

  // ---- comparison modes ------------------------------------------------------------------
  let mode = "side";
  let flipShowsA = false;
  const flipBadge = $("[data-role=flip-badge]");
  function setMode(next) {
    mode = next;
    ["side", "wipe", "flip", "diff"].forEach(function (name) {
      stage.classList.toggle(name, name === mode);
      root.classList.toggle("mode-" + name, name === mode);
    });
    root.querySelectorAll("[data-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-mode") === mode));
    });
    showFlip();
    if (mode === "diff") drawDiff();
  }
  function showFlip() {
    stage.classList.toggle("show-a", mode === "flip" && flipShowsA);
    flipBadge.textContent = flipShowsA ? data.a.label : data.b.label;
  }
  function flip() {
    if (mode !== "flip") { flipShowsA = false; setMode("flip"); }
    flipShowsA = !flipShowsA;
    showFlip();
  }
  root.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () {
      const next = button.getAttribute("data-mode");
      // Pressed again, "A/B flip" switches sides: what the F key does, for a tablet.
      if (next === "flip" && mode === "flip") flip();
      else setMode(next);
    });
  });
  const wipe = $("[data-role=wipe]");
  function applyWipe() { stage.style.setProperty("--wipe", wipe.value + "%"); }
  wipe.addEventListener("input", applyWipe);
  applyWipe();

  // Difference: |b − a| per channel, amplified, on a canvas the size of b's frames.
  const gainSelect = $("[data-role=gain]");
  const gainOut = $("[data-role=gain-out]");
  const scratch = document.createElement("canvas");
  function drawDiff() {
    if (mode !== "diff" || !vb.videoWidth) return;
    const width = vb.videoWidth, height = vb.videoHeight;
    if (diffCanvas.width !== width || diffCanvas.height !== height) { diffCanvas.width = width; diffCanvas.height = height; }
    scratch.width = width; scratch.height = height;
    const sctx = scratch.getContext("2d", { willReadFrequently: true });
    const ctx = diffCanvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(vb, 0, 0, width, height);
    if (!paneA || !va.videoWidth) return;
    sctx.drawImage(exactShown() ? exactImg : va, 0, 0, width, height);
    const after = ctx.getImageData(0, 0, width, height);
    const before = sctx.getImageData(0, 0, width, height).data;
    const pixels = after.data;
    const gain = Number(gainSelect.value) || 4;
    for (let i = 0; i < pixels.length; i += 4) {
      pixels[i] = Math.min(255, Math.abs(pixels[i] - before[i]) * gain);
      pixels[i + 1] = Math.min(255, Math.abs(pixels[i + 1] - before[i + 1]) * gain);
      pixels[i + 2] = Math.min(255, Math.abs(pixels[i + 2] - before[i + 2]) * gain);
    }
    ctx.putImageData(after, 0, 0);
  }
  gainSelect.addEventListener("change", function () { gainOut.textContent = gainSelect.value; drawDiff(); });

  // ---- exact original frame (paused only) -------------------------------------------------
  function exactShown() { return exactBox && exactBox.checked && !exactImg.hidden && exactImg.complete && exactImg.naturalWidth > 0; }
  function hideExact() { if (exactImg) exactImg.hidden = true; }
  function showExact() {
    if (!exactBox || !exactBox.checked || playing() || !hasA) { hideExact(); return; }
    const wanted = data.original_url + frame + ".png";
    if (exactImg.getAttribute("src") !== wanted) {
      exactImg.hidden = true;
      exactImg.onload = function () { if (!playing() && exactImg.getAttribute("src") === data.original_url + frame + ".png") { exactImg.hidden = false; drawDiff(); } };
      exactImg.setAttribute("src", wanted);
    } else if (exactImg.complete && exactImg.naturalWidth) { exactImg.hidden = false; }
  }
  if (exactBox) exactBox.addEventListener("change", function () { if (exactBox.checked) showExact(); else hideExact(); drawDiff(); });

  // ---- zoom (nearest neighbour) and pan ----------------------------------------------------
  let zoom = 1;
  let centre = { x: 0.5, y: 0.5 };
  const zoomSelect = $("[data-role=zoom]");
  const minimap = $("[data-role=minimap]");
  const minimapView = $("[data-role=minimap-view]");
  const zoomPosition = $("[data-role=zoom-position]");
  const LEVELS = [1, 2, 4, 8, 16];
  function applyZoom() {
    const half = 0.5 / zoom;
    centre.x = Math.min(Math.max(centre.x, half), 1 - half);
    centre.y = Math.min(Math.max(centre.y, half), 1 - half);
    const transform = zoom > 1 ? "translate(" + ((0.5 - zoom * centre.x) * 100) + "%, " + ((0.5 - zoom * centre.y) * 100) + "%) scale(" + zoom + ")" : "";
    root.querySelectorAll(".zoomed").forEach(function (box) { box.style.transform = transform; });
    zoomSelect.value = String(zoom);
    stage.classList.toggle("zoomed-in", zoom > 1);
    minimap.hidden = zoomPosition.hidden = zoom === 1;
    if (zoom > 1) {
      minimapView.style.left = (centre.x - half) * 100 + "%";
      minimapView.style.top = (centre.y - half) * 100 + "%";
      minimapView.style.width = minimapView.style.height = "";
      minimapView.style.width = 100 / zoom + "%";
      minimapView.style.height = 100 / zoom + "%";
      const w = vb.videoWidth || 0, h = vb.videoHeight || 0;
      zoomPosition.textContent = zoom + "× · x " + Math.round((centre.x - half) * w) + "–" + Math.round((centre.x + half) * w) +
        ", y " + Math.round((centre.y - half) * h) + "–" + Math.round((centre.y + half) * h) + " of " + w + "×" + h;
    }
  }
  function changeZoom(direction) {
    zoom = LEVELS[Math.min(Math.max(LEVELS.indexOf(zoom) + direction, 0), LEVELS.length - 1)];
    applyZoom();
  }
  function pan(dx, dy) { centre.x += dx; centre.y += dy; applyZoom(); }
  zoomSelect.addEventListener("change", function () { zoom = Number(zoomSelect.value) || 1; applyZoom(); });
  root.querySelectorAll(".viewport").forEach(function (viewport) {
    let drag = null;
    viewport.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY, moved: false };
      viewport.setPointerCapture(event.pointerId);
    });
    viewport.addEventListener("pointermove", function (event) {
      if (!drag) return;
      const box = viewport.getBoundingClientRect();
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (zoom === 1 && mode === "wipe") {
        // Wipe at fit: dragging across the picture moves the wipe line (finger or mouse).
        drag.moved = true;
        wipe.value = String(Math.round(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1) * 100));
        applyWipe();
        return;
      }
      if (zoom === 1) return;
      drag.moved = true;
      stage.classList.add("panning");
      pan(-dx / box.width / zoom, -dy / box.height / zoom);
      drag.x = event.clientX; drag.y = event.clientY;
    });
    viewport.addEventListener("pointerup", function (event) {
      stage.classList.remove("panning");
      const wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) return;
      // A click zooms in there: the point under the pointer, in the picture's own coordinates.
      const box = viewport.getBoundingClientRect();
      const px = (event.clientX - box.left) / box.width, py = (event.clientY - box.top) / box.height;
      const half = 0.5 / zoom;
      centre = { x: centre.x - half + px / zoom, y: centre.y - half + py / zoom };
      if (zoom === 1) centre = { x: px, y: py };
      changeZoom(1);
      stage.focus();
    });
  });

  // ---- keys ---------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    const tag = (event.target && event.target.tagName) || "";
    if (tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const second = Math.round(fps);
    let handled = true;
    if (event.shiftKey && zoom > 1 && key.indexOf("Arrow") === 0) {
      const d = 0.1 / zoom;
      pan(key === "ArrowLeft" ? -d : key === "ArrowRight" ? d : 0, key === "ArrowUp" ? -d : key === "ArrowDown" ? d : 0);
    }
    else if (key === "ArrowRight") step(event.shiftKey ? second : 1);
    else if (key === "ArrowLeft") step(event.shiftKey ? -second : -1);
    else if (key === " ") togglePlay();
    else if (key === "k" || key === "K") shuttleTo(0);
    else if (key === "l" || key === "L") shuttleTo(shuttle > 0 ? shuttle * 2 : 1);
    else if (key === "j" || key === "J") shuttleTo(shuttle < 0 ? shuttle * 2 : -1);
    else if (key === "+" || key === "=") changeZoom(1);
    else if (key === "-") changeZoom(-1);
    else if (key === "0") { zoom = 1; applyZoom(); }
    else if (key === "f" || key === "F") flip();
    else if (key === "d" || key === "D") setMode(mode === "diff" ? "side" : "diff");
    else if (key === "s" || key === "S") setMode("side");
    else if (key === "w" || key === "W") setMode("wipe");
    else if (key === "i" || key === "I") setLoop("in");
    else if (key === "o" || key === "O") setLoop("out");
    else if (key === "r" || key === "R") loopButton.click();
    else if (key === "g" || key === "G") { gotoInput.focus(); gotoInput.select(); }
    else if ((key === "e" || key === "E") && exactBox) { exactBox.checked = !exactBox.checked; exactBox.dispatchEvent(new Event("change")); }
    else if ((key === "m" || key === "M") && commentForm) addComment("");
    else if ((key === "c" || key === "C") && commentForm) { pauseAll(); commentText.focus(); }
    else handled = false;
    if (handled) event.preventDefault();
  });

  // ---- timeline: scores, comments, loop, cursor -------------------------------------------
  let scores = { before: [], after: [] };
  let comments = [];
  const scoresStart = Number(data.scores_start) || first;
  function drawTimeline() {
    if (!canvas) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, canvas.clientWidth * ratio);
    const height = Math.max(1, canvas.clientHeight * ratio);
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const count = last - first + 1;
    const x = function (index) { return (index - first + 0.5) / count * width; };
    const y = function (value) { return height - 4 * ratio - value * (height - 16 * ratio); };
    if (loop.from !== null) {
      ctx.fillStyle = loop.on ? "rgba(31, 95, 168, .12)" : "rgba(93, 104, 115, .08)";
      ctx.fillRect(x(loop.from) - width / count / 2, 0, (loop.to - loop.from + 1) / count * width, height);
    }
    ctx.strokeStyle = "#e4e9ef";
    ctx.lineWidth = ratio;
    [0.25, 0.5, 0.75].forEach(function (level) { ctx.beginPath(); ctx.moveTo(0, y(level)); ctx.lineTo(width, y(level)); ctx.stroke(); });
    [["before", "#c0392b"], ["after", "#1d7a3a"]].forEach(function (series) {
      const values = scores[series[0]];
      if (!values.length) return;
      ctx.strokeStyle = series[1];
      ctx.lineWidth = 1.5 * ratio;
      ctx.beginPath();
      let started = false;
      values.forEach(function (value, index) {
        const at = scoresStart + index;
        if (at < first || at > last) return;
        if (!started) { ctx.moveTo(x(at), y(value)); started = true; } else ctx.lineTo(x(at), y(value));
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#7b3fb5";
    comments.forEach(function (comment) {
      if (comment.frame < first || comment.frame > last) return;
      const cx = x(comment.frame);
      ctx.beginPath(); ctx.moveTo(cx - 5 * ratio, 0); ctx.lineTo(cx + 5 * ratio, 0); ctx.lineTo(cx, 9 * ratio); ctx.fill();
    });
    ctx.strokeStyle = "#1f5fa8";
    ctx.lineWidth = 2 * ratio;
    const cursor = x(frame);
    ctx.beginPath(); ctx.moveTo(cursor, 0); ctx.lineTo(cursor, height); ctx.stroke();
  }
  function frameUnder(event) {
    const box = canvas.getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 0.9999);
    return first + Math.floor(fraction * (last - first + 1));
  }
  canvas.addEventListener("click", function (event) {
    pauseAll();
    seekFrame(frameUnder(event));
  });
  // Scrub: drag along the timeline (a finger on a tablet, or the mouse) to seek as it moves.
  let scrubbing = null;
  canvas.addEventListener("pointerdown", function (event) {
    scrubbing = { pointer: event.pointerId, frame: null };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!scrubbing || scrubbing.pointer !== event.pointerId) return;
    const target = frameUnder(event);
    if (target === scrubbing.frame) return;
    if (scrubbing.frame === null) pauseAll();
    scrubbing.frame = target;
    if (!seeking) seekFrame(target);  // busy decoding: the finger's last place wins at the end
  });
  canvas.addEventListener("pointerup", function (event) {
    // Where the finger left the timeline is where the players stop (a mouse click seeks too).
    if (scrubbing && scrubbing.frame !== null && event.pointerType === "touch") seekFrame(frameUnder(event));
    scrubbing = null;
  });
  canvas.addEventListener("pointercancel", function () { scrubbing = null; });
  window.addEventListener("resize", drawTimeline);
  fetch(data.scores_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (body) { if (body) scores = { before: body.before || [], after: body.after || [] }; drawTimeline(); })
    .catch(drawTimeline);

  // ---- frame comments and markers --------------------------------------------------------------
  const commentForm = $("[data-role=comment-form]");
  const commentText = $("[data-role=comment-text]");
  const commentError = $("[data-role=comment-error]");
  const commentList = $("[data-role=comment-list]");
  const commentFrameOut = $("[data-role=comment-frame]");
  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function showComments() {
    commentList.textContent = "";
    comments.slice().sort(function (p, q) { return p.frame - q.frame || p.id - q.id; }).forEach(function (comment) {
      const item = document.createElement("li");
      item.setAttribute("data-frame", comment.frame);
      const seek = document.createElement("button");
      seek.type = "button"; seek.className = "linkish";
      seek.setAttribute("data-seek-frame", comment.frame);
      seek.textContent = timecode(comment.frame) + " · frame " + comment.frame;
      const who = document.createElement("span");
      who.className = "small muted"; who.textContent = " " + comment.author + " ";
      item.appendChild(seek); item.appendChild(who);
      item.appendChild(document.createTextNode(comment.text || "(marker)"));
      commentList.appendChild(item);
    });
    const none = $("[data-role=no-comments]");
    if (none) none.hidden = comments.length > 0;
    drawTimeline();
  }
  commentList.addEventListener("click", function (event) {
    const target = event.target.closest("[data-seek-frame]");
    if (target) { pauseAll(); seekFrame(Number(target.getAttribute("data-seek-frame"))); }
  });
  function loadComments() {
    return fetch(data.comments_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { comments: [] }; })
      .then(function (body) { comments = body.comments || []; showComments(); })
      .catch(function () {});
  }
  function addComment(text) {
    const at = frame;
    pauseAll();
    return fetch(data.comments_url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ frame: at, text: text }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || "The comment was not saved.");
        comments.push(body);
        commentError.hidden = true;
        showComments();
        return body;
      });
    }).catch(function (error) { commentError.textContent = error.message; commentError.hidden = false; });
  }
  if (commentForm) {
    commentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      addComment(commentText.value).then(function (saved) { if (saved) commentText.value = ""; });
    });
  }
  loadComments();

  // ---- worst frames: thumbnails in order, each shown once it exists ---------------------------
  // A thumbnail a worker has not made yet answers with a placeholder (SVG): keep asking, show
  // "preparing…", and put the JPEG in as soon as it is there. Never an empty box.
  const thumbs = Array.prototype.slice.call(document.querySelectorAll(".worst-frames img[data-src]"));
  function thumbState(img, text) {
    const state = img.parentNode.querySelector("[data-role=thumb-state]");
    if (state) state.textContent = text;
  }
  function loadThumb(img, attempt) {
    return fetch(img.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        const type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("image/jpeg") === 0) return response.blob();
        if (response.ok && attempt < 120) {  // placeholder: being made (about two minutes at most)
          thumbState(img, "preparing…");
          return new Promise(function (resolve) { window.setTimeout(resolve, 1000); })
            .then(function () { return loadThumb(img, attempt + 1); });
        }
        throw new Error("thumbnail " + response.status);
      })
      .then(function (blob) {
        if (!blob) return;
        img.src = URL.createObjectURL(blob);
        // The text alternative only once there is a picture: an image without one shows its
        // alt text over a broken-image icon, which reads as an error while it is being made.
        img.alt = img.getAttribute("data-alt") || "";
        img.classList.remove("loading");
        img.setAttribute("data-ready", "1");
        if (!img.parentNode.querySelector("img.loading")) thumbState(img, "");
      });
  }
  thumbs.reduce(function (previous, img) {
    return previous.then(function () {
      return loadThumb(img, 0).catch(function () { thumbState(img, "could not be extracted"); });
    });
  }, Promise.resolve());
  document.querySelectorAll("[data-seek]").forEach(function (button) {
    button.addEventListener("click", function () {
      pauseAll();
      seekFrame(paneB.start + Number(button.getAttribute("data-seek")));
      stage.scrollIntoView({ block: "nearest" });
    });
  });

  // ---- comparison picker (version page) ------------------------------------------------------
  const pick = document.querySelector("[data-role=compare-select]");
  const go = document.querySelector("[data-role=compare-go]");
  if (pick && go) pick.addEventListener("change", function () { go.href = pick.value; });

  // ---- display --------------------------------------------------------------------------------
  function render() {
    timecodeOut.textContent = timecode(frame);
    frameOut.textContent = String(frame);
    if (commentFrameOut) commentFrameOut.textContent = String(frame);
    drawTimeline();
  }
  function afterSettle() {
    if (playing()) return;
    showExact();
    drawDiff();
  }
  render();
  seekWhenReady();  // metadata that arrived before this script ran (see seekWhenReady)
  root.dataset.ready = "1";
  // A small hook for end-to-end tests: what is on screen, and whether the players are settled.
  root.reviewState = function () {
    return {
      frame: frame, zoom: zoom, mode: mode, flipShowsA: flipShowsA, centre: centre,
      loop: { from: loop.from, to: loop.to, on: loop.on }, shuttle: shuttle,
      settled: seeking === 0 && !playing() && !reverseTimer && !vb.seeking && (!paneA || !va.seeking),
      a: paneA ? va.currentTime : null, b: vb.currentTime, comments: comments.length,
    };
  };
})();
