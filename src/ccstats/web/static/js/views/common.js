// Pieces every view uses: drill-down links, export buttons, names of metrics, agents and bots.

import { download } from "../api.js";
import { h, replace } from "../dom.js";
import { has, t } from "../i18n.js";
import { app, resolvePeriod, routeHref, sharedFilters, sharedParams } from "../state.js";

/** A metric's name in the page's language (the catalogue name when there is no translation). */
export function metricLabel(name) {
  if (has(`m.${name}`)) return t(`m.${name}`);
  const level = /^service_level_(\d+)s$/.exec(name);
  if (level) return t("m.service_level_n", { n: level[1] });
  const fcr = /^fcr_(\d+)h$/.exec(name);
  if (fcr) return t("m.fcr_n", { n: fcr[1] });
  return name.replaceAll("_", " ");
}

/** The period and channel of the URL as an API request's `from`, `to` and `filters`. */
export function requestRange(params) {
  const period = resolvePeriod(params);
  return { from: period.from, to: period.to, filters: sharedFilters(params) };
}

/**
 * A link to the conversations behind a number: the same period and channel, more field filters,
 * and the measure whose rows they are (`metric=`).
 */
export function drillHref(params, filters = {}, metric = null) {
  const out = { ...sharedParams(params), ...resolvedDates(params) };
  for (const [key, value] of Object.entries(filters)) out[key] = value;
  if (metric) out.metric = metric;
  return routeHref("conversations", out);
}

function resolvedDates(params) {
  const period = resolvePeriod(params);
  return { p: "custom", from: period.from, to: period.to };
}

/** A number that opens the conversations behind it. */
export function drillLink(text, params, filters, metric, title) {
  return h("a", { class: "drill", href: drillHref(params, filters, metric), title: title || t("show_conversations") }, text);
}

/** CSV and XLSX buttons that download `request(format)` ({method, path, query, body}). */
export function exportButtons(request) {
  const status = h("span", { class: "export-status muted", role: "status" });
  const button = (format) =>
    h(
      "button",
      {
        type: "button",
        class: "small",
        "data-export": format,
        onclick: async (event) => {
          const target = event.currentTarget;
          target.disabled = true;
          replace(status, t("downloading"));
          try {
            const { method, path, query, body } = request(format);
            const name = await download(method, path, { query, body });
            replace(status, t("downloaded", { name }));
            status.dataset.file = name;
          } catch (error) {
            replace(status, h("span", { class: "error", text: `${t("error")}: ${error.message}` }));
          } finally {
            target.disabled = false;
          }
        },
      },
      format.toUpperCase(),
    );
  return h("span", { class: "exports" }, h("span", { class: "muted", text: t("export") + ":" }), button("csv"), button("xlsx"), status);
}

/** An agent's name as the tenant configured it ("name [number]"), else its id. */
export function agentName(id, fallback = null) {
  const agent = (app.tenant.agents || []).find((a) => a.id === id);
  if (agent && agent.name) return agent.number ? `${agent.name} [${agent.number}]` : agent.name;
  return fallback || id || t("none");
}

/** A bot's name for an access code, as the tenant configured it, else the code. */
export function botName(accessCode) {
  const bot = (app.tenant.bots || []).find((b) => b.access_code === accessCode);
  return bot && bot.name ? bot.name : accessCode;
}

/** An empty-state message. */
export function emptyNote(text) {
  return h("p", { class: "empty-note", text });
}
