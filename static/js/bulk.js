/* Bulk selection in lists (form[data-role=bulk]): "select all", a live count, and the bulk
 * buttons enabled only while something is selected. Without JavaScript every checkbox and
 * button still works (the server answers "select at least one"). */
(function () {
  "use strict";
  document.querySelectorAll("form[data-role=bulk]").forEach(function (form) {
    // "Select all" sits in the table head and, for phones (where the head is hidden), in the bar.
    const alls = Array.prototype.slice.call(form.querySelectorAll("[data-role=select-all]"));
    const boxes = function () { return Array.prototype.slice.call(form.querySelectorAll("[data-role=select]")); };
    const count = form.querySelector("[data-role=selected-count]");
    const buttons = form.querySelectorAll("[data-role=bulkbar] button[name=action]");
    const idle = count ? count.textContent : "";
    function refresh() {
      const selected = boxes().filter(function (box) { return box.checked; }).length;
      if (count) count.textContent = selected ? selected + " selected" : idle;
      buttons.forEach(function (button) {
        if (!button.hasAttribute("data-always-disabled")) button.disabled = selected === 0;
      });
      alls.forEach(function (all) {
        all.checked = selected > 0 && selected === boxes().length;
        all.indeterminate = selected > 0 && selected < boxes().length;
      });
    }
    buttons.forEach(function (button) { if (button.disabled) button.setAttribute("data-always-disabled", ""); });
    alls.forEach(function (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        refresh();
      });
    });
    form.addEventListener("change", function (event) {
      if (event.target && event.target.getAttribute("data-role") === "select") refresh();
    });
    refresh();
  });
})();
