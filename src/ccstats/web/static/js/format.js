// Numbers, durations, percentages and times as people read them, in the page's language.
// Values arrive computed and rounded by the server (ratios with their parts); this only formats.

import { locale } from "./i18n.js";

const DASH = "–";

/** The value of a metric answer: ratios arrive as {value, numerator, denominator}. */
export function rawValue(answer) {
  if (answer && typeof answer === "object") return answer.value;
  return answer;
}

/** 12 345 (thousands separators of the page's language). */
export function formatCount(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

/** An amount with exactly two decimals: 1234.5 -> 1,234.50. */
export function formatAmount(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}

/** 0.8333 -> 83.3 % */
export function formatPercent(value, digits = 1) {
  if (value === null || value === undefined) return DASH;
  return new Intl.NumberFormat(locale(), {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

/** Seconds as m:ss, or h:mm:ss from an hour on (rounded half up to whole seconds). */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  const sign = seconds < 0 ? "-" : "";
  const total = Math.floor(Math.abs(seconds) + 0.5);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${sign}${formatCount(h)}:${String(m).padStart(2, "0")}:${s}` : `${sign}${m}:${s}`;
}

/** A metric value by the catalogue unit: ratios as percentages, seconds as durations, amounts
 * with two decimals (the records' own currency: none is named or converted). */
export function formatMetric(unit, answer) {
  const value = rawValue(answer);
  if (unit === "ratio") return formatPercent(value);
  if (unit === "seconds") return formatDuration(value);
  if (unit === "epoch_ms") return value ? formatDateTime(value) : DASH;
  if (unit === "currency") return formatAmount(value);
  return formatCount(value, unit === "turns" ? 2 : 0);
}

/** The change between two periods: relative for counts, in points for rates, seconds for times. */
export function formatChange(unit, change) {
  if (!change || change.difference === null || change.difference === undefined) return DASH;
  const d = change.difference;
  const sign = d > 0 ? "+" : d < 0 ? "−" : "±";
  if (unit === "ratio") {
    return `${sign}${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(Math.abs(d) * 100)} pp`;
  }
  if (unit === "seconds") return `${sign}${formatDuration(Math.abs(d))}`;
  if (change.relative === null || change.relative === undefined) return `${sign}${formatCount(Math.abs(d))}`;
  return `${sign}${formatPercent(Math.abs(change.relative))}`;
}

let zone = "UTC";

/** Format times in this IANA zone (the tenant's). */
export function setZone(name) {
  zone = name || "UTC";
}

/** The tenant's zone. */
export function currentZone() {
  return zone;
}

/** A time (ISO 8601 or epoch ms) as a local date and time in the tenant's zone. */
export function formatDateTime(value, options = {}) {
  if (value === null || value === undefined || value === "") return DASH;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: options.seconds === false ? undefined : "2-digit",
    hourCycle: "h23",
  }).format(date);
}

/** A bucket start (tenant-local ISO with offset) labelled for its granularity. */
export function formatBucket(iso, granularity) {
  const date = new Date(iso);
  const base = { timeZone: zone };
  const parts = {
    half_hour: { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    hour: { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    day: { year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" },
    week: { year: "numeric", month: "2-digit", day: "2-digit" },
    month: { year: "numeric", month: "long" },
    year: { year: "numeric" },
  }[granularity] || { year: "numeric", month: "2-digit", day: "2-digit" };
  return new Intl.DateTimeFormat(locale(), { ...base, ...parts }).format(date);
}

/** A local date (YYYY-MM-DD) as the page's language writes it. */
export function formatDate(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

/** "12 s ago", "3 min ago", in the page's language. */
export function formatAgo(then, now = Date.now()) {
  const seconds = Math.round((then - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto", style: "short" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}
