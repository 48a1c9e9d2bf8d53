// The overview: key figures of the period beside the period before (POST /v1/summary), and the
// chosen metrics over time (POST /v1/query with every bucket, empty ones included).

import { post } from "../api.js";
import { timeSeries } from "../chart.js";
import { h } from "../dom.js";
import { formatBucket, formatChange, formatDate, formatDuration, formatMetric, rawValue } from "../format.js";
import { t } from "../i18n.js";
import { noteAnswer, panel } from "../panel.js";
import { app, autoGranularity, metricInfo, resolvePeriod, routeHref } from "../state.js";
import { sortableTable } from "../table.js";
import { drillLink, emptyNote, exportButtons, metricLabel, requestRange } from "./common.js";

/** The key figures: label key, metric, and which way is better (for the change's colour). */
export const KPIS = [
  { key: "conversations", metric: "conversations" },
  { key: "answered", metric: "agent_sessions", better: "up" },
  { key: "abandoned", metric: "queue_abandoned", better: "down" },
  { key: "abandon_rate", metric: "abandonment_rate", better: "down" },
  { key: "service_level", metric: "service_level_20s", better: "up" },
  { key: "asa", metric: "avg_speed_of_answer", better: "down" },
  { key: "aht", metric: "avg_handle_time" },
  { key: "containment", metric: "bot_containment", better: "up" },
  { key: "transfers", metric: "transferred_to_agent" },
  { key: "csat", metric: "csat", better: "up" },
  { key: "fcr", metric: "fcr_24h", better: "up" },
];

export const DEFAULT_SERIES = ["conversations", "agent_sessions", "abandonment_rate", "service_level_20s"];
const GRANULARITIES = ["auto", "half_hour", "hour", "day", "week", "month"];

function changeClass(kpi, change) {
  if (!change || !change.difference || !kpi.better) return "flat";
  const up = change.difference > 0;
  return up === (kpi.better === "up") ? "good" : "bad";
}

function parts(info, answer, params) {
  // A ratio's parts: each opens its conversations; an average shows its total over its count.
  if (!answer || typeof answer !== "object") return null;
  const den = drillLink(formatMetric("conversations", answer.denominator), params, {}, info.denominator);
  if (info.unit === "seconds") {
    return h("span", { class: "tile-parts" }, t("total_over", { total: formatDuration(answer.numerator) }), " ", den);
  }
  const num = drillLink(formatMetric("conversations", answer.numerator), params, {}, info.numerator);
  return h("span", { class: "tile-parts" }, num, " / ", den);
}

function tile(kpi, summary, params) {
  const info = metricInfo(kpi.metric);
  const now = summary.current.values[kpi.metric];
  const before = summary.previous.values[kpi.metric];
  const change = summary.change[kpi.metric];
  // The number opens the conversations it counts: the measure itself, a rate's numerator, an
  // average's denominator (the conversations averaged).
  const target = info.kind === "ratio" ? (info.unit === "seconds" ? info.denominator : info.numerator) : kpi.metric;
  const value = drillLink(formatMetric(info.unit, now), params, {}, target, t("show_conversations"));
  value.classList.add("tile-value");
  return h(
    "div",
    {
      class: "tile",
      title: info.description,
      "data-kpi": kpi.key,
      "data-metric": kpi.metric,
      "data-value": rawValue(now) ?? "",
      "data-previous": rawValue(before) ?? "",
    },
    h("span", { class: "tile-label", text: t(`kpi.${kpi.key}`) }),
    value,
    parts(info, now, params),
    h(
      "span",
      { class: "tile-prev" },
      h("span", { class: "muted", text: t("previous") + ": " }),
      h("span", { class: "tile-prev-value", text: formatMetric(info.unit, before) }),
      " ",
      h("span", { class: ["tile-change", changeClass(kpi, change)], text: formatChange(info.unit, change) }),
    ),
  );
}

function tilesPanel(params) {
  return panel(t("key_figures"), async (self) => {
    const range = requestRange(params);
    const summary = await post("/v1/summary", { metrics: KPIS.map((k) => k.metric), ...range });
    noteAnswer(summary);
    const period = resolvePeriod(params);
    const prev = summary.previous;
    self.el.dataset.from = period.from;
    self.el.dataset.to = period.to;
    const note = h(
      "p",
      { class: "muted period-note" },
      t("period_vs", {
        current: `${formatDate(period.from)} – ${formatDate(addDaysText(period.to, -1))}`,
        previous: `${formatDate(prev.from.slice(0, 10))} – ${formatDate(addDaysText(prev.to.slice(0, 10), -1))}`,
      }),
    );
    return h("div", {}, note, h("div", { class: "tiles" }, KPIS.map((kpi) => tile(kpi, summary, params))));
  }, { id: "kpis" });
}

function addDaysText(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

function seriesChooser(params, chosen, granularity) {
  const names = [...app.catalogue.keys()].filter((n) => metricInfo(n).kind !== "max" && metricInfo(n).unit !== "epoch_ms");
  const boxes = names.map((n) => h("input", { type: "checkbox", value: n, checked: chosen.includes(n) }));
  const apply = () => {
    const picked = boxes.filter((b) => b.checked).map((b) => b.value).slice(0, 8);
    if (!picked.length) return;
    const next = new URLSearchParams(params);
    next.set("series", picked.join(","));
    location.hash = routeHref("overview", next);
  };
  const picker = h(
    "details",
    { class: "picker", id: "series-picker" },
    h("summary", {}, t("metrics_chosen", { n: chosen.length })),
    h(
      "div",
      { class: "picker-body" },
      h(
        "div",
        { class: "picker-list" },
        names.map((n, i) =>
          h("label", { title: metricInfo(n).description }, boxes[i], h("span", { text: metricLabel(n) }), h("code", { class: "muted", text: n })),
        ),
      ),
      h("p", { class: "muted", text: t("metrics_limit") }),
      h("button", { type: "button", class: "small", id: "series-apply", text: t("apply"), onclick: apply }),
    ),
  );
  const grain = h(
    "select",
    {
      "aria-label": t("granularity"),
      id: "granularity",
      onchange: (event) => {
        const next = new URLSearchParams(params);
        next.set("g", event.target.value);
        location.hash = routeHref("overview", next);
      },
    },
    GRANULARITIES.map((g) => h("option", { value: g, selected: g === granularity }, t(`g.${g}`))),
  );
  return h(
    "div",
    { class: "series-controls" },
    h("label", {}, h("span", { text: t("granularity") }), grain),
    h("label", {}, h("span", { text: t("metrics") }), picker),
  );
}

function seriesPanel(params) {
  const chosen = (params.get("series") || DEFAULT_SERIES.join(",")).split(",").filter((n) => n && (app.catalogue.has(n) || /^(service_level_\d+s|fcr_\d+h)$/.test(n)));
  const metrics = chosen.length ? chosen : DEFAULT_SERIES;
  const wanted = params.get("g") || "auto";
  const granularity = wanted === "auto" ? autoGranularity(resolvePeriod(params)) : wanted;
  const body = () => ({ metrics, granularity, fill_empty: true, ...requestRange(params) });
  const self = panel(t("over_time"), async () => {
    const answer = await post("/v1/query", body());
    noteAnswer(answer);
    const labels = answer.rows.map((r) => formatBucket(r.bucket, granularity));
    const series = metrics.map((m) => ({ name: metricLabel(m), unit: metricInfo(m).unit, values: answer.rows.map((r) => rawValue(r[m])) }));
    const chartEl = h("div", { class: "chart", role: "img", "aria-label": t("over_time") });
    const columns = [
      { key: "bucket", label: t("bucket"), value: (r) => r.bucket, cell: (r) => formatBucket(r.bucket, granularity) },
      ...metrics.map((m) => ({
        key: m,
        label: metricLabel(m),
        title: metricInfo(m).description,
        numeric: true,
        value: (r) => rawValue(r[m]),
        cell: (r) => formatMetric(metricInfo(m).unit, r[m]),
      })),
    ];
    const hasData = answer.rows.some((r) => metrics.some((m) => rawValue(r[m])));
    const content = h(
      "div",
      {},
      seriesChooser(params, metrics, wanted),
      hasData ? null : emptyNote(t("no_data_period")),
      chartEl,
      h("details", { class: "series-table" }, h("summary", { text: t("as_table") }), sortableTable(columns, answer.rows)),
    );
    content.afterMount = () => self.disposers.push(timeSeries(chartEl, labels, series));
    return content;
  }, { id: "series" });
  self.actions.append(exportButtons((format) => ({ method: "POST", path: "/v1/query/export", query: { format }, body: body() })));
  return self;
}

/** The overview's panels. */
export function overview(params) {
  return [tilesPanel(params), seriesPanel(params)];
}
