// hacore web console: live state over server-sent events, actions through /api/<method>.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const OPS = ["enable", "disable", "restart", "freeze", "unfreeze"];
let state = null;        // the last {status, nodes} from the stream
let configText = "";     // the configuration as the daemon runs it
let configVersion = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined)
      node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function say(text, ok) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = "message " + (ok ? "ok" : "error");
}

async function api(method, params, write) {
  let response;
  if (write) {
    response = await fetch("/api/" + method, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF},
      body: JSON.stringify(params || {})});
  } else {
    const query = new URLSearchParams(params || {}).toString();
    response = await fetch("/api/" + method + (query ? "?" + query : ""),
                           {credentials: "same-origin"});
  }
  if (response.status === 401) { window.location.assign("/"); throw new Error("logged out"); }
  return response.json();
}

// -- overview ---------------------------------------------------------------------------

function renderQuorum(status) {
  const q = document.getElementById("quorum");
  const votes = `votes ${status.quorum.total}/${status.quorum.expected}, needs ${status.quorum.needed}`;
  q.textContent = (status.quorate ? "Quorate" : "NOT quorate") + ` (${votes})`;
  q.className = "quorum " + (status.quorate ? "ok" : "bad");
  document.getElementById("cluster-name").textContent = status.cluster;
}

function renderNodes(status, nodes) {
  const byName = Object.fromEntries(nodes.nodes.map(n => [n.name, n]));
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren(...status.members.map(m => {
    const n = byName[m.name] || {};
    const flags = [m.local ? "this node" : null, m.coordinator ? "coordinator" : null,
                   m.standby ? "standby" : null].filter(Boolean);
    return el("tr", {id: "node-" + m.name, "data-state": m.state},
      el("td", {}, m.name), el("td", {}, m.id),
      el("td", {class: "state state-" + m.state}, m.state),
      el("td", {}, n.votes ?? ""), el("td", {}, n.incarnation ?? ""),
      el("td", {}, ...flags.map(f => el("span", {class: "badge"}, f))));
  }));
}

function serviceRow(svc, members) {
  const actions = el("td", {class: "actions"});
  for (const op of OPS) {
    actions.append(el("button", {"data-op": op, "data-service": svc.name,
                                 onclick: () => serviceOp(op, svc.name, null)}, op));
  }
  const choose = el("select", {class: "relocate-to", "data-service": svc.name});
  for (const m of members) {
    if (m.name !== svc.owner) choose.append(el("option", {value: m.name}, m.name));
  }
  actions.append(choose, el("button", {"data-op": "relocate", "data-service": svc.name,
    onclick: () => serviceOp("relocate", svc.name, choose.value)}, "relocate"));
  const flags = [svc.frozen ? "frozen" : null, svc.partial ? "partial" : null].filter(Boolean);
  return el("tr", {id: "svc-" + svc.name, "data-state": svc.state, "data-owner": svc.owner || ""},
    el("td", {}, svc.name, ...flags.map(f => el("span", {class: "badge"}, f))),
    el("td", {class: "state state-" + svc.state}, svc.state),
    el("td", {class: "owner"}, svc.owner || "—"),
    el("td", {class: "reason"}, svc.reason || ""), actions);
}

function renderServices(status) {
  const body = document.querySelector("#services tbody");
  const focused = document.activeElement && document.activeElement.closest("#services");
  if (focused && focused.tagName === "SELECT") return;  // do not close an open chooser
  body.replaceChildren(...status.services.map(s => serviceRow(s, status.members)));
  const why = document.getElementById("why-service");
  if (why.options.length !== status.services.length) {
    why.replaceChildren(...status.services.map(s => el("option", {value: s.name}, s.name)));
  }
}

function render(next) {
  state = next;
  if (next.status.error) { say(next.status.error.message, false); return; }
  renderQuorum(next.status);
  renderNodes(next.status, next.nodes.error ? {nodes: []} : next.nodes);
  renderServices(next.status);
}

async function serviceOp(op, service, node) {
  say(`${op} ${service}${node ? " to " + node : ""}…`, true);
  const params = {op: op, service: service};
  if (node) params.node = node;
  const reply = await api("service", params, true);
  if (reply.error) say(reply.error.message, false);
  else say(`${op} ${service}: done (state version ${reply.version})`, true);
}

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("state", e => { live.className = "live on"; render(JSON.parse(e.data)); });
  source.onerror = () => {
    live.className = "live off";
    api("ping").catch(() => {});  // logged out (session ended): api() goes to the login page
  };
}

// -- events and why ---------------------------------------------------------------------

function when(epoch) {
  const d = new Date(epoch * 1000), two = n => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
         `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

async function loadEvents() {
  const service = document.getElementById("events-service").value.trim();
  const params = service ? {service: service} : {};
  if (document.getElementById("events-cluster").checked) params.cluster = true;
  const reply = await api("events", params);
  if (reply.error) { say(reply.error.message, false); return; }
  const rows = reply.events.slice(-300).reverse().map(e => el("tr", {},
    el("td", {class: "time"}, when(e.time)), el("td", {}, e.node),
    el("td", {}, e.kind), el("td", {}, e.service || ""), el("td", {}, e.incident || ""),
    el("td", {}, e.message)));
  document.querySelector("#events tbody").replaceChildren(...rows);
}

async function loadWhy() {
  const service = document.getElementById("why-service").value;
  const box = document.getElementById("why-result");
  const reply = await api("why", {service: service});
  if (reply.error) { box.replaceChildren(el("p", {class: "error"}, reply.error.message)); return; }
  box.replaceChildren(
    el("p", {id: "why-reason"}, reply.reason),
    reply.blocking ? el("p", {class: "error"}, "Blocked: " + reply.blocking) : null,
    el("ul", {class: "candidates"}, ...reply.candidates.map(c => el("li", {},
      el("strong", {}, c.node), ": ",
      el("span", {class: c.eligible ? "eligible-yes" : "eligible-no"}, c.why)))));
}

// -- configuration form -----------------------------------------------------------------

async function loadConfig() {
  const reply = await api("config_show");
  if (reply.error) { say(reply.error.message, false); return; }
  configText = reply.text;
  configVersion = reply.version;
  document.getElementById("config-version").textContent = configVersion;
  document.getElementById("config-text").textContent = configText;
}

function tomlString(s) { return JSON.stringify(s); }
function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }

function formSection() {
  const v = id => document.getElementById(id).value.trim();
  const kind = v("cf-kind"), name = v("cf-name");
  const lines = [`[${kind}.${tomlKey(name)}]`];
  if (kind === "resources") {
    if (v("cf-agent")) lines.push(`agent = ${tomlString(v("cf-agent"))}`);
    const params = v("cf-params").split("\n").map(l => l.trim()).filter(Boolean).map(l => {
      const [key, ...rest] = l.split("=");
      return `${tomlKey(key.trim())} = ${tomlString(rest.join("=").trim())}`;
    });
    if (params.length) lines.push(`params = { ${params.join(", ")} }`);
    if (v("cf-monitor")) lines.push(`operations = { monitor = { interval = ${Number(v("cf-monitor"))} } }`);
  } else {
    const tree = v("cf-tree").split(",").map(s => s.trim()).filter(Boolean);
    lines.push(`tree = [${tree.map(tomlString).join(", ")}]`);
    if (v("cf-domain")) lines.push(`domain = ${tomlString(v("cf-domain"))}`);
    lines.push(`recovery = ${tomlString(v("cf-recovery"))}`);
    lines.push(`autostart = ${document.getElementById("cf-autostart").checked}`);
  }
  return {kind: kind, name: name, text: lines.join("\n") + "\n"};
}

// The configuration with the form's section replacing [kind.name] (and its sub-tables).
function mergedConfig(section) {
  const own = new RegExp(`^\\[{1,2}\\s*${section.kind}\\.("?)${section.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\1\\s*(\\.|\\]{1,2})`);
  const out = [];
  let skipping = false;
  for (const line of configText.split("\n")) {
    if (/^\s*\[/.test(line)) skipping = own.test(line.trim());
    if (!skipping) out.push(line);
  }
  let text = out.join("\n").replace(/\n+$/, "\n");
  text = text.replace(/^(\s*config_version\s*=\s*)(\d+)/m, (_, head) => head + (configVersion + 1));
  const firstLine = text.split("\n").length + 1;
  return {text: text + "\n" + section.text, firstLine: firstLine};
}

const FIELD_OF = {agent: "agent", params: "params", operations: "operations", tree: "tree",
                  domain: "domain", recovery: "recovery", autostart: "autostart"};

function clearErrors() {
  document.querySelectorAll(".field-error").forEach(e => { e.textContent = ""; });
  document.querySelectorAll(".has-error").forEach(e => e.classList.remove("has-error"));
}

function showProblem(section, merged, problem) {
  // problem: {line, key, message}; placed at the form field its key (or line) names
  let field = null;
  const prefix = `${section.kind}.${section.name}`;
  if (problem.key === prefix) field = "name";
  else if (problem.key && problem.key.startsWith(prefix + ".")) {
    field = FIELD_OF[problem.key.slice(prefix.length + 1).split(/[.[]/)[0]] || "name";
  } else if (problem.line && problem.line >= merged.firstLine) {
    const text = merged.text.split("\n")[problem.line - 1] || "";
    field = FIELD_OF[text.split("=")[0].trim()] || "name";
  }
  const target = document.getElementById("err-" + (field || "general"));
  target.textContent += (target.textContent ? "\n" : "") + problem.message;
  const input = document.getElementById("cf-" + (field === "operations" ? "monitor" : field));
  if (input) input.classList.add("has-error");
}

// "  <config>:12: resources.x.agent: message" lines of a ConfigError
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
  const section = formSection();
  if (!section.name) { showProblem(section, {firstLine: 1e9}, {key: `${section.kind}.`, message: "a name is needed"}); return; }
  await loadConfig();
  const merged = mergedConfig(section);
  const reply = await api("config_push", {text: merged.text}, true);
  if (reply.error) {
    const problems = reply.error.problems || parseProblems(reply.error.message);
    for (const p of problems) showProblem(section, merged, p);
    say("the configuration was not changed: see the form", false);
    return;
  }
  say(`configuration version ${reply.version} pushed to the cluster`, true);
  await loadConfig();
}

// -- wiring -----------------------------------------------------------------------------

function show(view) {
  say("", true);
  document.querySelectorAll(".view").forEach(v => v.classList.add("hidden"));
  document.getElementById("view-" + view).classList.remove("hidden");
  document.querySelectorAll(".tab[data-view]").forEach(t =>
    t.classList.toggle("active", t.dataset.view === view));
  if (view === "events") loadEvents();
  if (view === "config") loadConfig();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".tab[data-view]").forEach(t =>
    t.addEventListener("click", () => show(t.dataset.view)));
  document.getElementById("events-load").addEventListener("click", loadEvents);
  document.getElementById("why-load").addEventListener("click", loadWhy);
  document.getElementById("config-form").addEventListener("submit", submitConfig);
  document.getElementById("cf-kind").addEventListener("change", e => {
    const res = e.target.value === "resources";
    document.querySelectorAll(".field.res").forEach(f => f.classList.toggle("hidden", !res));
    document.querySelectorAll(".field.svc").forEach(f => f.classList.toggle("hidden", res));
  });
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/logout", {method: "POST", credentials: "same-origin",
                            headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF}});
    window.location.assign("/");
  });
  connect();
});
