// Building the page from data without ever parsing data as HTML.
//
// `h(tag, props, ...children)` makes an element: strings and numbers become text nodes, so a
// tenant's agent called `<img src=x onerror=...>` shows as those characters. Properties are set
// as DOM properties or attributes, never as markup; links only take http(s), relative or
// fragment URLs.

const SAFE_URL = /^(?:#|\/(?!\/)|\?|https?:\/\/)/i;

/** Is `url` a link we may put in an href (no `javascript:` or `data:`)? */
export function safeUrl(url) {
  return typeof url === "string" && SAFE_URL.test(url.trim());
}

function setProp(el, key, value) {
  if (value === undefined || value === null || value === false) return;
  if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
  else if (key === "text") el.textContent = String(value);
  else if (key === "dataset") Object.assign(el.dataset, value);
  else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
  else if (key === "href" || key === "src") {
    if (!safeUrl(String(value))) throw new Error(`refusing unsafe URL in ${key}`);
    el.setAttribute(key, String(value));
  } else if (key === "value" || key === "checked" || key === "selected" || key === "disabled") el[key] = value;
  else if (key === "hidden") el.hidden = Boolean(value);
  else el.setAttribute(key, value === true ? "" : String(value));
}

/** A new element with properties and children (text for strings). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) setProp(el, key, value);
  append(el, children);
  return el;
}

/** Append children: nodes as they are, strings and numbers as text, arrays flattened. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** The element with this id. */
export function byId(id) {
  return document.getElementById(id);
}
