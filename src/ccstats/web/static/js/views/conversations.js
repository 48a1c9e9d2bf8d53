// Drill-down: the conversations behind a number (GET /v1/conversations with the same period,
// filters and measure), page by page, and one conversation with its transcript.

import { get, post } from "../api.js";
import { h, replace } from "../dom.js";
import { formatCount, formatDateTime, formatDuration } from "../format.js";
import { t } from "../i18n.js";
import { noteAnswer, panel } from "../panel.js";
import { metricInfo, resolvePeriod, routeHref, sharedParams } from "../state.js";
import { sortableTable } from "../table.js";
import { agentName, botName, emptyNote, exportButtons, metricLabel } from "./common.js";

const CONTROLS = new Set(["p", "from", "to", "channel", "metric", "sort"]);
const FIELDS = [
  "id",
  "created_at",
  "channel",
  "direction",
  "agent_id",
  "agent_name",
  "customer_id",
  "customer_name",
  "customer_phone",
  "queue_name",
  "campaign_name",
  "access_code",
  "bot_name",
  "duration_s",
  "dial_status",
  "end_reason",
  "csat_score",
  "msg_count",
  "source",
];
const SORTS = { newest: "-created_at", oldest: "created_at", longest: "-duration_s" };
const PAGE = 50;

/** Field filters of the URL (`agent_id=...`), the channel included; "" stands for a missing value. */
function fieldFilters(params) {
  const out = {};
  for (const [key, value] of params) {
    if (key === "channel" && value) out.channel = value;
    if (!CONTROLS.has(key)) out[key] = value;
  }
  return out;
}

function searchQuery(params, extra = {}) {
  const period = resolvePeriod(params);
  const query = { from: period.from, to: period.to, sort: SORTS[params.get("sort")] || SORTS.newest, ...fieldFilters(params), ...extra };
  if (params.get("metric")) query.metric = params.get("metric");
  return query;
}

function who(row) {
  return row.customer_name || row.customer_phone || row.customer_id || "–";
}

function where(row) {
  return row.queue_name || row.campaign_name || row.bot_name || (row.access_code ? botName(row.access_code) : "–");
}

function listColumns(params) {
  const back = sharedParams(params);
  return [
    {
      key: "created_at",
      label: t("time"),
      cell: (r) => h("a", { href: routeHref("conversation", { ...back, back: location.hash.slice(1) }, r.id), class: "open" }, formatDateTime(r.created_at)),
    },
    { key: "channel", label: t("channel"), cell: (r) => t(`channel.${r.channel}`) },
    { key: "direction", label: t("direction"), cell: (r) => t(`direction.${r.direction}`) },
    { key: "agent", label: t("agent"), value: (r) => r.agent_id, cell: (r) => (r.agent_id ? agentName(r.agent_id, r.agent_name) : "–") },
    { key: "customer", label: t("customer"), value: who, cell: who },
    { key: "where", label: t("queue_or_campaign"), value: where, cell: where },
    { key: "duration_s", label: t("duration"), numeric: true, cell: (r) => formatDuration(r.duration_s) },
    { key: "status", label: t("status"), value: (r) => r.dial_status || r.end_reason, cell: (r) => r.dial_status || r.end_reason || "–" },
    { key: "csat_score", label: t("kpi.csat"), numeric: true, cell: (r) => (r.csat_score === null ? "–" : String(r.csat_score)) },
    { key: "msg_count", label: t("messages"), numeric: true, cell: (r) => formatCount(r.msg_count) },
    { key: "source", label: t("source"), cell: (r) => r.source || "–" },
  ];
}

function chips(params) {
  const items = [];
  const metric = params.get("metric");
  if (metric) items.push([t("measure"), metricLabel(metric), metricInfo(metric).description]);
  for (const [key, value] of Object.entries(fieldFilters(params))) {
    const shown = value === "" ? t("none") : key === "agent_id" ? agentName(value) : value;
    items.push([t(`field.${key}`, {}, key), shown, null]);
  }
  return h(
    "p",
    { class: "chips" },
    items.map(([name, value, title]) => h("span", { class: "chip", title }, h("span", { class: "muted", text: name + ": " }), value)),
  );
}

async function total(params) {
  const period = resolvePeriod(params);
  const filters = {};
  for (const [key, value] of Object.entries(fieldFilters(params))) filters[key] = value === "" ? null : value;
  const metric = params.get("metric");
  const counted = metric && metricInfo(metric).kind === "count" ? metric : "conversations";
  if (metric && counted !== metric) return null; // a sum's rows: no count to show
  const answer = await post("/v1/query", { metrics: [counted], from: period.from, to: period.to, filters });
  return answer.rows[0][counted];
}

/** The conversation list's panels. */
export function conversations(params) {
  const self = panel(t("conversations"), async () => {
    const [page, count] = await Promise.all([get("/v1/conversations", searchQuery(params, { limit: PAGE, fields: FIELDS.join(",") })), total(params)]);
    noteAnswer(page);
    const rows = [...page.rows];
    const tableSlot = h("div", { class: "table-wrap" });
    const columns = listColumns(params);
    const draw = () => replace(tableSlot, sortableTable(columns, rows, { empty: t("no_conversations"), className: "conversations" }));
    draw();
    let cursor = page.next_cursor;
    const more = h("button", {
      type: "button",
      id: "load-more",
      hidden: !cursor,
      text: t("load_more"),
      onclick: async () => {
        more.disabled = true;
        try {
          const next = await get("/v1/conversations", searchQuery(params, { limit: PAGE, fields: FIELDS.join(","), cursor }));
          rows.push(...next.rows);
          cursor = next.next_cursor;
          more.hidden = !cursor;
          draw();
        } catch (error) {
          replace(moreStatus, h("span", { class: "error", text: `${t("error")}: ${error.message}` }));
        } finally {
          more.disabled = false;
        }
      },
    });
    const moreStatus = h("span", { role: "status" });
    const sort = h(
      "select",
      {
        id: "sort",
        "aria-label": t("sort"),
        onchange: (event) => {
          const next = new URLSearchParams(params);
          next.set("sort", event.target.value);
          location.hash = routeHref("conversations", next);
        },
      },
      Object.keys(SORTS).map((key) => h("option", { value: key, selected: (params.get("sort") || "newest") === key }, t(`sort.${key}`))),
    );
    const summary = h(
      "p",
      { class: "count", "data-count": count ?? "" },
      count === null ? "" : t("n_conversations", { n: formatCount(count) }),
    );
    return h(
      "div",
      {},
      chips(params),
      h("div", { class: "row" }, summary, h("label", { class: "inline" }, h("span", { text: t("sort") }), sort)),
      rows.length ? null : emptyNote(t("no_conversations")),
      tableSlot,
      h("p", {}, more, moreStatus),
    );
  }, { id: "conversations" });
  self.actions.append(
    exportButtons((format) => ({ method: "GET", path: "/v1/conversations", query: searchQuery(params, { format, fields: FIELDS.join(",") }) })),
  );
  return [self];
}

// -- one conversation -------------------------------------------------------------------------

const TIME = /_at$/;
// What a supervisor looks for first; every other field with a value follows.
const FIRST_FACTS = [
  "id",
  "channel",
  "direction",
  "created_at",
  "answered_at",
  "ended_at",
  "duration_s",
  "queue_duration_s",
  "agent_id",
  "customer_name",
  "customer_phone",
  "customer_id",
  "queue_name",
  "access_code",
  "bot_name",
  "campaign_name",
  "dial_status",
  "end_reason",
  "csat_score",
];
const SECONDS = /_s$/;

function factValue(key, value) {
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  if (TIME.test(key)) return formatDateTime(value);
  if (SECONDS.test(key) && typeof value === "number") return formatDuration(value);
  if (key === "agent_id") return agentName(value);
  return String(value);
}

function transcript(messages) {
  if (!messages.length) return emptyNote(t("no_transcript"));
  return h(
    "ol",
    { class: "transcript" },
    messages.map((m) =>
      h(
        "li",
        { class: ["msg", `from-${m.sender}`] },
        h(
          "div",
          { class: "msg-head" },
          h("span", { class: "sender", text: m.sender === "agent" && m.agent_id ? `${t("sender.agent")} · ${agentName(m.agent_id)}` : t(`sender.${m.sender}`) }),
          h("time", { class: "muted", datetime: m.sent_at || "", text: m.sent_at ? formatDateTime(m.sent_at) : "" }),
          m.bot_outcome ? h("span", { class: "badge", text: t(`outcome.${m.bot_outcome}`) }) : null,
        ),
        h("div", { class: "msg-text", text: m.text ?? "" }),
      ),
    ),
  );
}

/** The detail view's panels: the facts of one conversation and its transcript. */
export function conversation(params, id) {
  const back = params.get("back");
  const self = panel(t("conversation"), async () => {
    const answer = await get(`/v1/conversations/${encodeURIComponent(id)}`);
    noteAnswer(answer);
    const record = answer.conversation;
    const first = new Set(FIRST_FACTS);
    const facts = [...FIRST_FACTS.filter((key) => key in record).map((key) => [key, record[key]]), ...Object.entries(record).filter(([key]) => !first.has(key))].filter(
      ([key, value]) => key !== "messages" && value !== null && value !== "",
    );
    return h(
      "div",
      { class: "detail" },
      h("p", {}, h("a", { href: back ? `#${back}` : routeHref("conversations", sharedParams(params)), class: "back", text: "← " + t("back") })),
      h("div", { class: "detail-grid" },
        h("section", { class: "facts" }, h("h3", { text: t("facts") }), h("dl", {}, facts.map(([key, value]) => [h("dt", { text: t(`field.${key}`, {}, key), title: key }), h("dd", { "data-field": key }, factValue(key, value))]))),
        h("section", { class: "talk" }, h("h3", { text: t("transcript") }), transcript(record.messages || [])),
      ),
    );
  }, { id: "conversation" });
  return [self];
}
