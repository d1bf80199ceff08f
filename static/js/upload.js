// Resumable capture upload: the tus protocol through Uppy (static/vendor/uppy, see
// scripts/vendor_uppy.sh). An interrupted upload resumes from the last byte the server stored:
// automatically after a network error, by the Retry button, or after reloading the page and
// choosing the same file again. Without JavaScript the form still posts the file in one request.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.Uppy || !window.Uppy.Uppy || !window.Uppy.Tus) { return; }
  var input = document.getElementById("id_file");
  var bar = document.getElementById("upload-bar");
  var statusText = document.getElementById("upload-status");
  var progressBox = document.getElementById("upload-progress");
  var errorBox = document.getElementById("upload-error");
  var submit = document.getElementById("upload-submit");
  var cancel = document.getElementById("upload-cancel");
  var pause = document.getElementById("upload-pause");
  var retry = document.getElementById("upload-retry");
  var maxSize = parseInt(form.dataset.maxSize, 10);
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var fileId = null;
  var speed = { bytes: 0, time: 0, rate: 0 };

  var uppy = new window.Uppy.Uppy({ autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(window.Uppy.Tus, {
    endpoint: form.dataset.endpoint,
    chunkSize: parseInt(form.dataset.chunkSize, 10) || Infinity,
    // Network errors and 5xx answers are retried after these pauses, resuming at the offset
    // the server reports (HEAD); then the Retry button takes over.
    retryDelays: [0, 1000, 3000, 5000, 10000],
    headers: { "X-CSRFToken": csrf },
    allowedMetaFields: ["filename", "tape", "filetype"],
    removeFingerprintOnSuccess: true,
  });

  function formatBytes(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var index = 0;
    while (bytes >= 1024 && index < units.length - 1) { bytes /= 1024; index += 1; }
    return bytes.toFixed(index === 0 ? 0 : 1) + " " + units[index];
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function reset() {
    if (fileId) { uppy.removeFile(fileId); }
    fileId = null;
    submit.disabled = false;
    input.disabled = false;
    cancel.hidden = true;
    pause.hidden = true;
    retry.hidden = true;
  }

  function serverMessage(error) {
    var response = error && error.originalResponse;
    if (!response) { return null; }
    try {
      var body = JSON.parse(response.getBody());
      return body.error && body.error.message;
    } catch (ignored) { return null; }
  }

  uppy.on("upload-progress", function (file, progress) {
    if (!progress.bytesTotal) { return; }
    var now = Date.now();
    if (speed.time && now - speed.time >= 500) {
      var instant = ((progress.bytesUploaded - speed.bytes) * 1000) / (now - speed.time);
      speed.rate = speed.rate ? 0.7 * speed.rate + 0.3 * instant : instant;
    }
    if (!speed.time || now - speed.time >= 500) { speed.bytes = progress.bytesUploaded; speed.time = now; }
    var percent = (progress.bytesUploaded / progress.bytesTotal) * 100;
    var remaining = speed.rate > 0 ? (progress.bytesTotal - progress.bytesUploaded) / speed.rate : 0;
    bar.value = percent;
    statusText.textContent = percent.toFixed(0) + "% · " + formatBytes(progress.bytesUploaded) +
      " of " + formatBytes(progress.bytesTotal) +
      (speed.rate > 0 ? " · " + formatBytes(speed.rate) + "/s" : "") +
      (remaining > 1 ? " · about " + Math.ceil(remaining) + " s left" : "");
  });

  uppy.on("upload-success", function (file, response) {
    bar.removeAttribute("value");  // indeterminate while the server checks the file
    statusText.textContent = "Uploaded. Checking the video (probe, fingerprint, poster frame)…";
    pause.hidden = true;
    cancel.hidden = true;
    waitForCapture(response.uploadURL);
  });

  uppy.on("upload-error", function (file, error) {
    pause.hidden = true;
    retry.hidden = false;
    showError((serverMessage(error) || "The connection was lost during the upload.") +
      " The bytes already sent are kept: Retry continues from there.");
  });

  // After the last byte the server makes the capture (at once for small files, on a worker
  // for big ones): poll the upload until the capture exists or the server refused the file.
  function waitForCapture(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (body) {
        if (body.status === "done" && body.capture_url) {
          statusText.textContent = "Done. Opening the capture…";
          window.location.assign(body.capture_url);
        } else if (body.status === "processing" || body.status === "receiving") {
          window.setTimeout(function () { waitForCapture(url); }, 2000);
        } else {
          progressBox.hidden = true;
          showError(body.error || "The upload was not accepted (" + body.status_label + ").");
          reset();
        }
      })
      .catch(function () { window.setTimeout(function () { waitForCapture(url); }, 5000); });
  }

  cancel.addEventListener("click", function () {
    uppy.cancelAll();  // tus termination: the server deletes the bytes received
    progressBox.hidden = true;
    showError("Upload cancelled.");
    reset();
  });

  pause.addEventListener("click", function () {
    if (!fileId) { return; }
    var paused = uppy.pauseResume(fileId);
    pause.textContent = paused ? "Resume" : "Pause";
    if (paused) { statusText.textContent = "Paused · " + statusText.textContent.replace(/^Paused · /, ""); }
    speed = { bytes: 0, time: 0, rate: 0 };
  });

  retry.addEventListener("click", function () {
    if (!fileId) { return; }
    errorBox.hidden = true;
    retry.hidden = true;
    pause.hidden = false;
    speed = { bytes: 0, time: 0, rate: 0 };
    uppy.retryUpload(fileId);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    var file = input.files && input.files[0];
    if (!file) { showError("Choose a video file to upload."); return; }
    if (file.size === 0) { showError("“" + file.name + "” is empty (0 bytes). Choose the video file again."); return; }
    if (maxSize && file.size > maxSize) {
      showError("“" + file.name + "” is " + formatBytes(file.size) + "; the upload limit is " + formatBytes(maxSize) + ".");
      return;
    }
    if (fileId) { uppy.removeFile(fileId); }
    fileId = uppy.addFile({
      name: file.name,
      type: file.type || "application/octet-stream",
      data: file,
      meta: { filename: file.name, filetype: file.type || "", tape: form.dataset.tape },
    });
    speed = { bytes: 0, time: 0, rate: 0 };
    bar.value = 0;
    statusText.textContent = "Starting…";
    progressBox.hidden = false;
    submit.disabled = true;
    input.disabled = true;
    cancel.hidden = false;
    pause.hidden = false;
    pause.textContent = "Pause";
    retry.hidden = true;
    uppy.upload();
  });
})();
