/* Repeating form rows (webapp/forms_render.py): "add row" clones the <template>, replacing __INDEX__ in
   names/ids with a fresh index; "remove row" drops a row (or clears it at minItems). Sparse indices are fine. */
(function () {
  "use strict";
  var ATTRS = ["name", "id", "for", "aria-describedby", "data-path", "data-index"];
  function rowsOf(fieldset) {
    var list = fieldset.querySelector(".rows-list");
    return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("row"); });
  }
  function refresh(fieldset) {
    var rows = rowsOf(fieldset), max = parseInt(fieldset.getAttribute("data-max") || "0", 10);
    rows.forEach(function (row, n) {
      var number = row.querySelector(".row-number");
      if (number) { number.textContent = String(n + 1); }
    });
    Array.prototype.forEach.call(fieldset.children, function (el) {
      if (el.classList.contains("add-row")) { el.disabled = max > 0 && rows.length >= max; }
    });
  }
  function addRow(button) {
    var fieldset = button.closest("fieldset.rows"), next = 0;
    var template = document.getElementById(button.getAttribute("data-template-id"));
    rowsOf(fieldset).forEach(function (row) {
      next = Math.max(next, parseInt(row.getAttribute("data-index"), 10) + 1 || 0);
    });
    var clone = template.content.cloneNode(true);
    Array.prototype.forEach.call(clone.querySelectorAll("*"), function (el) {
      ATTRS.forEach(function (name) {
        var value = el.getAttribute(name);
        if (value && value.indexOf("__INDEX__") !== -1) { el.setAttribute(name, value.split("__INDEX__").join(String(next))); }
      });
    });
    fieldset.querySelector(".rows-list").appendChild(clone);
    refresh(fieldset);
    var rows = rowsOf(fieldset), first = rows[rows.length - 1].querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }
  function removeRow(button) {
    var fieldset = button.closest("fieldset.rows"), row = button.closest("fieldset.row");
    var min = Math.max(parseInt(fieldset.getAttribute("data-min") || "0", 10), 1);
    if (rowsOf(fieldset).length > min) { row.parentNode.removeChild(row); } else {
      Array.prototype.forEach.call(row.querySelectorAll("input, select, textarea"), function (el) {
        if (el.type === "checkbox" || el.type === "radio") { el.checked = false; } else { el.value = ""; }
      });
    }
    refresh(fieldset);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.add-row, button.remove-row");
    if (!button) { return; }
    if (button.classList.contains("add-row")) { addRow(button); } else { removeRow(button); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("fieldset.rows"), refresh);
  });
})();
