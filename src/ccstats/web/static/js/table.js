// Sortable tables: click a column heading to sort by it, again to reverse. Cells are built with
// `h` (text only); sorting uses each column's raw value, not its formatted text.

import { h, replace } from "./dom.js";
import { locale, t } from "./i18n.js";

function compare(a, b) {
  const emptyA = a === null || a === undefined || Number.isNaN(a);
  const emptyB = b === null || b === undefined || Number.isNaN(b);
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1; // empty last, either way
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), locale());
}

/**
 * A table of `rows` with `columns` ({key, label, title, value(row), cell(row), numeric}).
 * `sort` is the initial {key, desc}.
 */
export function sortableTable(columns, rows, { sort = null, className, empty } = {}) {
  let state = sort;
  const head = h("thead");
  const body = h("tbody");
  const table = h("table", { class: ["data", className] }, head, body);

  function sorted() {
    if (!state) return rows;
    const column = columns.find((c) => c.key === state.key);
    if (!column) return rows;
    const value = column.value || ((row) => row[column.key]);
    const out = [...rows].sort((x, y) => compare(value(x), value(y)) * (state.desc ? -1 : 1));
    // Empty values stay last whichever the direction.
    return out.sort((x, y) => {
      const ex = value(x) === null || value(x) === undefined;
      const ey = value(y) === null || value(y) === undefined;
      return ex === ey ? 0 : ex ? 1 : -1;
    });
  }

  function draw() {
    replace(
      head,
      h(
        "tr",
        {},
        columns.map((column) => {
          const active = state && state.key === column.key;
          const ariaSort = active ? (state.desc ? "descending" : "ascending") : "none";
          const button = h(
            "button",
            {
              type: "button",
              class: "sort",
              title: column.title || t("sort_by", { name: column.label }),
              onclick: () => {
                state = { key: column.key, desc: active ? !state.desc : column.numeric !== false && column.numeric };
                draw();
              },
            },
            column.label,
            h("span", { class: "sort-mark", "aria-hidden": "true", text: active ? (state.desc ? " ▼" : " ▲") : "" }),
          );
          return h("th", { class: column.numeric ? "num" : null, "aria-sort": ariaSort, "data-key": column.key }, button);
        }),
      ),
    );
    const list = sorted();
    if (!list.length) {
      replace(body, h("tr", {}, h("td", { colspan: columns.length, class: "empty", text: empty || t("no_data") })));
      return;
    }
    replace(
      body,
      list.map((row) =>
        h(
          "tr",
          {},
          columns.map((column) =>
            h("td", { class: column.numeric ? "num" : null, "data-key": column.key }, column.cell ? column.cell(row) : row[column.key]),
          ),
        ),
      ),
    );
  }

  draw();
  return table;
}
