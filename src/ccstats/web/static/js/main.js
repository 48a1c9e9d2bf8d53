// The dashboard: sign-in, the header and toolbar, the views in the URL fragment, auto-refresh and
// the "data as of" line. Every number comes from the public /v1 API.

import { ApiError, del, get, post } from "./api.js";
import { byId, h, replace } from "./dom.js";
import { formatAgo, formatDateTime, setZone } from "./format.js";
import { LANGUAGES, language, pickLanguage, setLanguage, t } from "./i18n.js";
import { dropPanels, livePanels } from "./panel.js";
import { PRESETS, addDays, app, parseRoute, resolvePeriod, routeHref } from "./state.js";
import { agents } from "./views/agents.js";
import { bots } from "./views/bots.js";
import { campaigns } from "./views/campaigns.js";
import { conversation, conversations } from "./views/conversations.js";
import { overview } from "./views/overview.js";

const VIEWS = { overview, agents, bots, campaigns, conversations };
const NAV = ["overview", "agents", "bots", "campaigns", "conversations"];
const REFRESH = [0, 30, 300];
let refreshTimer = null;
let refreshEvery = 0;

// -- language ---------------------------------------------------------------------------------

function initLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  setLanguage(asked && LANGUAGES[asked] ? asked : pickLanguage(navigator.languages || [navigator.language]));
  const select = byId("lang");
  replace(select, Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, selected: code === language() }, name)));
  select.setAttribute("aria-label", t("language"));
  select.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("lang", select.value);
    history.replaceState(null, "", url);
    setLanguage(select.value);
    byId("lang-label").textContent = t("language");
    select.setAttribute("aria-label", t("language"));
    if (app.tenant) startApp();
    else boot();
  });
  byId("lang-label").textContent = t("language");
  byId("docs-link").textContent = t("api_docs");
}

// -- sign-in ----------------------------------------------------------------------------------

function code(text) {
  return h("code", { text });
}

function guidance(fresh) {
  const help = h(
    "div",
    { class: "guidance", id: "guidance" },
    h("p", {}, t("token_help")),
    h("pre", {}, code("ccstats credentials add TENANT_ID api --json")),
    h("p", {}, t("token_help_after")),
  );
  if (!fresh) return h("div", {}, help, h("p", { class: "muted", text: t("demo_hint") }));
  return h(
    "div",
    { class: "guidance fresh", id: "guidance" },
    h("h2", { text: t("fresh_title") }),
    h("p", { text: t("fresh_intro") }),
    h(
      "ol",
      {},
      h("li", {}, t("fresh_step_tenant"), h("pre", {}, code('ccstats tenant add acme --name "Acme" --timezone Europe/Berlin'))),
      h("li", {}, t("fresh_step_token"), h("pre", {}, code("ccstats credentials add acme api --json"))),
      h("li", {}, t("fresh_step_data"), h("pre", {}, code("ccstats demo"))),
    ),
    h("p", {}, t("token_help_after")),
  );
}

function showSignIn(session, message = null) {
  dropPanels();
  stopRefresh();
  app.tenant = null;
  byId("nav").hidden = true;
  byId("toolbar").hidden = true;
  byId("signout").hidden = true;
  replace(byId("tenant"));
  replace(byId("footer"));
  const input = h("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", placeholder: t("token_placeholder"), required: true });
  const remember = h("input", { id: "remember", type: "checkbox" });
  const status = h("p", { class: "error", id: "signin-error", role: "alert" }, message || "");
  const submit = h("button", { type: "submit", id: "signin", text: t("sign_in") });
  const form = h(
    "form",
    {
      class: "signin",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        replace(status, t("signing_in"));
        try {
          const answer = await post("/v1/session", { token: input.value.trim(), remember: remember.checked });
          input.value = "";
          await startApp(answer);
        } catch (error) {
          replace(status, error.message);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("h1", { text: t("signin_title") }),
    h("label", { class: "block" }, h("span", { text: t("token_label") }), input),
    h("label", { class: "check" }, remember, h("span", { text: t("remember") })),
    submit,
    status,
  );
  replace(byId("main"), h("div", { class: "signin-page" }, form, guidance(session.fresh_install)));
  input.focus();
}

async function signOut() {
  try {
    await del("/v1/session");
  } finally {
    location.hash = "";
    boot();
  }
}

// -- header, toolbar, footer ------------------------------------------------------------------

function renderNav(route) {
  const nav = byId("nav");
  const keep = sharedQuery(route.params);
  replace(
    nav,
    NAV.map((view) =>
      h("a", { href: routeHref(view, keep), class: view === route.view ? "active" : null, "aria-current": view === route.view ? "page" : null, "data-view": view }, t(`nav.${view}`)),
    ),
  );
  nav.hidden = false;
}

function sharedQuery(params) {
  const out = new URLSearchParams();
  for (const key of ["p", "from", "to", "channel"]) if (params.get(key)) out.set(key, params.get(key));
  if (params.has("source")) out.set("source", params.get("source")); // "": records without one
  return out;
}

function go(route, changes) {
  const params = new URLSearchParams(route.params);
  for (const [key, value] of Object.entries(changes)) {
    // `source=` stays: it selects the records that have no source.
    if (value === null || (value === "" && key !== "source")) params.delete(key);
    else params.set(key, value);
  }
  params.delete("cursor");
  location.hash = routeHref(route.view, params, route.arg);
}

function renderToolbar(route) {
  const bar = byId("toolbar");
  const period = resolvePeriod(route.params);
  const preset = h(
    "select",
    { id: "preset", "aria-label": t("period"), onchange: (e) => (e.target.value === "custom" ? go(route, { p: "custom", from: period.from, to: period.to }) : go(route, { p: e.target.value, from: null, to: null })) },
    PRESETS.map((p) => h("option", { value: p, selected: p === period.preset }, t(`preset.${p}`))),
  );
  const from = h("input", { type: "date", id: "from", value: period.from });
  const to = h("input", { type: "date", id: "to", value: addDays(period.to, -1) });
  const applyDates = () => {
    if (from.value && to.value && to.value >= from.value) go(route, { p: "custom", from: from.value, to: addDays(to.value, 1) });
  };
  from.addEventListener("change", applyDates);
  to.addEventListener("change", applyDates);
  const channel = h(
    "select",
    { id: "channel", "aria-label": t("channel"), onchange: (e) => go(route, { channel: e.target.value }) },
    h("option", { value: "", selected: !route.params.get("channel") }, t("channel_all")),
    ["voice", "chat"].map((c) => h("option", { value: c, selected: route.params.get("channel") === c }, t(`channel.${c}`))),
  );
  const source = sourceSelect(route, period);
  const refresh = h(
    "select",
    {
      id: "auto-refresh",
      "aria-label": t("auto_refresh"),
      onchange: (e) => {
        refreshEvery = Number(e.target.value);
        scheduleRefresh();
      },
    },
    REFRESH.map((s) => h("option", { value: s, selected: s === refreshEvery }, t(`refresh.${s}`))),
  );
  replace(
    bar,
    h("label", {}, h("span", { text: t("period") }), preset),
    h("label", {}, h("span", { text: t("from") }), from),
    h("label", {}, h("span", { text: t("to_inclusive") }), to),
    h("label", {}, h("span", { text: t("channel") }), channel),
    h("label", {}, h("span", { text: t("source") }), source),
    h("label", {}, h("span", { text: t("auto_refresh") }), refresh),
    h("button", { type: "button", id: "refresh", class: "small", text: t("refresh_now"), onclick: () => refreshNow() }),
    h("span", { class: "spacer" }),
    h("span", { id: "asof", class: "asof" }),
  );
  bar.hidden = false;
  updateAsOf();
}

const ALL_SOURCES = "*";

/** The source filter: every source of the period's records (one query grouped by source),
 * filled in when it answers; the URL's own choice is there from the start. */
function sourceSelect(route, period) {
  const chosen = route.params.has("source") ? route.params.get("source") : ALL_SOURCES;
  const option = (value) =>
    h("option", { value, selected: value === chosen }, value === ALL_SOURCES ? t("source_all") : value === "" ? t("source_none") : value);
  const select = h(
    "select",
    { id: "source", "aria-label": t("source"), onchange: (e) => go(route, { source: e.target.value === ALL_SOURCES ? null : e.target.value }) },
    [ALL_SOURCES, ...(chosen === ALL_SOURCES ? [] : [chosen])].map(option),
  );
  const channel = route.params.get("channel");
  const filters = channel === "voice" || channel === "chat" ? { channel } : {};
  post("/v1/query", { metrics: ["conversations"], group_by: ["source"], from: period.from, to: period.to, filters })
    .then((answer) => {
      const found = answer.rows.map((r) => (r.source === null ? "" : r.source)).sort((a, b) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
      const values = [ALL_SOURCES, ...new Set([...found, ...(chosen === ALL_SOURCES ? [] : [chosen])])];
      replace(select, ...values.map(option));
    })
    .catch(() => {}); // the views show the error; the list keeps the URL's choice
  return select;
}

function updateAsOf() {
  const el = byId("asof");
  if (!el) return;
  if (!app.fetchedAt) {
    replace(el);
    return;
  }
  const parts = [];
  if (app.dataAsOf) {
    parts.push(h("span", { class: "data-as-of", title: formatDateTime(app.dataAsOf), "data-as-of": new Date(app.dataAsOf).toISOString() }, t("data_as_of", { ago: formatAgo(app.dataAsOf) })));
  } else parts.push(h("span", { class: "data-as-of", text: t("no_data_yet") }));
  parts.push(" · ", h("span", { class: "muted", title: formatDateTime(app.fetchedAt) }, t("updated", { ago: formatAgo(app.fetchedAt) })));
  replace(el, parts);
}

function renderHeader() {
  const tenant = app.tenant;
  replace(byId("tenant"), h("span", { class: "tenant-name", title: tenant.id }, tenant.name || tenant.id), h("span", { class: "muted", text: " · " + t("tenant_zone", { zone: tenant.timezone }) }));
  const out = byId("signout");
  out.textContent = t("sign_out");
  out.hidden = false;
  out.onclick = signOut;
}

// -- views and refresh ------------------------------------------------------------------------

function render() {
  const route = parseRoute();
  dropPanels();
  renderNav(route);
  renderToolbar(route);
  const main = byId("main");
  let panels;
  if (route.view === "conversation" && route.arg) panels = conversation(route.params, route.arg);
  else if (VIEWS[route.view]) panels = VIEWS[route.view](route.params);
  else {
    replace(main, h("p", { class: "empty-note", text: t("not_found") }));
    return;
  }
  main.dataset.view = route.view;
  main.dataset.route = location.hash;
  replace(main, panels.map((p) => p.el));
  for (const p of panels) p.load();
}

function refreshNow() {
  for (const p of livePanels()) p.load();
}

function stopRefresh() {
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh() {
  stopRefresh();
  if (refreshEvery > 0) refreshTimer = setInterval(refreshNow, refreshEvery * 1000);
}

async function startApp(session = null) {
  const answer = session || (await get("/v1/session"));
  if (!answer.signed_in) return showSignIn(answer);
  app.tenant = answer.tenant;
  setZone(app.tenant.timezone);
  if (answer.data_as_of) app.dataAsOf = Date.parse(answer.data_as_of);
  if (!app.catalogue.size) {
    const { metrics } = await get("/v1/metrics");
    for (const metric of metrics) app.catalogue.set(metric.name, metric);
  }
  renderHeader();
  render();
  scheduleRefresh();
}

async function boot() {
  try {
    const session = await get("/v1/session");
    if (session.signed_in) await startApp(session);
    else showSignIn(session);
  } catch (error) {
    replace(byId("main"), h("p", { class: "error", role: "alert" }, `${t("error")}: ${error instanceof ApiError ? error.message : String(error)}`));
  }
}

window.addEventListener("hashchange", () => {
  if (app.tenant) render();
});
document.addEventListener("ccstats:fetched", updateAsOf);
document.addEventListener("ccstats:signed-out", () => boot());
setInterval(updateAsOf, 5000);
initLanguage();
boot();
