// Agents: one sortable row per agent (POST /v1/agent-summary): sessions, AHT, first response,
// CSAT from the conversations; logged-in time, occupancy and time per status from agent intervals.

import { post } from "../api.js";
import { h } from "../dom.js";
import { formatCount, formatDuration, formatPercent, rawValue } from "../format.js";
import { t } from "../i18n.js";
import { noteAnswer, panel } from "../panel.js";
import { metricInfo } from "../state.js";
import { sortableTable } from "../table.js";
import { agentName, drillLink, emptyNote, exportButtons, requestRange } from "./common.js";

const METRICS = ["agent_sessions", "avg_handle_time", "avg_first_response", "csat"];

function columns(params, statuses) {
  const byAgent = (row) => ({ agent_id: row.agent_id });
  return [
    {
      key: "agent",
      label: t("agent"),
      value: (r) => agentName(r.agent_id, r.agent_name),
      cell: (r) => h("span", { class: "agent", title: r.agent_id }, agentName(r.agent_id, r.agent_name)),
    },
    {
      key: "agent_sessions",
      label: t("sessions"),
      title: metricInfo("agent_sessions").description,
      numeric: true,
      cell: (r) => drillLink(formatCount(r.agent_sessions), params, byAgent(r), "agent_sessions"),
    },
    {
      key: "avg_handle_time",
      label: t("kpi.aht"),
      title: metricInfo("avg_handle_time").description,
      numeric: true,
      value: (r) => rawValue(r.avg_handle_time),
      cell: (r) => formatDuration(rawValue(r.avg_handle_time)),
    },
    {
      key: "avg_first_response",
      label: t("first_response"),
      title: metricInfo("avg_first_response").description,
      numeric: true,
      value: (r) => rawValue(r.avg_first_response),
      cell: (r) => formatDuration(rawValue(r.avg_first_response)),
    },
    {
      key: "csat",
      label: t("kpi.csat"),
      title: metricInfo("csat").description,
      numeric: true,
      value: (r) => rawValue(r.csat),
      cell: (r) => formatPercent(rawValue(r.csat)),
    },
    {
      key: "logged_in_s",
      label: t("logged_in"),
      title: t("logged_in_help"),
      numeric: true,
      cell: (r) => formatDuration(r.logged_in_s),
    },
    {
      key: "occupancy",
      label: t("occupancy"),
      title: t("occupancy_help"),
      numeric: true,
      value: (r) => rawValue(r.occupancy),
      cell: (r) => formatPercent(rawValue(r.occupancy)),
    },
    ...statuses.map((s) => ({
      key: `status:${s.id}`,
      label: s.label,
      title: t("status_help", { label: s.label }),
      numeric: true,
      value: (r) => r.status_s[s.id] || 0,
      cell: (r) => formatDuration(r.status_s[s.id] || 0),
    })),
  ];
}

/** The agents view's panels. */
export function agents(params) {
  const body = () => ({ ...requestRange(params), metrics: METRICS });
  const self = panel(t("nav.agents"), async () => {
    const answer = await post("/v1/agent-summary", body());
    noteAnswer(answer);
    if (!answer.rows.length) return emptyNote(t("no_agents"));
    return h(
      "div",
      { class: "table-wrap" },
      sortableTable(columns(params, answer.statuses), answer.rows, { sort: { key: "agent_sessions", desc: true }, className: "agents" }),
    );
  }, { id: "agents" });
  self.actions.append(exportButtons((format) => ({ method: "POST", path: "/v1/agent-summary", query: { format }, body: body() })));
  return [self];
}
