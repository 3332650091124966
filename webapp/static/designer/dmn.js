/* DMN decision tables edited with dmn-js; validated and deployed through the designer endpoints. */
(function () {
  "use strict";
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var xml = data("designer-xml"), T = data("designer-strings"), cfg = data("designer-config");
  var status = document.getElementById("status"), list = document.getElementById("findings");
  var modeler = new window.DmnJS({ container: "#canvas" });
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf } })
      .then(function (r) { return r.json().catch(function () { return { ok: false, message: T.error + " " + r.status }; }); });
  }
  function body() {
    return modeler.saveXML({ format: true }).then(function (r) { var f = {}; f[cfg.fileName] = r.xml; return { files: f }; });
  }
  function show(res) {
    list.innerHTML = "";
    (res.findings || []).forEach(function (f) {
      var li = document.createElement("li");
      li.textContent = [f.file, f.element].filter(Boolean).join(" · ") + ": " + f.problem;
      list.appendChild(li);
    });
    status.textContent = res.ok ? (res.created ? T.deploy_ok : T.valid) : (res.message || T.problems);
    status.className = "designer-status " + (res.ok ? "ok" : "bad");
  }
  document.getElementById("btn-validate").addEventListener("click", function () {
    body().then(function (b) { return post(cfg.validateUrl, b); }).then(show);
  });
  document.getElementById("btn-deploy-confirm").addEventListener("click", function () {
    var note = document.getElementById("deploy-note").value.trim();
    if (!note) { status.textContent = T.note_required; return; }
    body().then(function (b) { b.note = note; return post(cfg.deployUrl, b); }).then(show);
  });
  modeler.importXML(xml).catch(function (e) { status.textContent = T.error + ": " + e.message; });
  window.rfDmn = modeler;
})();
