// Campaigns (Twin24 outbound calls): calls by dial status, the answered share, transfers to an
// operator, the cost (the calls' prices added), per campaign (two POST /v1/query: the metrics, and the calls by status).

import { post } from "../api.js";
import { bars } from "../chart.js";
import { h } from "../dom.js";
import { formatCount, formatMetric, rawValue } from "../format.js";
import { t } from "../i18n.js";
import { noteAnswer, panel } from "../panel.js";
import { metricInfo } from "../state.js";
import { sortableTable } from "../table.js";
import { drillLink, emptyNote, exportButtons, metricLabel, requestRange } from "./common.js";

const METRICS = ["conversations", "dialed", "dial_answered", "dial_answer_rate", "transferred_to_agent", "agent_sessions", "avg_duration", "cost"];

/** The campaigns view's panels. */
export function campaigns(params) {
  const body = () => ({ metrics: METRICS, group_by: ["campaign_id", "campaign_name"], ...requestRange(params) });
  const self = panel(t("nav.campaigns"), async () => {
    const range = requestRange(params);
    const [answer, byStatus] = await Promise.all([
      post("/v1/query", body()),
      post("/v1/query", { metrics: ["conversations"], group_by: ["campaign_id", "dial_status"], ...range }),
    ]);
    noteAnswer(answer);
    const rows = answer.rows.filter((r) => r.campaign_id !== null);
    if (!rows.length) return emptyNote(t("no_campaigns"));
    const statuses = [...new Set(byStatus.rows.filter((r) => r.campaign_id !== null).map((r) => r.dial_status))].sort((a, b) =>
      a === null ? 1 : b === null ? -1 : a.localeCompare(b),
    );
    const calls = new Map();
    for (const r of byStatus.rows) calls.set(`${r.campaign_id}\u0000${r.dial_status}`, r.conversations);
    const count = (row, status) => calls.get(`${row.campaign_id}\u0000${status}`) || 0;
    const name = (r) => r.campaign_name || r.campaign_id;
    const columns = [
      { key: "campaign", label: t("campaign"), value: name, cell: (r) => h("span", { title: r.campaign_id }, name(r)) },
      ...METRICS.map((m) => ({
        key: m,
        label: metricLabel(m),
        title: metricInfo(m).description,
        numeric: true,
        value: (r) => rawValue(r[m]),
        cell: (r) => {
          const { kind, unit } = metricInfo(m);
          if (kind === "ratio") return formatMetric(unit, r[m]);
          // A sum of prices is no set of conversations: it opens the campaign's calls.
          if (unit === "currency") return drillLink(formatMetric(unit, r[m]), params, { campaign_id: r.campaign_id }, null);
          return drillLink(formatMetric("conversations", r[m]), params, { campaign_id: r.campaign_id }, m);
        },
      })),
      ...statuses.map((s) => ({
        key: `status:${s}`,
        label: s === null ? t("no_status") : s,
        title: t("calls_with_status", { status: s === null ? t("no_status") : s }),
        numeric: true,
        value: (r) => count(r, s),
        cell: (r) => drillLink(formatCount(count(r, s)), params, { campaign_id: r.campaign_id, dial_status: s }, null),
      })),
    ];
    const chartEl = h("div", { class: "chart short", role: "img", "aria-label": t("calls_by_status") });
    const content = h(
      "div",
      {},
      h("h3", { text: t("calls_by_status") }),
      chartEl,
      h("div", { class: "table-wrap" }, sortableTable(columns, rows, { sort: { key: "conversations", desc: true } })),
    );
    content.afterMount = () =>
      self.disposers.push(
        bars(chartEl, rows.map(name), statuses.map((s) => ({ name: s === null ? t("no_status") : s, values: rows.map((r) => count(r, s)) })), {
          stacked: true,
          horizontal: true,
        }),
      );
    return content;
  }, { id: "campaigns" });
  self.actions.append(exportButtons((format) => ({ method: "POST", path: "/v1/query/export", query: { format }, body: body() })));
  return [self];
}
