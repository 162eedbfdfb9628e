// The tonearm console: a single page over the admin API. It holds the management token in
// sessionStorage only (gone when the tab closes), sends it as a bearer header, never in a URL,
// and talks to no origin but this server. Pages are built with DOM calls, never from HTML
// strings, so names and labels a user typed cannot become markup.
"use strict";

// Errors are kept where the browser test can read them, and shown to the user.
window.__consoleErrors = [];
window.addEventListener("error", (e) => {
  window.__consoleErrors.push(String(e.message || e));
});
window.addEventListener("unhandledrejection", (e) => {
  window.__consoleErrors.push(String((e.reason && e.reason.message) || e.reason));
});

const TOKEN_KEY = "tonearm.console.token";
const PLATFORM_TARGETS = [
  ["Spotify", -14], ["YouTube", -14], ["Tidal", -14], ["Deezer", -15], ["Apple Music", -16],
];
const state = { token: sessionStorage.getItem(TOKEN_KEY), spec: null, accounts: null };

// ---- DOM helpers ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function main() {
  return document.getElementById("main");
}

function render(...nodes) {
  const m = main();
  m.replaceChildren(...nodes);
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3500);
}

function badge(text) {
  return h("span", { class: "badge " + text }, text);
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

function fmt(n, digits) {
  return n === null || n === undefined ? "—" : Number(n).toFixed(digits);
}

function table(columns, rows, onRow) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.cls }, c.title)));
  const body = rows.map((r) =>
    h("tr", onRow ? {
      class: "clickable", tabindex: "0",
      onclick: () => onRow(r),
      onkeydown: (e) => { if (e.key === "Enter") onRow(r); },
    } : {}, columns.map((c) => h("td", { class: c.cls }, c.cell(r)))));
  if (rows.length === 0) {
    body.push(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing here yet.")));
  }
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

// A modal built on <dialog>: focus is trapped and Escape cancels. Resolves true on OK.
function ask(title, body, okText, danger) {
  const d = document.getElementById("dialog");
  document.getElementById("dialog-title").textContent = title;
  document.getElementById("dialog-body").replaceChildren(...(Array.isArray(body) ? body : [body]));
  const ok = document.getElementById("dialog-ok");
  ok.textContent = okText || "OK";
  ok.className = danger ? "danger" : "";
  document.getElementById("dialog-cancel").hidden = okText === null;
  if (okText === null) ok.textContent = "Done";
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
  });
}

// The one moment a secret is visible: shown with a copy button and a warning.
function showSecret(title, secret, what) {
  const code = h("code", { class: "mono", id: "new-secret" }, secret);
  const copy = h("button", {
    type: "button", class: "secondary", id: "copy-secret",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(secret);
      } catch (_) {
        const r = document.createRange();
        r.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        document.execCommand("copy");
      }
      toast("Copied");
    },
  }, "Copy");
  return ask(title, [
    h("p", { class: "warning" }, `Copy this ${what} now. It is shown only once: tonearm keeps only its hash and cannot show it again.`),
    h("div", { class: "secret" }, code, copy),
  ], null);
}

// ---- API ----

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.token, Accept: "application/json" };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (r.status === 401 && path.startsWith("/admin/")) {
    signOut("Your token was refused. Sign in again.");
    throw new ApiError(401, "unauthorized", "signed out");
  }
  if (!r.ok && r.status !== 202) {
    const e = (data && data.error) || {};
    throw new ApiError(r.status, e.code || "error", e.message || `HTTP ${r.status}`);
  }
  return data;
}

// Every page of a listing, up to `max` items.
async function all(path, max) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", path + sep + "limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    out.push(...page.data);
    cursor = page.has_more ? page.next_cursor : null;
  } while (cursor && out.length < (max || 1000));
  return out;
}

async function spec() {
  if (!state.spec) {
    const r = await fetch("/api/openapi.json", { credentials: "omit" });
    state.spec = await r.json();
  }
  return state.spec;
}

async function plans() {
  const sp = await spec();
  const op = sp.paths["/admin/v1/accounts"].post;
  const schema = op.requestBody.content["application/json"].schema;
  return (schema.properties.plan.enum || []).filter((p) => p !== null);
}

async function scopes() {
  const sp = await spec();
  const schema = sp.paths["/admin/v1/keys"].post.requestBody.content["application/json"].schema;
  return schema.properties.scopes.items.enum;
}

async function hasPath(path) {
  const sp = await spec();
  return Object.prototype.hasOwnProperty.call(sp.paths, path);
}

function errorText(e) {
  return e instanceof ApiError ? `${e.message} (${e.code})` : String(e.message || e);
}

// Runs an action from a form or button: disables it while running, reports failure.
async function act(button, fn) {
  if (button) button.disabled = true;
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) toast(errorText(e));
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- sign in / out ----

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.accounts = null;
  location.hash = "#/signin";
  if (message) toast(message);
  route();
}

function signInPage() {
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "tonearm_mt_…", required: true,
  });
  const msg = h("p", { class: "error", id: "signin-error", role: "alert" });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      const token = input.value.trim();
      state.token = token;
      try {
        const r = await fetch("/admin/v1/accounts?limit=1", {
          headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store",
        });
        if (!r.ok) {
          const body = await r.json().catch(() => ({}));
          throw new Error((body.error && body.error.message) || `HTTP ${r.status}`);
        }
        sessionStorage.setItem(TOKEN_KEY, token);
        input.value = "";
        location.hash = "#/accounts";
      } catch (err) {
        state.token = null;
        msg.textContent = "Sign-in failed: " + err.message;
      }
    },
  },
  h("label", { for: "token" }, "Management token", input),
  h("button", { type: "submit", id: "signin" }, "Sign in"),
  msg,
  h("p", { class: "muted small" },
    "The token stays in this tab (sessionStorage) and is sent only to this server. ",
    "Create one with ", h("code", {}, "tonearm admin tokens create"), "."));
  render(h("div", { class: "panel signin" }, h("h1", {}, "Sign in"), form));
  input.focus();
}

// ---- accounts ----

async function accountsPage() {
  const [accounts, planNames] = await Promise.all([all("/admin/v1/accounts"), plans()]);
  const name = h("input", { id: "new-account-name", required: true, maxlength: 200 });
  const plan = h("select", { id: "new-account-plan" }, planNames.map((p) => h("option", { value: p }, p)));
  const submit = h("button", { type: "submit", id: "create-account" }, "Create account");
  const form = h("form", {
    class: "inline",
    onsubmit: (e) => {
      e.preventDefault();
      act(submit, async () => {
        const a = await api("POST", "/admin/v1/accounts", { name: name.value, plan: plan.value });
        toast(`Account ${a.name} created`);
        location.hash = "#/accounts/" + a.id;
      });
    },
  }, h("label", {}, "Name", name), h("label", {}, "Plan", plan), submit);
  render(
    h("h1", {}, "Accounts"),
    h("section", { class: "panel" }, h("h2", {}, "New account"), form),
    table([
      { title: "Name", cell: (a) => h("a", { href: "#/accounts/" + a.id }, a.name) },
      { title: "Plan", cell: (a) => a.plan },
      { title: "Status", cell: (a) => badge(a.disabled ? "disabled" : "active") },
      { title: "Allowed IPs", cls: "hide-narrow", cell: (a) => a.allowed_ips.length ? a.allowed_ips.join(", ") : "any" },
      { title: "Created", cls: "hide-narrow", cell: (a) => when(a.created_at) },
    ], accounts, (a) => { location.hash = "#/accounts/" + a.id; }),
  );
}

function usageChart(daily) {
  const W = 720, H = 180, pad = 28;
  const max = Math.max(1, ...daily.map((d) => d.requests));
  const bw = (W - pad * 2) / daily.length;
  const y = (v) => H - pad - (v / max) * (H - pad * 2);
  const bars = daily.map((d, i) => s("g", {},
    s("rect", { x: pad + i * bw + 1, y: y(d.requests), width: Math.max(1, bw * 0.55), height: H - pad - y(d.requests), fill: "#5aa9e6" },
      s("title", {}, `${d.date}: ${d.requests} requests`)),
    s("rect", { x: pad + i * bw + bw * 0.55, y: y(d.analyses), width: Math.max(1, bw * 0.35), height: H - pad - y(d.analyses), fill: "#f4b942" },
      s("title", {}, `${d.date}: ${d.analyses} analyses`))));
  const labels = [0, Math.floor(daily.length / 2), daily.length - 1].map((i) =>
    s("text", { x: pad + i * bw, y: H - 8, "font-size": 11, fill: "#5b6b7c" }, daily[i].date.slice(5)));
  return h("figure", { class: "chart", "aria-label": "Requests and analyses per day" },
    s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" },
      s("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#b8c4d0" }),
      s("text", { x: 2, y: pad, "font-size": 11, fill: "#5b6b7c" }, String(max)),
      bars, labels),
    h("figcaption", { class: "legend" },
      h("span", {}, h("i", { style: null, class: "sw-req" }), "requests"),
      h("span", {}, h("i", { class: "sw-ana" }), "analyses")));
}

async function accountPage(id) {
  const base = "/admin/v1/accounts/" + encodeURIComponent(id);
  const [acct, projects, keys, usage, ledger, planNames, scopeNames] = await Promise.all([
    api("GET", base), all(base + "/projects"), all("/admin/v1/keys?account_id=" + encodeURIComponent(id)),
    api("GET", base + "/usage?days=30"), api("GET", base + "/ledger?limit=20"), plans(), scopes(),
  ]);

  // Settings: plan, disabled, allowed IPs.
  const plan = h("select", { id: "account-plan" }, planNames.map((p) => h("option", { value: p, selected: p === acct.plan }, p)));
  const disabled = h("input", { type: "checkbox", id: "account-disabled", checked: acct.disabled });
  const ips = h("textarea", { id: "account-ips", placeholder: "one address or CIDR range a line; empty allows any" }, acct.allowed_ips.join("\n"));
  const save = h("button", { type: "submit", id: "save-account" }, "Save");
  const settings = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      act(save, async () => {
        const allowed = ips.value.split(/[\s,]+/).filter(Boolean);
        await api("PATCH", base, { plan: plan.value, disabled: disabled.checked, allowed_ips: allowed });
        toast("Saved");
        route();
      });
    },
  }, h("div", { class: "toolbar" }, h("label", {}, "Plan", plan), h("label", { class: "check" }, disabled, "Disabled")),
  h("label", {}, "Allowed IPs", ips), h("p", {}, save));

  // Credits: balance and grants.
  const balance = usage.credits_remaining === null ? "unlimited" : usage.credits_remaining;
  const amount = h("input", { id: "grant-amount", type: "number", min: 1, step: 1, required: true });
  const note = h("input", { id: "grant-note", maxlength: 500 });
  const grant = h("button", { type: "submit", id: "grant-credits" }, "Grant credits");
  const grantForm = h("form", {
    class: "inline",
    onsubmit: (e) => {
      e.preventDefault();
      act(grant, async () => {
        await api("POST", base + "/credits", { amount: Number(amount.value), note: note.value || null });
        toast("Credits granted");
        route();
      });
    },
  }, h("label", {}, "Amount", amount), h("label", {}, "Note", note), grant);

  // Projects.
  const pname = h("input", { id: "new-project-name", required: true, maxlength: 200 });
  const pbtn = h("button", { type: "submit" }, "Create project");
  const projectForm = h("form", {
    class: "inline",
    onsubmit: (e) => {
      e.preventDefault();
      act(pbtn, async () => {
        await api("POST", base + "/projects", { name: pname.value });
        toast("Project created");
        route();
      });
    },
  }, h("label", {}, "Name", pname), pbtn);

  // Keys.
  const label = h("input", { id: "new-key-label", required: true, maxlength: 200 });
  const project = h("select", { id: "new-key-project" }, projects.map((p) => h("option", { value: p.id }, p.name)));
  const expires = h("input", { id: "new-key-expires", placeholder: "e.g. 90d", pattern: "[1-9][0-9]{0,5}[smhdw]", size: 8 });
  const scopeBoxes = scopeNames.map((n) => h("label", { class: "check" }, h("input", { type: "checkbox", value: n, checked: true, name: "scope" }), n));
  const kbtn = h("button", { type: "submit", id: "create-key" }, "Create key");
  const keyForm = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      act(kbtn, async () => {
        const chosen = scopeBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
        const body = { account_id: id, label: label.value, project: project.value, scopes: chosen };
        if (expires.value) body.expires_in = expires.value;
        const k = await api("POST", "/admin/v1/keys", body);
        await showSecret("New API key", k.key, "key");
        route();
      });
    },
  }, h("div", { class: "toolbar" }, h("label", {}, "Label", label), h("label", {}, "Project", project), h("label", {}, "Expires in", expires)),
  h("fieldset", {}, h("legend", { class: "small muted" }, "Scopes"), h("div", { class: "toolbar" }, scopeBoxes)), h("p", {}, kbtn));

  const projectName = Object.fromEntries(projects.map((p) => [p.id, p.name]));
  const minuteOf = Object.fromEntries(usage.keys.map((k) => [k.key_id, k.minute]));
  const keyTable = table([
    { title: "Label", cell: (k) => k.label },
    { title: "Key", cls: "hide-narrow", cell: (k) => h("span", { class: "mono" }, `${k.prefix}…${k.last4}`) },
    { title: "Project", cls: "hide-narrow", cell: (k) => projectName[k.project_id] || k.project_id },
    { title: "Scopes", cls: "hide-narrow", cell: (k) => k.scopes.join(" ") },
    { title: "Created", cls: "hide-narrow", cell: (k) => when(k.created_at) },
    { title: "Last used", cell: (k) => when(k.last_used_at) },
    { title: "Expires", cls: "hide-narrow", cell: (k) => when(k.expires_at) },
    { title: "This minute", cls: "hide-narrow", cell: (k) => minuteOf[k.id] ? `${minuteOf[k.id].used} / ${minuteOf[k.id].limit}` : "—" },
    { title: "Status", cell: (k) => badge(k.status) },
    {
      title: "", cell: (k) => k.status === "active" ? h("button", {
        type: "button", class: "danger", "data-revoke-key": k.id,
        onclick: (e) => act(e.currentTarget, async () => {
          const ok = await ask("Revoke key?", h("p", {}, `Requests with “${k.label}” (${k.prefix}…${k.last4}) will be refused at once. This cannot be undone.`), "Revoke", true);
          if (!ok) return;
          await api("DELETE", "/admin/v1/keys/" + k.id);
          toast("Key revoked");
          route();
        }),
      }, "Revoke") : "",
    },
  ], keys);

  // Webhook signing secrets per project.
  const secretSections = await Promise.all(projects.map(async (p) => {
    const secrets = await all(`/admin/v1/projects/${p.id}/webhook-secrets`);
    const wlabel = h("input", { required: true, maxlength: 200, "aria-label": `Label of a new signing secret for ${p.name}` });
    const wbtn = h("button", { type: "submit", class: "secondary" }, "New signing secret");
    return h("div", {},
      h("h3", {}, p.name, " ", h("span", { class: "muted small mono" }, p.id)),
      table([
        { title: "Label", cell: (w) => w.label },
        { title: "Created", cell: (w) => when(w.created_at) },
        { title: "Status", cell: (w) => badge(w.status) },
        {
          title: "", cell: (w) => w.status === "active" ? h("button", {
            type: "button", class: "danger",
            onclick: (e) => act(e.currentTarget, async () => {
              if (!await ask("Revoke signing secret?", h("p", {}, `Deliveries stop carrying signatures made with “${w.label}”.`), "Revoke", true)) return;
              await api("DELETE", `/admin/v1/projects/${p.id}/webhook-secrets/${w.id}`);
              toast("Signing secret revoked");
              route();
            }),
          }, "Revoke") : "",
        },
      ], secrets),
      h("form", {
        class: "inline",
        onsubmit: (e) => {
          e.preventDefault();
          act(wbtn, async () => {
            const w = await api("POST", `/admin/v1/projects/${p.id}/webhook-secrets`, { label: wlabel.value });
            await showSecret("New webhook signing secret", w.secret, "signing secret");
            route();
          });
        },
      }, h("label", {}, "Label", wlabel), wbtn));
  }));

  const month = usage.month;
  render(
    h("div", { class: "crumbs" }, h("a", { href: "#/accounts" }, "Accounts"), " / ", acct.name),
    h("h1", {}, acct.name, " ", badge(acct.disabled ? "disabled" : "active")),
    h("div", { class: "grid" },
      h("div", { class: "panel" }, h("div", { class: "muted small" }, "Credits"), h("div", { class: "stat", id: "credit-balance" }, balance),
        usage.credits_total === null ? null : h("div", { class: "muted small" }, `${usage.credits_total} granted each month`)),
      h("div", { class: "panel" }, h("div", { class: "muted small" }, "Calls this month"),
        h("div", { class: "stat" }, month.limit === null ? String(month.used) : `${month.used} / ${month.limit}`),
        h("div", { class: "muted small" }, "resets ", when(month.resets_at))),
      h("div", { class: "panel" }, h("div", { class: "muted small" }, "Plan"), h("div", { class: "stat" }, acct.plan))),
    h("section", { class: "panel" }, h("h2", {}, "Usage, last 30 days"), usageChart(usage.daily)),
    h("section", { class: "panel" }, h("h2", {}, "API keys"), keyTable, h("h3", {}, "New key"), keyForm),
    h("section", { class: "panel" }, h("h2", {}, "Projects"), table([
      { title: "Name", cell: (p) => p.name },
      { title: "Id", cls: "hide-narrow", cell: (p) => h("span", { class: "mono" }, p.id) },
      { title: "Created", cell: (p) => when(p.created_at) },
      { title: "", cell: (p) => h("a", { href: `#/jobs?project=${p.id}` }, "Jobs") },
      { title: "", cell: (p) => h("a", { href: `#/deliveries?project=${p.id}` }, "Deliveries") },
    ], projects), projectForm),
    h("section", { class: "panel" }, h("h2", {}, "Webhook signing secrets"), secretSections),
    h("section", { class: "panel" }, h("h2", {}, "Credits"), grantForm, h("h3", {}, "Ledger"), table([
      { title: "When", cell: (e) => when(e.created_at) },
      { title: "Type", cell: (e) => e.type },
      { title: "Amount", cell: (e) => (e.amount > 0 ? "+" : "") + e.amount },
      { title: "Balance", cell: (e) => e.balance_after },
      { title: "For", cls: "hide-narrow", cell: (e) => e.job_id || e.sound_id || e.note || "" },
    ], ledger.data)),
    h("section", { class: "panel" }, h("h2", {}, "Settings"), settings),
  );
}

// ---- tokens ----

async function tokensPage() {
  const tokens = await all("/admin/v1/tokens");
  const label = h("input", { id: "new-token-label", required: true, maxlength: 200 });
  const btn = h("button", { type: "submit", id: "create-token" }, "Create token");
  render(
    h("h1", {}, "Management tokens"),
    h("section", { class: "panel" }, h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        act(btn, async () => {
          const t = await api("POST", "/admin/v1/tokens", { label: label.value });
          await showSecret("New management token", t.token, "token");
          route();
        });
      },
    }, h("label", {}, "Label", label), btn)),
    table([
      { title: "Label", cell: (t) => t.label },
      { title: "Token", cls: "hide-narrow", cell: (t) => h("span", { class: "mono" }, `${t.prefix}…${t.last4}`) },
      { title: "Created", cls: "hide-narrow", cell: (t) => when(t.created_at) },
      { title: "Last used", cell: (t) => when(t.last_used_at) },
      { title: "Status", cell: (t) => badge(t.status) },
      {
        title: "", cell: (t) => t.status === "active" ? h("button", {
          type: "button", class: "danger",
          onclick: (e) => act(e.currentTarget, async () => {
            if (!await ask("Revoke token?", h("p", {}, `“${t.label}” stops working at once. If it is the token you signed in with, you are signed out.`), "Revoke", true)) return;
            await api("DELETE", "/admin/v1/tokens/" + t.id);
            toast("Token revoked");
            route();
          }),
        }, "Revoke") : "",
      },
    ], tokens),
  );
}

// ---- project pickers (jobs, deliveries) ----

async function projectPicker(selected, onPick) {
  if (!state.accounts) state.accounts = await all("/admin/v1/accounts");
  const options = [h("option", { value: "" }, "Choose a project…")];
  const lists = await Promise.all(state.accounts.map((a) => all(`/admin/v1/accounts/${a.id}/projects`)));
  state.accounts.forEach((a, i) => {
    options.push(h("optgroup", { label: a.name }, lists[i].map((p) => h("option", { value: p.id, selected: p.id === selected }, p.name))));
  });
  return h("label", {}, "Project", h("select", { id: "project-picker", onchange: (e) => onPick(e.target.value) }, options));
}

function params() {
  const q = location.hash.split("?")[1] || "";
  return new URLSearchParams(q);
}

function go(path, q) {
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v)).toString();
  location.hash = path + (qs ? "?" + qs : "");
}

// ---- jobs ----

async function jobsPage() {
  const q = params();
  const project = q.get("project") || "";
  const status = q.get("status") || "";
  const picker = await projectPicker(project, (p) => go("#/jobs", { project: p, status }));
  const statusSel = h("select", { id: "status-filter", onchange: (e) => go("#/jobs", { project, status: e.target.value }) },
    ["", "queued", "running", "succeeded", "failed"].map((v) => h("option", { value: v, selected: v === status }, v || "any status")));
  const parts = [h("h1", {}, "Jobs"), h("div", { class: "toolbar" }, picker, h("label", {}, "Status", statusSel))];
  if (project) {
    const jobs = await all(`/admin/v1/projects/${project}/jobs` + (status ? "?status=" + status : ""), 200);
    parts.push(table([
      { title: "File", cell: (j) => h("a", { href: "#/jobs/" + j.job_id }, j.file.filename || j.job_id) },
      { title: "Status", cell: (j) => badge(j.status) },
      { title: "Created", cls: "hide-narrow", cell: (j) => when(j.created_at) },
      { title: "Finished", cell: (j) => when(j.finished_at) },
      { title: "Size", cls: "hide-narrow", cell: (j) => (j.file.size_bytes / 1e6).toFixed(1) + " MB" },
    ], jobs, (j) => { location.hash = "#/jobs/" + j.job_id; }));
  } else {
    parts.push(h("p", { class: "muted" }, "Choose a project to see its jobs."));
  }
  render(...parts);
}

const GROUP_COLOURS = ["#5aa9e6", "#f4b942", "#7bc67b", "#e07a5f", "#9d8df1", "#4ecdc4", "#ff8fab", "#b5b682"];

// The waveform's peak envelope as one closed SVG path: the highest samples left to right, then
// the lowest back. `top` is the band's top edge and `height` its height.
function waveformPath(wave, x, top, height) {
  const peaks = wave.peaks || [];
  if (!peaks.length) return null;
  const mid = top + height / 2, amp = height / 2;
  const at = (i) => x((i + 0.5) * wave.seconds_per_point).toFixed(1);
  // A point's envelope is never thinner than a hairline, so silence still shows the axis.
  const hi = (p) => (mid - Math.max(p[1] * amp, 0.5)).toFixed(1);
  const lo = (p) => (mid - Math.min(p[0] * amp, -0.5)).toFixed(1);
  const up = peaks.map((p, i) => `${at(i)},${hi(p)}`);
  const down = peaks.map((p, i) => `${at(i)},${lo(p)}`).reverse();
  return s("path", { class: "waveform", d: `M${up.join("L")}L${down.join("L")}Z`, fill: "#6f8196" },
    s("title", {}, "Waveform (peak envelope)"));
}

function timeline(result) {
  const dur = result.file_meta.duration_sec || 1;
  const W = 960, x = (t) => (t / dur) * W;
  const sections = (result.structure && result.structure.sections) || [];
  const chords = (result.create_report && result.create_report.chords) || [];
  const downbeats = (result.tempo && result.tempo.downbeats) || [];
  const wave = result.waveform;
  const groups = [...new Set(sections.map((sec) => sec.group))];
  const colour = (sec) => GROUP_COLOURS[groups.indexOf(sec.group) % GROUP_COLOURS.length];
  const rows = [];
  let y = 0;
  if (sections.length) {
    rows.push(s("g", {}, sections.map((sec) => {
      const c = colour(sec);
      return s("g", {},
        s("rect", { x: x(sec.start), y, width: Math.max(1, x(sec.end) - x(sec.start) - 1), height: 34, fill: c, rx: 3 },
          s("title", {}, `${sec.label} (${sec.group}) ${sec.start.toFixed(1)}–${sec.end.toFixed(1)} s`)),
        s("text", { x: x(sec.start) + 4, y: y + 21, "font-size": 12, fill: "#1d2733" }, sec.label));
    })));
    y += 38;
  }
  if (wave && wave.peaks && wave.peaks.length) {
    // The sections continue faintly behind the waveform, so each part of it reads as its section.
    const H = 72;
    rows.push(s("g", { class: "wave" },
      sections.map((sec) => s("rect", { x: x(sec.start), y, width: Math.max(1, x(sec.end) - x(sec.start) - 1), height: H, fill: colour(sec), "fill-opacity": 0.18 })),
      s("line", { x1: 0, x2: W, y1: y + H / 2, y2: y + H / 2, stroke: "#c5cfd9" }),
      waveformPath(wave, x, y, H)));
    y += H + 4;
  }
  if (downbeats.length) {
    rows.push(s("g", {}, downbeats.map((t) => s("line", { x1: x(t), x2: x(t), y1: y, y2: y + 8, stroke: "#9aa8b6" }))));
    y += 12;
  }
  if (chords.length) {
    rows.push(s("g", {}, chords.map((c) => s("g", {},
      s("rect", { x: x(c.start), y, width: Math.max(1, x(c.end) - x(c.start) - 1), height: 24, fill: c.label === "N" ? "#eef1f4" : "#dfe9f3", rx: 2 },
        s("title", {}, `${c.name} ${c.start.toFixed(1)}–${c.end.toFixed(1)} s`)),
      (x(c.end) - x(c.start)) > 22 ? s("text", { x: x(c.start) + 3, y: y + 16, "font-size": 11, fill: "#1d2733" }, c.name) : null))));
    y += 28;
  }
  const ticks = [];
  const step = dur > 300 ? 60 : dur > 60 ? 30 : 10;
  for (let t = 0; t <= dur; t += step) {
    ticks.push(s("text", { x: Math.min(x(t) + 2, W - 30), y: y + 14, "font-size": 11, fill: "#5b6b7c" }, `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, "0")}`));
  }
  y += 18;
  // On a narrow screen the drawing keeps a legible width and scrolls sideways (by keyboard too).
  return h("figure", { class: "timeline", tabindex: 0, "aria-label": "Sections over the waveform, downbeats and chords, over time" },
    s("svg", { viewBox: `0 0 ${W} ${y}`, role: "img" }, rows, ticks));
}

function loudnessTable(result) {
  const l = result.loudness || {};
  const mix = result.mix_report;
  if (mix && Array.isArray(mix.platforms)) {
    return table([
      { title: "Platform", cell: (p) => p.name },
      { title: "Target", cell: (p) => `${p.target_lufs} LUFS` },
      { title: "Gain", cell: (p) => `${p.gain_db > 0 ? "+" : ""}${fmt(p.gain_db, 1)} dB` },
      { title: "True peak after", cell: (p) => `${fmt(p.true_peak_after_dbtp, 1)} dBTP` },
    ], mix.platforms);
  }
  if (l.integrated_lufs === null || l.integrated_lufs === undefined) return h("p", { class: "muted" }, l.reason || "No loudness measured.");
  return table([
    { title: "Platform", cell: (p) => p[0] },
    { title: "Target", cell: (p) => `${p[1]} LUFS` },
    { title: "Gain to target", cell: (p) => { const g = p[1] - l.integrated_lufs; return `${g > 0 ? "+" : ""}${g.toFixed(1)} dB`; } },
    { title: "True peak after", cell: (p) => l.true_peak_dbtp === null ? "—" : `${(l.true_peak_dbtp + p[1] - l.integrated_lufs).toFixed(1)} dBTP` },
  ], PLATFORM_TARGETS);
}

function resultView(r) {
  const t = r.tempo || {}, k = r.key || {}, l = r.loudness || {};
  const parts = [
    h("div", { class: "grid" },
      h("div", { class: "panel", id: "result-tempo" }, h("div", { class: "muted small" }, "Tempo"),
        h("div", { class: "stat" }, t.bpm ? `${fmt(t.bpm, 1)} BPM` : "—"),
        h("div", { class: "muted small" }, [t.time_signature, t.confidence !== null && t.confidence !== undefined ? `confidence ${fmt(t.confidence, 2)}` : null].filter(Boolean).join(" · ") || t.reason || "")),
      h("div", { class: "panel", id: "result-key" }, h("div", { class: "muted small" }, "Key"),
        h("div", { class: "stat" }, k.name || "—"),
        h("div", { class: "muted small" }, k.camelot ? `Camelot ${k.camelot} · Open Key ${k.open_key}` : (k.reason || "")),
        k.alternatives && k.alternatives.length ? h("div", { class: "muted small" }, "or ", k.alternatives.map((a) => a.name).join(", ")) : null),
      h("div", { class: "panel", id: "result-loudness" }, h("div", { class: "muted small" }, "Loudness"),
        h("div", { class: "stat" }, l.integrated_lufs !== null && l.integrated_lufs !== undefined ? `${fmt(l.integrated_lufs, 1)} LUFS` : "—"),
        h("div", { class: "muted small" }, `true peak ${fmt(l.true_peak_dbtp, 1)} dBTP · range ${fmt(l.loudness_range_lu, 1)} LU`))),
  ];
  const sections = r.structure && r.structure.sections;
  const hasForm = sections || (r.create_report && r.create_report.chords) || (r.waveform && r.waveform.peaks && r.waveform.peaks.length);
  parts.push(h("section", { class: "panel" }, h("h2", {}, "Structure and chords"),
    hasForm ? timeline(r) : null,
    sections ? null : h("p", { class: "muted" }, (r.structure && r.structure.reason) || "No sections for this audio."),
    r.create_report && r.create_report.progression ? h("p", {}, "Progression: ", h("strong", {}, r.create_report.progression.roman), " (", r.create_report.progression.names, ")") : null,
    r.create_report && r.create_report.suggested_vocal_key ? h("p", {}, "Suggested vocal key: ", r.create_report.suggested_vocal_key) : null));
  parts.push(h("section", { class: "panel" }, h("h2", {}, "Loudness against platform targets"), loudnessTable(r)));
  if (r.genre || r.mood) {
    const g = r.genre || {}, m = r.mood || {};
    parts.push(h("section", { class: "panel" }, h("h2", {}, "Genre and mood"),
      h("dl", { class: "kv" },
        h("dt", {}, "Genre"), h("dd", {}, g.primary ? `${g.primary.label} (${fmt(g.primary.confidence, 2)})` : (g.reason || "—")),
        h("dt", {}, "Also"), h("dd", {}, (g.top5 || []).slice(1).map((x) => x.label).join(", ") || "—"),
        h("dt", {}, "Energy"), h("dd", {}, m.energy ?? "—"),
        h("dt", {}, "Danceability"), h("dd", {}, m.danceability ?? "—"),
        h("dt", {}, "Valence"), h("dd", {}, m.valence ?? "—"),
        h("dt", {}, "Mood tags"), h("dd", {}, (m.tags || []).map((x) => x.label).join(", ") || (m.reason || "—")))));
  }
  if (r.mix_report && Array.isArray(r.mix_report.checks)) {
    parts.push(h("section", { class: "panel" }, h("h2", {}, "Mix checks"),
      r.mix_report.priority_move ? h("p", { class: "warning" }, r.mix_report.priority_move) : null,
      table([
        { title: "Check", cell: (c) => c.id.replaceAll("_", " ") },
        { title: "Status", cell: (c) => badge(c.status) },
        { title: "Value", cell: (c) => c.value === null ? "—" : String(c.value) },
        { title: "Message", cls: "hide-narrow", cell: (c) => c.message },
      ], r.mix_report.checks)));
  }
  return parts;
}

async function jobPage(id) {
  const j = await api("GET", "/admin/v1/jobs/" + encodeURIComponent(id));
  const parts = [
    h("div", { class: "crumbs" }, h("a", { href: `#/jobs?project=${j.project_id}` }, "Jobs"), " / ", j.file.filename || j.job_id),
    h("h1", {}, j.file.filename || j.job_id, " ", badge(j.status)),
    h("p", { class: "muted small" }, h("span", { class: "mono" }, j.job_id), ` · ${j.file.format || ""} · created ${when(j.created_at)} · finished ${when(j.finished_at)}`),
  ];
  if (j.status === "succeeded" && j.result) parts.push(...resultView(j.result));
  else if (j.status === "failed") parts.push(h("p", { class: "error" }, `${j.error.message} (${j.error.code})`));
  else parts.push(h("p", {}, `${j.stage || j.status} · ${Math.round((j.progress || 0) * 100)} %`));
  parts.push(h("p", {}, h("a", { href: `#/deliveries?project=${j.project_id}&job=${j.job_id}` }, "Webhook deliveries of this job")));
  render(...parts);
  if (!["succeeded", "failed"].includes(j.status)) {
    setTimeout(() => { if (location.hash === "#/jobs/" + id) route(); }, 2000);
  }
}

// ---- deliveries ----

async function deliveriesPage() {
  const q = params();
  const project = q.get("project") || "";
  const status = q.get("status") || "";
  const job = q.get("job") || "";
  const picker = await projectPicker(project, (p) => go("#/deliveries", { project: p, status }));
  const statusSel = h("select", { onchange: (e) => go("#/deliveries", { project, status: e.target.value, job }) },
    ["", "pending", "succeeded", "failed"].map((v) => h("option", { value: v, selected: v === status }, v || "any status")));
  const parts = [h("h1", {}, "Webhook deliveries"), h("div", { class: "toolbar" }, picker, h("label", {}, "Status", statusSel))];
  if (project) {
    const qs = new URLSearchParams(Object.entries({ status, job_id: job }).filter(([, v]) => v)).toString();
    const list = await all(`/admin/v1/projects/${project}/deliveries` + (qs ? "?" + qs : ""), 200);
    parts.push(table([
      { title: "Event", cell: (d) => h("a", { href: "#/deliveries/" + d.id }, d.event_type) },
      { title: "URL", cls: "hide-narrow", cell: (d) => h("span", { class: "mono" }, d.url) },
      { title: "Status", cell: (d) => badge(d.status) },
      { title: "Attempts", cell: (d) => d.attempts },
      { title: "Created", cls: "hide-narrow", cell: (d) => when(d.created_at) },
    ], list, (d) => { location.hash = "#/deliveries/" + d.id; }));
  } else {
    parts.push(h("p", { class: "muted" }, "Choose a project to see its deliveries."));
  }
  render(...parts);
}

async function deliveryPage(id) {
  const d = await api("GET", "/admin/v1/deliveries/" + encodeURIComponent(id));
  const again = h("button", {
    type: "button", id: "redeliver",
    onclick: (e) => act(e.currentTarget, async () => {
      await api("POST", `/admin/v1/deliveries/${d.id}/redeliver`);
      toast("Queued to be sent again");
      route();
    }),
  }, "Redeliver");
  render(
    h("div", { class: "crumbs" }, h("a", { href: "#/deliveries" }, "Deliveries"), " / ", d.id),
    h("h1", {}, d.event_type, " ", badge(d.status)),
    h("dl", { class: "kv panel" },
      h("dt", {}, "URL"), h("dd", { class: "mono" }, d.url),
      h("dt", {}, "Job"), h("dd", {}, d.job_id ? h("a", { href: "#/jobs/" + d.job_id }, d.job_id) : "—"),
      h("dt", {}, "Created"), h("dd", {}, when(d.created_at)),
      h("dt", {}, "Next attempt"), h("dd", {}, when(d.next_attempt_at)),
      h("dt", {}, "Finished"), h("dd", {}, when(d.finished_at))),
    h("p", {}, again),
    h("section", { class: "panel" }, h("h2", {}, "Attempts"), table([
      { title: "#", cell: (a) => a.attempt },
      { title: "Started", cell: (a) => when(a.started_at) },
      { title: "Status", cell: (a) => a.status_code ?? "—" },
      { title: "Latency", cell: (a) => a.latency_ms === null ? "—" : `${a.latency_ms} ms` },
      { title: "Error", cell: (a) => a.error || "" },
      { title: "Response", cls: "hide-narrow", cell: (a) => a.response_excerpt ? h("pre", {}, a.response_excerpt) : "" },
    ], d.attempt_log || [])),
    h("section", { class: "panel" }, h("h2", {}, "Event"), h("pre", {}, JSON.stringify(d.event, null, 2))),
  );
}

// ---- sound library ----

async function libraryFilters() {
  const sp = await spec();
  const params = sp.paths["/admin/v1/sounds"].get.parameters;
  const enumOf = (name) => (params.find((p) => p.name === name).schema.enum || []);
  return { categories: enumOf("category"), licenses: enumOf("license") };
}

async function libraryPage() {
  const q = params();
  const f = await libraryFilters();
  const text = h("input", { id: "sound-query", type: "search", required: true, maxlength: 500, value: q.get("q") || "" });
  const category = h("select", { id: "sound-category" }, h("option", { value: "" }, "any category"),
    f.categories.map((c) => h("option", { value: c, selected: c === q.get("category") }, c)));
  const license = h("select", { id: "sound-license" }, h("option", { value: "" }, "any licence"),
    f.licenses.map((l) => h("option", { value: l, selected: l === q.get("license") }, l)));
  const longest = h("input", { id: "sound-duration", type: "number", min: 0.1, step: 0.1, size: 6, value: q.get("duration_max") || "" });
  const btn = h("button", { type: "submit", id: "sound-search" }, "Search");
  const form = h("form", {
    class: "toolbar",
    onsubmit: (e) => {
      e.preventDefault();
      go("#/library", { q: text.value, category: category.value, license: license.value, duration_max: longest.value });
    },
  }, h("label", {}, "Search", text), h("label", {}, "Category", category), h("label", {}, "Licence", license),
  h("label", {}, "Longest (s)", longest), btn);
  const parts = [h("h1", {}, "Sound library"), form];
  if (q.get("q")) {
    const qs = new URLSearchParams(Object.entries({
      q: q.get("q"), category: q.get("category"), license: q.get("license"), duration_max: q.get("duration_max"), limit: "50",
    }).filter(([, v]) => v)).toString();
    const sounds = await api("GET", "/admin/v1/sounds?" + qs);
    parts.push(table([
      { title: "Title", cell: (x) => h("a", { href: "#/library/" + encodeURIComponent(x.id) }, x.title) },
      { title: "Category", cell: (x) => x.category },
      { title: "Length", cell: (x) => `${fmt(x.duration_s, 1)} s` },
      { title: "Licence", cls: "hide-narrow", cell: (x) => x.license_type },
      { title: "Loudness", cls: "hide-narrow", cell: (x) => x.loudness_lufs === null ? "—" : `${fmt(x.loudness_lufs, 1)} LUFS` },
      { title: "Tags", cls: "hide-narrow", cell: (x) => (x.tags || []).join(", ") },
    ], sounds, (x) => { location.hash = "#/library/" + encodeURIComponent(x.id); }));
  } else {
    parts.push(h("p", { class: "muted" }, "Search by words; typos and other word forms are found."));
  }
  render(...parts);
  text.focus();
}

// The preview needs the bearer header, which an <audio> element cannot send: it is fetched
// here and played from a blob: URL (the policy allows media from blob: only).
async function previewPlayer(id) {
  const r = await fetch(`/admin/v1/sounds/${encodeURIComponent(id)}/preview`, {
    headers: { Authorization: "Bearer " + state.token }, credentials: "omit",
  });
  if (!r.ok) return h("p", { class: "muted" }, `No preview (HTTP ${r.status}).`);
  const url = URL.createObjectURL(await r.blob());
  window.addEventListener("hashchange", () => URL.revokeObjectURL(url), { once: true });
  return h("audio", { controls: true, src: url, id: "sound-preview", preload: "auto" });
}

async function soundPage(id) {
  const x = await api("GET", "/admin/v1/sounds/" + encodeURIComponent(id));
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? "—" : v)];
  render(
    h("div", { class: "crumbs" }, h("a", { href: "#/library" }, "Library"), " / ", x.title),
    h("h1", {}, x.title),
    h("section", { class: "panel" }, h("h2", {}, "Preview"), await previewPlayer(x.id)),
    h("dl", { class: "kv panel", id: "sound-metadata" },
      row("Id", h("span", { class: "mono" }, x.id)),
      row("Description", x.description),
      row("Category", [x.category, x.subcategory].filter(Boolean).join(" / ")),
      row("Tags", (x.tags || []).join(", ")),
      row("Machine tags", x.machine_tags === null ? "not listened to yet"
        : x.machine_tags.map((t) => `${t.label} (${fmt(t.confidence, 2)})`).join(", ")),
      row("Length", `${fmt(x.duration_s, 2)} s`),
      row("Format", `${x.sample_rate_hz} Hz · ${x.bit_depth || "?"} bit · ${x.channels} ch`),
      row("Loudness", x.loudness_lufs === null ? null : `${fmt(x.loudness_lufs, 1)} LUFS`),
      row("True peak", x.true_peak_db === null ? null : `${fmt(x.true_peak_db, 1)} dBTP`),
      row("Spectral peaks", (x.spectral_peaks || []).slice(0, 4).map((p) => `${Math.round(p.frequency_hz)} Hz`).join(", ")),
      row("Creator", x.creator),
      row("Licence", `${x.license_type}${x.license ? " · " + x.license : ""}${x.attribution_required ? " · attribution required" : ""}`),
      row("Formats", (x.formats || []).join(", ")),
      row("Downloads", x.download_count),
      row("Added", when(x.created_at))),
  );
}

// ---- router ----

const ROUTES = [
  [/^#\/accounts$/, "accounts", accountsPage],
  [/^#\/accounts\/([^/?]+)$/, "accounts", accountPage],
  [/^#\/tokens$/, "tokens", tokensPage],
  [/^#\/jobs(\?.*)?$/, "jobs", jobsPage],
  [/^#\/jobs\/([^/?]+)$/, "jobs", jobPage],
  [/^#\/deliveries(\?.*)?$/, "deliveries", deliveriesPage],
  [/^#\/deliveries\/([^/?]+)$/, "deliveries", deliveryPage],
  [/^#\/library(\?.*)?$/, "library", libraryPage],
  [/^#\/library\/([^/?]+)$/, "library", soundPage],
];

async function route() {
  const signedIn = Boolean(state.token);
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  const libraryLink = document.getElementById("nav-library");
  if (signedIn && libraryLink) libraryLink.hidden = !(await hasPath("/admin/v1/sounds"));
  if (!signedIn) {
    signInPage();
    return;
  }
  let hash = location.hash || "#/accounts";
  if (hash === "#/signin" || hash === "#/") hash = "#/accounts";
  for (const [re, section, page] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("nav a")) {
      if (a.dataset.section === section) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    render(h("p", { class: "muted" }, "Loading…"));
    try {
      const arg = m[1] && !m[1].startsWith("?") ? decodeURIComponent(m[1]) : undefined;
      await page(arg);
      document.title = `${(main().querySelector("h1") || {}).textContent || "console"} · tonearm`;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      render(h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, errorText(e)));
    }
    return;
  }
  render(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/accounts" }, "Accounts")));
}

document.getElementById("signout").addEventListener("click", () => signOut("Signed out"));
window.addEventListener("hashchange", route);
route();
