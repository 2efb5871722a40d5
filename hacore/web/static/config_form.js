// hacore web console: the form that adds or changes a resource or a service.
// It edits the running configuration's text (config_show): a new section is appended; for
// an existing one only the keys whose field changed are rewritten, so what the form does
// not show (timeouts, flags, order...) is kept. Then config_version + 1 goes to config_push.
"use strict";

let configText = "";     // the configuration as the daemon runs it (TOML)
let configData = null;   // the same, as hacore config show --json
let configVersion = 0;
let prefill = {};        // field id -> the value the form was filled with

const FIELDS = {
  resources: {"cf-agent": "agent", "cf-params": "params", "cf-monitor": "operations"},
  services: {"cf-tree": "tree", "cf-domain": "domain", "cf-recovery": "recovery",
             "cf-autostart": "autostart"},
};

async function loadConfig() {
  const reply = await api("config_show");
  if (reply.error) { say(reply.error.message, false); return; }
  configText = reply.text;
  configData = reply.config;
  configVersion = reply.version;
  document.getElementById("config-version").textContent = configVersion;
  document.getElementById("config-text").textContent = configText;
  const names = document.getElementById("cf-names");
  const kind = value("cf-kind");
  names.replaceChildren(...(configData ? configData[kind] : []).map(x => el("option", {value: x.name})));
}

function value(id) {
  const input = document.getElementById(id);
  return input.type === "checkbox" ? input.checked : input.value.trim();
}

function setValue(id, v) {
  const input = document.getElementById(id);
  if (input.type === "checkbox") input.checked = Boolean(v); else input.value = v ?? "";
  prefill[id] = value(id);
}

// -- the tree syntax: "vip > www", "vip > (www, db)", "a, b" -----------------------------

function treeText(items) {
  return items.map(r => {
    const kids = r.tree || r.children || [];
    if (!kids.length) return r.name;
    const inner = treeText(kids);
    return `${r.name} > ${kids.length === 1 && !inner.includes(",") ? inner : "(" + inner + ")"}`;
  }).join(", ");
}

function parseTree(text) {
  const tokens = text.match(/[^\s,>()]+|[,>()]/g) || [];
  let i = 0;
  function list() {
    const out = [];
    while (i < tokens.length && tokens[i] !== ")") {
      out.push(item());
      if (tokens[i] === ",") i++;
    }
    return out;
  }
  function item() {
    const name = tokens[i++];
    if (!name || ",>()".includes(name)) throw new Error(`a resource name is expected in "${text}"`);
    if (tokens[i] !== ">") return name;
    i++;
    if (tokens[i] === "(") { i++; const kids = list(); i++; return {resource: name, children: kids}; }
    return {resource: name, children: [item()]};
  }
  return list();
}

function tomlValue(v) {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  if (Array.isArray(v)) return "[" + v.map(tomlValue).join(", ") + "]";
  return "{ " + Object.entries(v).map(([k, x]) => `${tomlKey(k)} = ${tomlValue(x)}`).join(", ") + " }";
}
function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }

// -- form <-> configuration -------------------------------------------------------------

function existing(kind, name) {
  return configData ? configData[kind].find(x => x.name === name) : undefined;
}

function fillFromConfig() {
  const kind = value("cf-kind"), found = existing(kind, value("cf-name"));
  prefill = {};
  if (!found) return;
  if (kind === "resources") {
    setValue("cf-agent", found.agent);
    setValue("cf-params", Object.entries(found.params).map(([k, v]) => `${k} = ${v}`).join("\n"));
    const monitor = found.operations.find(o => o.name === "monitor");
    setValue("cf-monitor", monitor ? monitor.interval : "");
  } else {
    setValue("cf-tree", treeText(found.tree));
    setValue("cf-domain", found.domain || "");
    setValue("cf-recovery", found.recovery);
    setValue("cf-autostart", found.autostart);
  }
}

// The TOML line of one form field (null: leave the key out).
function fieldLine(kind, id, found) {
  const v = value(id), key = FIELDS[kind][id];
  if (v === "") return null;
  if (id === "cf-params") {
    const params = {};
    for (const line of v.split("\n").map(l => l.trim()).filter(Boolean)) {
      const at = line.indexOf("=");
      params[(at < 0 ? line : line.slice(0, at)).trim()] = at < 0 ? "" : line.slice(at + 1).trim();
    }
    return `params = ${tomlValue(params)}`;
  }
  if (id === "cf-monitor") {
    const ops = {};
    for (const op of (found ? found.operations : [])) {
      ops[op.name] = op.name === "monitor" ? {} : {timeout: op.timeout};
      if (op.name === "monitor") Object.assign(ops.monitor, {timeout: op.timeout, depth: op.depth});
    }
    ops.monitor = Object.assign(ops.monitor || {}, {interval: Number(v)});
    return `operations = ${tomlValue(ops)}`;
  }
  if (id === "cf-tree") return `tree = ${tomlValue(parseTree(v))}`;
  return `${key} = ${tomlValue(v)}`;
}

// The configuration text with the form applied; firstLine: where the form's lines start.
function mergedConfig() {
  const kind = value("cf-kind"), name = value("cf-name");
  const found = existing(kind, name);
  const header = `[${kind}.${tomlKey(name)}]`;
  let lines = configText.replace(/\n+$/, "").split("\n");
  lines = lines.map(l => l.replace(/^(\s*config_version\s*=\s*)\d+/, (_, h) => h + (configVersion + 1)));
  const changed = Object.keys(FIELDS[kind]).filter(id => !found || value(id) !== prefill[id]);
  const newLines = changed.map(id => [FIELDS[kind][id], fieldLine(kind, id, found)]);
  const at = lines.indexOf(header);
  if (at < 0) {
    const firstLine = lines.length + 2;
    const body = newLines.filter(([, l]) => l !== null).map(([, l]) => l);
    return {text: [...lines, "", header, ...body, ""].join("\n"), firstLine: firstLine};
  }
  let end = at + 1;
  while (end < lines.length && !/^\s*\[/.test(lines[end])) end++;
  const section = lines.slice(at + 1, end).filter(l => {
    const key = l.split("=")[0].trim();
    return !newLines.some(([k]) => k === key);
  });
  while (section.length && section[section.length - 1].trim() === "") section.pop();
  const added = newLines.filter(([, l]) => l !== null).map(([, l]) => l);
  const merged = [...lines.slice(0, at + 1), ...section, ...added, "", ...lines.slice(end)];
  return {text: merged.join("\n").replace(/\n*$/, "\n"), firstLine: at + 1};
}

// -- errors at the fields ---------------------------------------------------------------

const FIELD_OF = {agent: "agent", params: "params", operations: "operations", tree: "tree",
                  resources: "tree", domain: "domain", recovery: "recovery", autostart: "autostart"};

function clearErrors() {
  document.querySelectorAll(".field-error").forEach(e => { e.textContent = ""; });
  document.querySelectorAll(".has-error").forEach(e => e.classList.remove("has-error"));
}

function showProblem(merged, problem) {
  // problem: {line, key, message}; shown at the form field its key (or its line) names
  const prefix = `${value("cf-kind")}.${value("cf-name")}`;
  let field = "general";
  if (problem.key === prefix) field = "name";
  else if (problem.key && problem.key.startsWith(prefix + ".")) {
    field = FIELD_OF[problem.key.slice(prefix.length + 1).split(/[.[]/)[0]] || "name";
  } else if (problem.line && merged && problem.line >= merged.firstLine) {
    const text = merged.text.split("\n")[problem.line - 1] || "";
    field = FIELD_OF[text.split("=")[0].trim()] || "general";
  }
  const target = document.getElementById("err-" + field);
  target.textContent += (target.textContent ? "\n" : "") + problem.message;
  const input = document.getElementById("cf-" + (field === "operations" ? "monitor" : field));
  if (input) input.classList.add("has-error");
}

// "  <pushed>:12: resources.x.agent: message" lines of a configuration error
function parseProblems(message) {
  const problems = [];
  for (const line of message.split("\n")) {
    const m = line.match(/^\s+[^:\s]+:(\d+)?:?\s*(?:([\w.\-"[\]]+):)?\s+(.*)$/);
    if (m) problems.push({line: m[1] ? Number(m[1]) : null, key: (m[2] || "").replace(/"/g, ""), message: m[3]});
  }
  return problems.length ? problems : [{line: null, key: "", message: message}];
}

async function submitConfig(event) {
  event.preventDefault();
  clearErrors();
  if (!value("cf-name")) { showProblem(null, {key: `${value("cf-kind")}.`, message: "a name is needed"}); return; }
  await loadConfig();  // the freshest text; the fields keep what was typed
  let merged;
  try {
    merged = mergedConfig();
  } catch (e) {
    showProblem(null, {key: `${value("cf-kind")}.${value("cf-name")}.tree`, message: e.message});
    return;
  }
  const reply = await api("config_push", {text: merged.text}, true);
  if (reply.error) {
    for (const p of reply.error.problems || parseProblems(reply.error.message)) showProblem(merged, p);
    say("the configuration was not changed: see the form", false);
    return;
  }
  say(`configuration version ${reply.version} pushed to the cluster`, true);
  await loadConfig();
  fillFromConfig();
}

function wireConfigForm() {
  document.getElementById("config-form").addEventListener("submit", submitConfig);
  document.getElementById("cf-name").addEventListener("change", fillFromConfig);
  document.getElementById("cf-kind").addEventListener("change", e => {
    const res = e.target.value === "resources";
    document.querySelectorAll(".field.res").forEach(f => f.classList.toggle("hidden", !res));
    document.querySelectorAll(".field.svc").forEach(f => f.classList.toggle("hidden", res));
    loadConfig().then(fillFromConfig);
  });
}
