// The page's state: the signed-in tenant, the metric catalogue, and the view in the URL fragment
// (`#/agents?p=7d&channel=chat`), so that every view, period and drill-down is a link.

import { currentZone } from "./format.js";

/** What the page knows: the session's tenant, the catalogue, the newest data time seen. */
export const app = {
  tenant: null,
  catalogue: new Map(),
  dataAsOf: null,
  fetchedAt: null,
};

/** The metric of the catalogue with this name (parametric names fall back to their pattern). */
export function metricInfo(name) {
  return app.catalogue.get(name) || { name, unit: name.startsWith("service_level_") || name.startsWith("fcr_") ? "ratio" : "conversations", description: "" };
}

/** The view, its argument and its parameters, from `location.hash`. */
export function parseRoute(hash = location.hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?", 2);
  const [view, ...rest] = path.split("/");
  return {
    view: view || "overview",
    arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(query),
  };
}

/** A link to a view: `#/view[/arg]?params`. */
export function routeHref(view, params = {}, arg = null) {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams();
  if (!(params instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(params)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined) search.append(key, item === null ? "" : String(item));
      }
    }
  }
  const query = search.toString();
  return `#/${view}${arg !== null ? "/" + encodeURIComponent(arg) : ""}${query ? "?" + query : ""}`;
}

// -- periods, in the tenant's calendar --------------------------------------------------------

/** Today's date in the tenant's zone, YYYY-MM-DD. */
export function tenantToday(now = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: currentZone(), year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
}

function toDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function fromDate(date) {
  return date.toISOString().slice(0, 10);
}

/** A local date `days` later (earlier when negative). */
export function addDays(iso, days) {
  const date = toDate(iso);
  date.setUTCDate(date.getUTCDate() + days);
  return fromDate(date);
}

function monthStart(iso, months = 0) {
  const date = toDate(iso);
  return fromDate(new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1)));
}

export const PRESETS = ["today", "yesterday", "7d", "30d", "this_month", "last_month", "custom"];
export const DEFAULT_PRESET = "7d";
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The period of the URL: a preset, or `from`/`to` local dates (`to` exclusive). */
export function resolvePeriod(params) {
  const today = tenantToday();
  const preset = PRESETS.includes(params.get("p")) ? params.get("p") : null;
  const from = params.get("from");
  const to = params.get("to");
  if ((preset === "custom" || !preset) && ISO_DATE.test(from || "") && ISO_DATE.test(to || "") && to > from) {
    return { preset: "custom", from, to };
  }
  switch (preset || DEFAULT_PRESET) {
    case "today":
      return { preset: "today", from: today, to: addDays(today, 1) };
    case "yesterday":
      return { preset: "yesterday", from: addDays(today, -1), to: today };
    case "30d":
      return { preset: "30d", from: addDays(today, -29), to: addDays(today, 1) };
    case "this_month":
      return { preset: "this_month", from: monthStart(today), to: monthStart(today, 1) };
    case "last_month":
      return { preset: "last_month", from: monthStart(today, -1), to: monthStart(today) };
    default:
      return { preset: "7d", from: addDays(today, -6), to: addDays(today, 1) };
  }
}

/** Days in [from, to). */
export function periodDays(period) {
  return Math.round((toDate(period.to) - toDate(period.from)) / 86_400_000);
}

/** A granularity that gives a readable number of buckets for the period. */
export function autoGranularity(period) {
  const days = periodDays(period);
  if (days <= 2) return "hour";
  if (days <= 62) return "day";
  if (days <= 366) return "week";
  return "month";
}

/** The URL parameters every view shares: the period, the channel and the source (the platform
 * records came from; `source=` with no value selects records without one). */
export function sharedParams(params) {
  const out = {};
  for (const key of ["p", "from", "to", "channel"]) {
    if (params.get(key)) out[key] = params.get(key);
  }
  if (params.has("source")) out.source = params.get("source");
  return out;
}

/** Conversation filters of the shared parameters (the channel and the source). */
export function sharedFilters(params) {
  const channel = params.get("channel");
  const out = channel === "voice" || channel === "chat" ? { channel } : {};
  if (params.has("source")) out.source = params.get("source") || null;
  return out;
}
