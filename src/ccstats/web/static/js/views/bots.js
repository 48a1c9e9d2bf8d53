// Bots and access codes: Huawei's funnel per access code (exit without consult, to an agent
// before or after consulting, consult only), containment and interface success (POST /v1/query).

import { post } from "../api.js";
import { bars } from "../chart.js";
import { h } from "../dom.js";
import { formatMetric, rawValue } from "../format.js";
import { t } from "../i18n.js";
import { noteAnswer, panel } from "../panel.js";
import { metricInfo, routeHref } from "../state.js";
import { sortableTable } from "../table.js";
import { botName, drillLink, emptyNote, exportButtons, metricLabel, requestRange } from "./common.js";

const FUNNEL = ["bot_exit_no_consult", "bot_to_agent_no_consult", "bot_to_agent_after_consult", "bot_consult_only"];
const METRICS = ["conversations", "bot_usage", ...FUNNEL, "autonomy_rate", "bot_sessions", "bot_containment", "transferred_to_agent", "bot_api_success_rate", "bot_response_rate"];
const GROUPS = { access_code: ["access_code"], bot_id: ["bot_id", "bot_name"] };

function active(row) {
  return row.bot_usage + row.bot_exit_no_consult + row.bot_sessions > 0;
}

/** The bots view's panels. */
export function bots(params) {
  const by = GROUPS[params.get("by")] ? params.get("by") : "access_code";
  const body = () => ({ metrics: METRICS, group_by: GROUPS[by], ...requestRange(params) });
  const self = panel(t("nav.bots"), async () => {
    const answer = await post("/v1/query", body());
    noteAnswer(answer);
    const rows = answer.rows.filter(active);
    const name = (r) => (by === "access_code" ? (r.access_code === null ? t("none") : botName(r.access_code)) : r.bot_name || r.bot_id || t("none"));
    const key = (r) => (by === "access_code" ? { access_code: r.access_code } : { bot_id: r.bot_id });
    const chooser = h(
      "label",
      { class: "inline" },
      h("span", { text: t("group_by") }),
      h(
        "select",
        {
          id: "bots-by",
          onchange: (event) => {
            const next = new URLSearchParams(params);
            next.set("by", event.target.value);
            location.hash = routeHref("bots", next);
          },
        },
        Object.keys(GROUPS).map((g) => h("option", { value: g, selected: g === by }, t(`by.${g}`))),
      ),
    );
    if (!rows.length) return h("div", {}, chooser, emptyNote(t("no_bots")));
    const columns = [
      { key: "name", label: t(`by.${by}`), value: name, cell: (r) => h("span", { title: by === "access_code" ? r.access_code : r.bot_id }, name(r)) },
      ...METRICS.map((m) => ({
        key: m,
        label: metricLabel(m),
        title: metricInfo(m).description,
        numeric: true,
        value: (r) => rawValue(r[m]),
        cell: (r) => (metricInfo(m).kind === "ratio" ? formatMetric(metricInfo(m).unit, r[m]) : drillLink(formatMetric("conversations", r[m]), params, key(r), m)),
      })),
    ];
    const chartEl = h("div", { class: "chart short", role: "img", "aria-label": t("funnel") });
    const content = h(
      "div",
      {},
      chooser,
      h("h3", { text: t("funnel") }),
      chartEl,
      h("div", { class: "table-wrap" }, sortableTable(columns, rows, { sort: { key: "conversations", desc: true } })),
    );
    const funnelRows = rows.filter((r) => FUNNEL.some((m) => r[m] > 0));
    content.afterMount = () =>
      self.disposers.push(
        bars(chartEl, funnelRows.map(name), FUNNEL.map((m) => ({ name: metricLabel(m), values: funnelRows.map((r) => r[m]) })), { stacked: true, horizontal: true }),
      );
    return content;
  }, { id: "bots" });
  self.actions.append(exportButtons((format) => ({ method: "POST", path: "/v1/query/export", query: { format }, body: body() })));
  return [self];
}
