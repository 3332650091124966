/* Process designer: bpmn-js Modeler with the spiffworkflow moddle extension, a plain-JS side panel
   for the selected element, validation with canvas markers, review-and-deploy, and form editing with
   a server-rendered live preview. Everything is served locally (no CDN). */
(function () {
  "use strict";

  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var xml = data("designer-xml");
  var catalog = data("designer-catalog");
  var T = data("designer-strings");
  var cfg = data("designer-config");
  var zh = catalog.locale !== "en";

  var modeler = new window.BpmnJS({
    container: "#canvas",
    moddleExtensions: { spiffworkflow: window.RectiflowSpiffModdle }
  });
  var moddle = modeler.get("moddle");
  var modeling = modeler.get("modeling");
  var registry = modeler.get("elementRegistry");
  var canvas = modeler.get("canvas");
  var selection = modeler.get("selection");
  var eventBus = modeler.get("eventBus");

  var panel = document.getElementById("panel");
  var statusEl = document.getElementById("status");
  var findingsEl = document.getElementById("findings");
  var operations = {};
  (catalog.operations || []).forEach(function (op) { operations[op.name] = op; });
  var state = { findings: [], marked: [], editedForms: {}, currentForm: null, selected: null };

  // ------------------------------------------------------------------ small DOM helpers
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) { return; }
      if (k === "text") { el.textContent = v; }
      else if (k.slice(0, 2) === "on") { el.addEventListener(k.slice(2), v); }
      else if (k === "value") { el.value = v; }
      else { el.setAttribute(k, v === true ? "" : v); }
    });
    (children || []).forEach(function (c) { if (c) { el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return el;
  }
  var uid = 0;
  function field(label, input, hint) {
    var id = input.id || ("pf-" + (++uid));
    input.id = id;
    return h("div", { "class": "field" }, [h("label", { "for": id, text: label }), input,
      hint ? h("p", { "class": "help", text: hint }) : null]);
  }
  function debounce(fn, ms) {
    var t = null;
    return function () { var args = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, args); }, ms); };
  }
  function setStatus(text, kind) { statusEl.textContent = text || ""; statusEl.className = "designer-status " + (kind || ""); }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      var ct = r.headers.get("Content-Type") || "";
      if (ct.indexOf("application/json") < 0) {
        return { ok: false, status: r.status, message: T.error + " (HTTP " + r.status + ")", findings: [] };
      }
      return r.json().then(function (j) { j.status = r.status; return j; });
    });
  }

  // ------------------------------------------------------------------ moddle helpers
  function bo(element) { return element.businessObject; }
  function extValues(b) { return (b.extensionElements && b.extensionElements.get("values")) || []; }
  function findExt(b, type) { return extValues(b).filter(function (v) { return v.$type === type; })[0]; }
  function ensureExt(element) {
    var b = bo(element);
    if (!b.extensionElements) {
      var ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = b;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    return b.extensionElements;
  }
  function ensureExtChild(element, type, attrs) {
    var found = findExt(bo(element), type);
    if (found) { return found; }
    var ext = ensureExt(element);
    var child = moddle.create(type, attrs || {});
    child.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: extValues(bo(element)).concat([child]) });
    return child;
  }
  function removeExtChild(element, child) {
    var ext = bo(element).extensionElements;
    if (!ext || !child) { return; }
    modeling.updateModdleProperties(element, ext, { values: extValues(bo(element)).filter(function (v) { return v !== child; }) });
  }
  function getProps(b) {
    var out = {};
    var props = findExt(b, "spiffworkflow:Properties");
    (props ? props.get("properties") : []).forEach(function (p) { out[p.name] = p.value; });
    return out;
  }
  function setProperty(element, name, value) {
    var props = findExt(bo(element), "spiffworkflow:Properties");
    var list = props ? props.get("properties") : [];
    var existing = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (existing) { modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== existing; }) }); }
      return;
    }
    if (existing) { modeling.updateModdleProperties(element, existing, { value: value }); return; }
    props = props || ensureExtChild(element, "spiffworkflow:Properties", {});
    var p = moddle.create("spiffworkflow:Property", { name: name, value: value });
    p.$parent = props;
    modeling.updateModdleProperties(element, props, { properties: props.get("properties").concat([p]) });
  }
  function setBodyExt(element, type, text) {
    var found = findExt(bo(element), type);
    if (!text) { removeExtChild(element, found); return; }
    found = found || ensureExtChild(element, type, {});
    modeling.updateModdleProperties(element, found, { value: text });
  }
  function operator(b) { return findExt(b, "spiffworkflow:ServiceTaskOperator"); }
  function params(op) { return (op && op.parameterList) ? op.parameterList.get("parameters") : []; }
  function setOperation(element, name) {
    if (!name) { removeExtChild(element, operator(bo(element))); return; }
    var op = ensureExtChild(element, "spiffworkflow:ServiceTaskOperator", {});
    var def = operations[name];
    var keep = params(op).filter(function (p) { return def && def.params.some(function (d) { return d.name === p.id; }); });
    var list = moddle.create("spiffworkflow:Parameters", {});
    list.$parent = op;
    keep.forEach(function (p) { p.$parent = list; });
    list.set("parameters", keep);
    modeling.updateModdleProperties(element, op, { id: name, parameterList: list });
  }
  function setParam(element, name, type, value) {
    var op = operator(bo(element));
    if (!op) { return; }
    var list = op.parameterList;
    if (!list) {
      list = moddle.create("spiffworkflow:Parameters", {});
      list.$parent = op;
      modeling.updateModdleProperties(element, op, { parameterList: list });
    }
    var all = list.get("parameters");
    var existing = all.filter(function (p) { return p.id === name; })[0];
    if (!value) {
      if (existing) { modeling.updateModdleProperties(element, list, { parameters: all.filter(function (p) { return p !== existing; }) }); }
      return;
    }
    if (existing) { modeling.updateModdleProperties(element, existing, { value: value, type: type }); return; }
    var p = moddle.create("spiffworkflow:Parameter", { id: name, type: type, value: value });
    p.$parent = list;
    modeling.updateModdleProperties(element, list, { parameters: all.concat([p]) });
  }
  function docText(b) { var d = (b.get && b.get("documentation")) || []; return d.length ? (d[0].text || "") : ""; }
  function setDoc(element, text) {
    var docs = text ? [moddle.create("bpmn:Documentation", { text: text })] : [];
    modeling.updateProperties(element, { documentation: docs });
  }
  function laneOf(element) {
    var b = bo(element);
    return registry.filter(function (e) {
      return e.type === "bpmn:Lane" && (e.businessObject.get("flowNodeRef") || []).indexOf(b) >= 0;
    })[0];
  }
  function roleLabel(code) {
    var r = (catalog.roles || []).filter(function (x) { return x.code === code; })[0];
    return r ? (zh ? r.zh : r.en) : code;
  }
  function formKeys() {
    var keys = Object.keys(catalog.forms || {});
    Object.keys(state.editedForms).forEach(function (k) { if (keys.indexOf(k) < 0) { keys.push(k); } });
    return keys.sort();
  }
  function select(options, current, onchange, allowNone) {
    var s = h("select", { onchange: function () { onchange(s.value); } });
    if (allowNone) { s.appendChild(h("option", { value: "", text: T.none })); }
    options.forEach(function (o) {
      var opt = h("option", { value: o.value, text: o.label });
      if (o.value === current) { opt.selected = true; }
      s.appendChild(opt);
    });
    if (current && !options.some(function (o) { return o.value === current; })) {
      var unknown = h("option", { value: current, text: current + " ?" });
      unknown.selected = true;
      s.appendChild(unknown);
    }
    return s;
  }
  function text(value, onchange, multiline, rows) {
    var el = multiline ? h("textarea", { rows: rows || 3, spellcheck: "false" }) : h("input", { type: "text" });
    el.value = value || "";
    el.addEventListener("change", function () { onchange(el.value.trim() ? el.value : ""); });
    return el;
  }

  // ------------------------------------------------------------------ side panel
  function elementFindings(id) {
    return state.findings.filter(function (f) { return f.element === id; });
  }
  function findingsBox(id) {
    var box = h("div", { "class": "panel-findings", id: "panel-findings" });
    var list = elementFindings(id);
    list.forEach(function (f) { box.appendChild(h("p", { "class": "field-error", text: f.problem })); });
    return box;
  }
  function refreshPanelFindings() {
    var box = document.getElementById("panel-findings");
    if (!box || !state.selected) { return; }
    var fresh = findingsBox(state.selected.id);
    box.replaceWith(fresh);
  }

  function renderPanel(element) {
    state.selected = element || null;
    panel.innerHTML = "";
    if (!element || element.type === "label") {
      panel.appendChild(h("p", { "class": "help", text: T.select_hint }));
      return;
    }
    var b = bo(element);
    var type = element.type.replace("bpmn:", "");
    panel.appendChild(h("h2", { text: (b.name || b.id) }));
    panel.appendChild(h("p", { "class": "help" }, [type + " · ", h("code", { text: b.id })]));
    panel.appendChild(findingsBox(b.id));
    if (element.type !== "bpmn:Process" && element.type !== "bpmn:Collaboration") {
      panel.appendChild(field(T.name, text(b.name, function (v) { modeling.updateProperties(element, { name: v || undefined }); renderPanel(element); })));
    }
    if (element.type === "bpmn:Lane") { lanePanel(element); }
    if (element.type === "bpmn:UserTask") { userTaskPanel(element); }
    if (element.type === "bpmn:ServiceTask") { serviceTaskPanel(element); }
    if (element.type === "bpmn:ScriptTask") {
      panel.appendChild(field(T.script, text(b.script, function (v) { modeling.updateProperties(element, { script: v || undefined }); }, true, 6)));
    }
    var timer = (b.get && b.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (timer) { timerPanel(element, timer); }
    if (element.type === "bpmn:SequenceFlow") { flowPanel(element); }
    if (/Task$/.test(element.type)) {
      panel.appendChild(field("preScript", text((findExt(b, "spiffworkflow:PreScript") || {}).value, function (v) { setBodyExt(element, "spiffworkflow:PreScript", v); }, true)));
      panel.appendChild(field("postScript", text((findExt(b, "spiffworkflow:PostScript") || {}).value, function (v) { setBodyExt(element, "spiffworkflow:PostScript", v); }, true)));
    }
    if (element.type === "bpmn:UserTask" || element.type === "bpmn:ManualTask") {
      panel.appendChild(field(T.instructions, text((findExt(b, "spiffworkflow:InstructionsForEndUser") || {}).value, function (v) { setBodyExt(element, "spiffworkflow:InstructionsForEndUser", v); }, true)));
    }
    panel.appendChild(field(T.documentation, text(docText(b), function (v) { setDoc(element, v); }, true)));
  }

  function lanePanel(element) {
    var b = bo(element);
    var parts = (b.id || "").split("__");
    var role = parts.length > 1 ? parts[0] : "";
    var options = (catalog.roles || []).map(function (r) { return { value: r.code, label: (zh ? r.zh : r.en) + " (" + r.code + ")" }; });
    var sel = select(options, role, function (code) {
      var suffix = parts.length > 1 ? parts.slice(1).join("__") : (b.id || "lane").replace(/[^A-Za-z0-9_]/g, "_");
      var newId = code ? code + "__" + suffix : suffix;
      var props = { id: newId };
      if (!b.name) { props.name = roleLabel(code); }
      modeling.updateProperties(element, props);
      renderPanel(element);
    }, true);
    sel.id = "panel-role";
    panel.appendChild(field(T.role, sel, T.lane_hint));
  }

  function userTaskPanel(element) {
    var b = bo(element);
    var props = getProps(b);
    var lane = laneOf(element);
    var roleCode = lane ? (lane.businessObject.id || "").split("__")[0] : "";
    panel.appendChild(h("p", { "class": lane ? "help" : "field-error", text: lane ? T.role + ": " + roleLabel(roleCode) : T.no_lane }));
    var sel = select(formKeys().map(function (k) { return { value: k, label: k }; }), props.formKey || "", function (v) {
      setProperty(element, "formKey", v);
      renderPanel(element);
    }, true);
    sel.id = "panel-form";
    var links = h("p", { "class": "buttons" });
    if (props.formKey) {
      if (catalog.forms[props.formKey]) {
        links.appendChild(h("a", { href: cfg.formPageUrl.replace("__KEY__", encodeURIComponent(props.formKey)), target: "_blank", rel: "noopener", id: "panel-form-preview", text: T.preview }));
        links.appendChild(document.createTextNode(" "));
      }
      links.appendChild(h("button", { type: "button", "class": "link", text: T.edit_form, onclick: function () { openForm(props.formKey); document.getElementById("forms-box").scrollIntoView(); } }));
    }
    panel.appendChild(field(T.form, sel));
    panel.appendChild(links);
    panel.appendChild(field(T.title, text(props.title, function (v) { setProperty(element, "title", v); check(); })));
    panel.appendChild(field(T.due, text(props.dueDate, function (v) { setProperty(element, "dueDate", v); check(); })));
    panel.appendChild(field(T.scope, text(props.unitScope, function (v) { setProperty(element, "unitScope", v); check(); })));
    panel.appendChild(field(T.prefill, text(props.prefill, function (v) { setProperty(element, "prefill", v); check(); })));
  }

  function serviceTaskPanel(element) {
    var b = bo(element);
    var op = operator(b);
    var name = op ? op.id : "";
    var options = (catalog.operations || []).map(function (o) { return { value: o.name, label: o.name }; });
    var sel = select(options, name, function (v) { setOperation(element, v); renderPanel(element); check(); }, true);
    sel.id = "panel-operation";
    panel.appendChild(field(T.operation, sel, operations[name] ? operations[name].description : ""));
    if (op) {
      panel.appendChild(field(T.result_var, text(op.resultVariable, function (v) { modeling.updateModdleProperties(element, op, { resultVariable: v || undefined }); })));
    }
    var def = operations[name];
    if (!def) { return; }
    panel.appendChild(h("h3", { text: T.parameters }));
    var given = {};
    params(op).forEach(function (p) { given[p.id] = p.value; });
    def.params.forEach(function (p) {
      var label = p.name + " : " + p.type + (p.required ? " *" : "");
      var input = text(given[p.name], function (v) { setParam(element, p.name, p.type, v); check(); });
      input.setAttribute("data-param", p.name);
      if (p.required) { input.setAttribute("aria-required", "true"); }
      panel.appendChild(field(label, input, (p.required ? T.required + ". " : "") + (p.description || "")));
    });
  }

  function timerPanel(element, timer) {
    var kinds = [["timeDate", T.time_date], ["timeDuration", T.time_duration], ["timeCycle", T.time_cycle]];
    var kind = kinds.filter(function (k) { return timer[k[0]]; }).map(function (k) { return k[0]; })[0] || "timeDuration";
    var current = timer[kind] ? timer[kind].body : "";
    var input = text(current, function () {});
    input.id = "panel-timer";
    var sel = select(kinds.map(function (k) { return { value: k[0], label: k[1] }; }), kind, function () { apply(); });
    function apply() {
      var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (input.value.trim()) { props[sel.value] = moddle.create("bpmn:FormalExpression", { body: input.value }); }
      modeling.updateModdleProperties(element, timer, props);
    }
    var live = debounce(function () { apply(); check(); }, 400);
    input.addEventListener("input", live);
    panel.appendChild(h("h3", { text: T.timer }));
    panel.appendChild(field(T.timer_kind, sel));
    panel.appendChild(field(T.expression, input, "'P3D' · '2025-03-01T09:00:00+08:00' · 'R3/PT1H'"));
  }

  function flowPanel(element) {
    var b = bo(element);
    var source = b.sourceRef;
    if (!source || !/(Exclusive|Inclusive)Gateway$/.test(source.$type)) { return; }
    var current = b.conditionExpression ? b.conditionExpression.body : "";
    var input = text(current, function (v) {
      modeling.updateProperties(element, { conditionExpression: v ? moddle.create("bpmn:FormalExpression", { body: v }) : undefined });
      check();
    }, true);
    input.id = "panel-condition";
    panel.appendChild(field(T.condition, input));
    var isDefault = source.default === b;
    var box = h("input", { type: "checkbox", checked: isDefault, onchange: function () {
      modeling.updateProperties(registry.get(source.id), { "default": box.checked ? b : undefined });
    } });
    panel.appendChild(h("label", { "class": "check" }, [box, " " + T.default_flow]));
  }

  eventBus.on("selection.changed", function (e) { renderPanel(e.newSelection.length === 1 ? e.newSelection[0] : null); });

  // ------------------------------------------------------------------ findings and validation
  function showFindings(list) {
    state.findings = list || [];
    state.marked.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "rf-finding"); } });
    state.marked = [];
    findingsEl.innerHTML = "";
    if (!state.findings.length) {
      findingsEl.appendChild(h("li", { "class": "ok", text: T.valid }));
    }
    state.findings.forEach(function (f) {
      var el = f.element && registry.get(f.element);
      if (el && state.marked.indexOf(f.element) < 0) { canvas.addMarker(f.element, "rf-finding"); state.marked.push(f.element); }
      var label = [f.file, f.element].filter(Boolean).join(" · ");
      var item = h("li", { "class": "finding", "data-element": f.element || "" }, [
        h("button", { type: "button", "class": "link", disabled: !el, onclick: function () {
          selection.select(el);
          canvas.scrollToElement(el);
        } }, [h("code", { text: label }), " " + f.problem])
      ]);
      findingsEl.appendChild(item);
    });
    refreshPanelFindings();
  }

  function formPayload() {
    var out = {};
    Object.keys(state.editedForms).forEach(function (k) {
      var f = state.editedForms[k];
      out[k] = '{"schema": ' + (f.schema.trim() || "null") + ', "ui": ' + (f.ui.trim() || "{}") + "}";
    });
    return out;
  }
  function submission() {
    return modeler.saveXML({ format: true }).then(function (r) {
      var files = {};
      files[cfg.fileName] = r.xml;
      return { files: files, forms: formPayload() };
    });
  }

  var seq = 0;
  function validate() {
    var mine = ++seq;
    setStatus(T.validating);
    return submission().then(function (body) { return post(cfg.validateUrl, body); }).then(function (res) {
      if (mine !== seq) { return res; }
      showFindings(res.findings || []);
      setStatus(res.ok ? T.valid : (res.findings && res.findings.length ? T.problems + ": " + res.findings.length : res.message), res.ok ? "ok" : "bad");
      return res;
    });
  }
  var check = debounce(validate, 500);

  // ------------------------------------------------------------------ review and deploy
  var deployBox = document.getElementById("deploy-box");
  function renderDiff(diff) {
    var box = document.getElementById("diff");
    box.innerHTML = "";
    (diff || []).forEach(function (d) {
      var sec = h("div", { "class": "diff-file" }, [h("h3", { text: d.file + (d.deployed_file ? "" : " (" + T.new_file + ")") })]);
      var any = false;
      [["added", T.added], ["removed", T.removed]].forEach(function (kind) {
        if (!d[kind[0]].length) { return; }
        any = true;
        sec.appendChild(h("p", { "class": "diff-" + kind[0] }, [h("strong", { text: kind[1] + ": " })].concat(
          d[kind[0]].map(function (e) { return h("code", { title: e.type, text: e.id + (e.name ? " " + e.name : "") + " " }); }))));
      });
      if (d.changed.length) {
        any = true;
        var ul = h("ul", { "class": "diff-changed" });
        d.changed.forEach(function (c) {
          var details = c.changes.map(function (x) { return x.what + (x.old || x["new"] ? ": " + (x.old || "∅") + " → " + (x["new"] || "∅") : ""); });
          ul.appendChild(h("li", {}, [h("code", { text: c.id }), " " + (c.name || "") + " — " + details.join("; ")]));
        });
        sec.appendChild(h("p", {}, [h("strong", { text: T.changed + ":" })]));
        sec.appendChild(ul);
      }
      if (!any) { sec.appendChild(h("p", { "class": "help", text: T.no_changes })); }
      box.appendChild(sec);
    });
  }
  function review() {
    setStatus(T.validating);
    document.getElementById("deploy-result").innerHTML = "";
    return submission().then(function (body) { return post(cfg.diffUrl, body); }).then(function (res) {
      showFindings(res.findings || []);
      if (!res.ok) {
        setStatus((res.findings && res.findings.length) ? T.problems + ": " + res.findings.length : res.message, "bad");
        deployBox.hidden = true;
        return res;
      }
      setStatus(T.valid, "ok");
      renderDiff(res.diff);
      deployBox.hidden = false;
      deployBox.scrollIntoView();
      document.getElementById("deploy-note").focus();
      return res;
    });
  }
  function deploy() {
    var note = document.getElementById("deploy-note").value.trim();
    var out = document.getElementById("deploy-result");
    if (!note) { out.textContent = T.note_required; out.className = "field-error"; return Promise.resolve(null); }
    return submission().then(function (body) { body.note = note; return post(cfg.deployUrl, body); }).then(function (res) {
      out.innerHTML = "";
      if (!res.ok) {
        showFindings(res.findings || []);
        out.className = "field-error";
        out.textContent = res.message || T.error;
        return res;
      }
      out.className = "flash flash-success";
      out.id = "deploy-result";
      out.appendChild(h("p", { text: T.deploy_ok }));
      var ul = h("ul", {});
      res.created.forEach(function (c) {
        ul.appendChild(h("li", {}, [h("code", { text: c[0] }), " v" + c[1] + " · ",
          h("a", { href: cfg.migrateUrl.replace("__KEY__", encodeURIComponent(c[0])), text: T.migrate })]));
      });
      out.appendChild(h("p", { text: T.created + ":" }));
      out.appendChild(ul);
      if (res.unchanged.length) {
        out.appendChild(h("p", { text: T.unchanged + ": " + res.unchanged.map(function (c) { return c[0] + " v" + c[1]; }).join(", ") }));
      }
      out.appendChild(h("p", {}, [h("a", { href: cfg.processesUrl, text: "→ " + cfg.processesUrl })]));
      Object.keys(state.editedForms).forEach(function (k) {
        try { catalog.forms[k] = JSON.parse(formPayload()[k]); } catch (e) { /* deployed as sent */ }
      });
      state.editedForms = {};
      setStatus(T.deploy_ok, "ok");
      return res;
    });
  }

  // ------------------------------------------------------------------ forms beside the diagram
  var formSelect = document.getElementById("form-select");
  var schemaEl = document.getElementById("form-schema");
  var uiEl = document.getElementById("form-ui");
  var previewEl = document.getElementById("form-preview");
  var formFindings = document.getElementById("form-findings");
  function fillFormSelect() {
    formSelect.innerHTML = "";
    formSelect.appendChild(h("option", { value: "", text: T.none }));
    formKeys().forEach(function (k) {
      var o = h("option", { value: k, text: k + (state.editedForms[k] ? " *" : "") });
      if (k === state.currentForm) { o.selected = true; }
      formSelect.appendChild(o);
    });
  }
  function openForm(key) {
    state.currentForm = key || null;
    var edited = key && state.editedForms[key];
    var form = key && catalog.forms[key];
    schemaEl.value = edited ? edited.schema : (form ? JSON.stringify(form.schema, null, 2) : "");
    uiEl.value = edited ? edited.ui : (form ? JSON.stringify(form.ui || {}, null, 2) : "");
    fillFormSelect();
    preview();
  }
  function preview() {
    var key = state.currentForm;
    formFindings.innerHTML = "";
    if (!key) { previewEl.innerHTML = ""; return Promise.resolve(null); }
    var body = '{"schema": ' + (schemaEl.value.trim() || "null") + ', "ui": ' + (uiEl.value.trim() || "{}") + "}";
    return post(cfg.previewUrl, { key: key, form: body }).then(function (res) {
      if (res.ok) { previewEl.innerHTML = res.html; return res; }
      (res.findings && res.findings.length ? res.findings : [{ problem: res.message }]).forEach(function (f) {
        formFindings.appendChild(h("p", { "class": "field-error", text: (f.element ? f.element + ": " : "") + f.problem }));
      });
      return res;
    });
  }
  var livePreview = debounce(preview, 400);
  function formEdited() {
    if (!state.currentForm) { return; }
    state.editedForms[state.currentForm] = { schema: schemaEl.value, ui: uiEl.value };
    livePreview();
  }
  schemaEl.addEventListener("input", formEdited);
  uiEl.addEventListener("input", formEdited);
  formSelect.addEventListener("change", function () { openForm(formSelect.value); });
  document.getElementById("btn-form-new").addEventListener("click", function () {
    var key = document.getElementById("form-new-key").value.trim();
    if (!/^[a-z][a-z0-9_]*$/.test(key)) { formFindings.textContent = T.form_bad_key; return; }
    if (!catalog.forms[key] && !state.editedForms[key]) {
      state.editedForms[key] = {
        schema: JSON.stringify({ type: "object", required: ["opinion"], properties: { opinion: { type: "string", title: "意见" } } }, null, 2),
        ui: JSON.stringify({ opinion: { "ui:widget": "textarea" } }, null, 2)
      };
    }
    openForm(key);
    if (state.selected) { renderPanel(state.selected); }
  });

  // ------------------------------------------------------------------ toolbar
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-deploy").addEventListener("click", review);
  document.getElementById("btn-deploy-confirm").addEventListener("click", deploy);
  document.getElementById("btn-deploy-cancel").addEventListener("click", function () { deployBox.hidden = true; });
  document.getElementById("btn-download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (r) {
      var a = h("a", { href: URL.createObjectURL(new Blob([r.xml], { type: "application/xml" })), download: cfg.fileName });
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  });
  document.getElementById("btn-layout").addEventListener("click", function () {
    if (!window.BpmnAutoLayout) { return; }
    modeler.saveXML().then(function (r) { return window.BpmnAutoLayout.layoutProcess(r.xml); })
      .then(function (laid) { return modeler.importXML(laid); })
      .then(function () { canvas.zoom("fit-viewport"); })
      .catch(function (e) { setStatus(T.error + ": " + e.message, "bad"); });
  });

  var ready = modeler.importXML(xml).then(function (res) {
    canvas.zoom("fit-viewport");
    if (res.warnings && res.warnings.length) { setStatus(res.warnings.length + " import warnings", "bad"); }
    renderPanel(null);
    fillFormSelect();
  }).catch(function (e) { setStatus(T.error + ": " + e.message, "bad"); });

  window.rfDesigner = { modeler: modeler, ready: ready, validate: validate, review: review, deploy: deploy,
    state: state, openForm: openForm, setProperty: setProperty };
})();
