// Charts with Apache ECharts (vendored: /static/vendor/echarts). Labels are drawn on a canvas and
// tooltips are built as DOM nodes with text, so tenant names never pass through HTML.

import { h } from "./dom.js";
import { formatCount, formatDuration, formatPercent } from "./format.js";
import { t } from "./i18n.js";

const AXES = {
  count: { format: (v) => formatCount(v), label: () => t("axis_count") },
  ratio: { format: (v) => formatPercent(v, 0), label: () => t("axis_percent") },
  seconds: { format: (v) => formatDuration(v), label: () => t("axis_duration") },
};

/** The axis kind of a catalogue unit. */
export function axisOf(unit) {
  return unit === "ratio" ? "ratio" : unit === "seconds" ? "seconds" : "count";
}

/** A value as the tooltip shows it, by its catalogue unit. */
function tooltipValue(unit, value) {
  if (value === null || value === undefined) return "–";
  if (unit === "ratio") return formatPercent(value);
  if (unit === "seconds") return formatDuration(value);
  return formatCount(value, 2);
}

function echartsLib() {
  if (!window.echarts) throw new Error(t("chart_missing"));
  return window.echarts;
}

function tooltipNode(title, items) {
  return h(
    "div",
    { class: "chart-tip" },
    h("div", { class: "chart-tip-title", text: title }),
    items.map((item) => {
      const swatch = h("span", { class: "swatch" });
      swatch.style.backgroundColor = item.color; // a CSSOM property, allowed by the page's CSP
      return h("div", { class: "chart-tip-row" }, swatch, h("span", { class: "chart-tip-name", text: item.name }), h("span", { class: "chart-tip-value", text: item.value }));
    }),
  );
}

function mount(el, option) {
  const chart = echartsLib().init(el, null, { renderer: "canvas" });
  chart.setOption(option);
  const resize = () => chart.resize();
  window.addEventListener("resize", resize);
  return () => {
    window.removeEventListener("resize", resize);
    chart.dispose();
  };
}

const BASE = {
  animation: false,
  textStyle: { fontFamily: "system-ui, sans-serif" },
  grid: { left: 16, right: 16, top: 48, bottom: 16, containLabel: true },
};

/**
 * A time series: `labels` (one per bucket, every bucket, empty ones included) and `series`
 * [{name, unit, values}]; volumes as bars, rates and averages as lines, one y axis per unit.
 */
export function timeSeries(el, labels, series) {
  const kinds = [...new Set(series.map((s) => axisOf(s.unit)))];
  const yAxis = kinds.map((kind, i) => ({
    type: "value",
    name: AXES[kind].label(),
    position: i === 0 ? "left" : "right",
    offset: i > 1 ? 70 * (i - 1) : 0,
    min: 0,
    max: kind === "ratio" ? 1 : undefined,
    axisLabel: { formatter: AXES[kind].format },
    splitLine: { show: i === 0 },
    axisLine: { show: true },
  }));
  const option = {
    ...BASE,
    grid: { ...BASE.grid, right: 16 + 70 * Math.max(0, kinds.length - 2) },
    legend: { top: 0, type: "scroll" },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (params) =>
        tooltipNode(
          params[0] ? labels[params[0].dataIndex] : "",
          params.map((p) => ({ color: p.color, name: p.seriesName, value: tooltipValue(series[p.seriesIndex].unit, p.value) })),
        ),
    },
    xAxis: { type: "category", data: labels, axisTick: { alignWithLabel: true } },
    yAxis,
    series: series.map((s) => {
      const kind = axisOf(s.unit);
      return {
        name: s.name,
        type: kind === "count" ? "bar" : "line",
        yAxisIndex: kinds.indexOf(kind),
        data: s.values,
        connectNulls: false,
        showSymbol: true,
        symbolSize: 5,
        barMaxWidth: 28,
      };
    }),
  };
  return mount(el, option);
}

/** Bars per category: `series` [{name, values}], stacked when asked, horizontal when asked. */
export function bars(el, categories, series, { stacked = false, horizontal = false, unit = "count" } = {}) {
  const valueAxis = { type: "value", min: 0, axisLabel: { formatter: AXES[axisOf(unit)].format } };
  const categoryAxis = { type: "category", data: categories, axisLabel: { width: 160, overflow: "truncate" } };
  const option = {
    ...BASE,
    legend: { top: 0, type: "scroll" },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (params) =>
        tooltipNode(
          params[0] ? categories[params[0].dataIndex] : "",
          params.map((p) => ({ color: p.color, name: p.seriesName, value: tooltipValue(unit, p.value) })),
        ),
    },
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
    series: series.map((s) => ({ name: s.name, type: "bar", stack: stacked ? "all" : undefined, data: s.values, barMaxWidth: 28 })),
  };
  return mount(el, option);
}
