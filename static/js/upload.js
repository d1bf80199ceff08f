// Capture upload with a real progress bar: XMLHttpRequest upload progress events, no framework.
// Without JavaScript the form still posts normally (the server answers with a page).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = document.getElementById("id_file");
  var bar = document.getElementById("upload-bar");
  var statusText = document.getElementById("upload-status");
  var progressBox = document.getElementById("upload-progress");
  var errorBox = document.getElementById("upload-error");
  var submit = document.getElementById("upload-submit");
  var cancel = document.getElementById("upload-cancel");
  var maxSize = parseInt(form.dataset.maxSize, 10);
  var request = null;

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
    request = null;
    submit.disabled = false;
    input.disabled = false;
    cancel.hidden = true;
  }

  cancel.addEventListener("click", function () { if (request) { request.abort(); } });

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
    var data = new FormData(form);  // includes the CSRF token field
    var started = Date.now();
    request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";

    request.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) { return; }
      var percent = (progress.loaded / progress.total) * 100;
      var seconds = (Date.now() - started) / 1000;
      var rate = seconds > 0 ? progress.loaded / seconds : 0;
      var remaining = rate > 0 ? (progress.total - progress.loaded) / rate : 0;
      bar.value = percent;
      statusText.textContent = percent.toFixed(0) + "% · " + formatBytes(progress.loaded) + " of " +
        formatBytes(progress.total) + " · " + formatBytes(rate) + "/s" +
        (remaining > 1 ? " · about " + Math.ceil(remaining) + " s left" : "");
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server checks the file
      statusText.textContent = "Uploaded. Checking the video (probe, fingerprint, poster frame)…";
    });
    request.addEventListener("load", function () {
      var body = request.response || {};
      if (request.status === 201 && body.url) {
        statusText.textContent = "Done. Opening the capture…";
        window.location.assign(body.url);
        return;
      }
      progressBox.hidden = true;
      var message = body.error && body.error.message;
      if (request.status === 413 && !message) { message = "The file is larger than the upload limit."; }
      showError(message || "The upload failed (HTTP " + request.status + "). Try again.");
      reset();
    });
    request.addEventListener("error", function () {
      progressBox.hidden = true;
      showError("The connection was lost during the upload. Check your network and try again.");
      reset();
    });
    request.addEventListener("abort", function () {
      progressBox.hidden = true;
      showError("Upload cancelled.");
      reset();
    });

    bar.value = 0;
    statusText.textContent = "Starting…";
    progressBox.hidden = false;
    submit.disabled = true;
    input.disabled = true;  // after FormData captured the file
    cancel.hidden = false;
    request.send(data);
  });
})();
