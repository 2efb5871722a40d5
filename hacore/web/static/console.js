// hacore web console: live state over server-sent events, actions through /api/<method>.
// The configuration form is in config_form.js (loaded first; it uses api() and say()).
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const OPS = ["enable", "disable", "restart", "freeze", "unfreeze", "maintenance-on",
             "maintenance-off"];
let state = null;        // the last {status, nodes} from the stream
let removing = null;     // the node whose Remove waits for a confirmation

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
      el("td", {}, n.votes ?? ""),
      el("td", {class: "time"}, typeof n.joined === "number" ? when(n.joined) : ""),
      el("td", {}, ...flags.map(f => el("span", {class: "badge"}, f))),
      nodeActions(m.name));
  }));
}

function nodeActions(name) {
  const cell = el("td", {class: "actions"});
  if (removing !== name) {
    cell.append(el("button", {"data-op": "remove", "data-node": name,
                              onclick: () => { removing = name; rerender(); }}, "remove"));
    return cell;
  }
  cell.append(el("span", {class: "confirm"}, `Remove ${name} from the configuration?`),
    el("button", {"data-op": "remove-confirm", "data-node": name,
                  onclick: () => removeNode(name)}, "yes, remove"),
    el("button", {"data-op": "remove-cancel", "data-node": name,
                  onclick: () => { removing = null; rerender(); }}, "cancel"));
  return cell;
}

function rerender() {
  if (state) render(state);
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
  const flags = [svc.frozen ? "frozen" : null, svc.partial ? "partial" : null,
                 svc.unmanaged ? "maintenance" : null].filter(Boolean);
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

// -- nodes: join tokens and removal (docs/bootstrap.md) -----------------------------------

function utc(epoch) {  // as the CLI prints it
  return new Date(epoch * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

async function newToken() {
  const ttl = document.getElementById("token-ttl").value.trim();
  const params = ttl ? {ttl: Number(ttl)} : {};
  const reply = await api("cluster_token", params, true);
  const box = document.getElementById("token-result");
  if (reply.error) { box.classList.add("hidden"); say(reply.error.message, false); return; }
  document.getElementById("join-command").textContent =
    `hacore cluster join ${reply.addresses[0]} --token ${reply.token}`;
  document.getElementById("token-expires").textContent = utc(reply.expires);
  document.getElementById("token-fingerprint").textContent = "sha256:" + reply.fingerprint;
  box.classList.remove("hidden");
  say(`join token for cluster '${reply.cluster}' (node id ${reply.node_id}, valid until ` +
      `${utc(reply.expires)}, once)`, true);
}

async function copyJoinCommand() {
  const command = document.getElementById("join-command");
  try {
    await navigator.clipboard.writeText(command.textContent);
    say("join command copied", true);
  } catch (_e) {  // no clipboard access: select it for Ctrl+C
    window.getSelection().selectAllChildren(command);
    say("join command selected: copy it with Ctrl+C", true);
  }
}

async function removeNode(name) {
  removing = null;
  rerender();
  say(`remove ${name}…`, true);
  const reply = await api("cluster_remove", {node: name}, true);
  if (reply.error) { say(`remove ${name}: ${reply.error.message}`, false); return; }
  say(`removed ${reply.removed}: configuration version ${reply.version}; nodes: ` +
      `${reply.nodes.join(", ")}; expected votes ${reply.expected_before} -> ` +
      `${reply.expected_after}, quorum ${reply.quorum}`, true);
  const [status, nodes] = await Promise.all([api("status"), api("nodes")]);
  render({status: status, nodes: nodes});  // the stream follows with the same
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
  box.replaceChildren(...[
    el("p", {id: "why-reason"}, reply.reason),
    reply.blocking ? el("p", {class: "error"}, "Blocked: " + reply.blocking) : null,
    el("ul", {class: "candidates"}, ...reply.candidates.map(c => el("li", {},
      el("strong", {}, c.node), ": ",
      el("span", {class: c.eligible ? "eligible-yes" : "eligible-no"}, c.why))))].filter(Boolean));
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
  document.getElementById("token-new").addEventListener("click", newToken);
  document.getElementById("token-copy").addEventListener("click", copyJoinCommand);
  wireConfigForm();  // config_form.js
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/logout", {method: "POST", credentials: "same-origin",
                            headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF}});
    window.location.assign("/");
  });
  connect();
});
