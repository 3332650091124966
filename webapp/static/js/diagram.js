/* Instance diagram: load the BPMN XML, show it in the navigated viewer, mark done/active elements. */
(function () {
  "use strict";
  var el = document.getElementById("diagram");
  if (!el || typeof window.BpmnJS === "undefined") { return; }
  var markers = JSON.parse(el.getAttribute("data-markers") || "{}");
  var viewer = new window.BpmnJS({ container: el });
  function fail() { el.textContent = el.getAttribute("data-error"); el.classList.add("diagram-error"); }
  fetch(el.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      (markers.done || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "rf-done"); } });
      (markers.active || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "rf-active"); } });
      (markers.overdue || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "rf-overdue"); } });
    })
    .catch(fail);
})();
