// HTML built by one tagged template that escapes every interpolated value unless it is already Html.
// Commit paths, object names, messages and signer names are attacker-controlled, so nothing reaches a
// page without passing through escapeHtml; there is no other way to put text into a page.

/** Markup that is already safe: made only by `html` (or `raw` for constants written in this folder). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

function part(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (v === undefined || v === null || v === false) return "";
  if (Array.isArray(v)) return v.map(part).join("");
  if (typeof v === "string") return escapeHtml(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  // An object here is a mistake in a template; rendering "[object Object]" would hide it.
  throw new TypeError("html``: cannot interpolate an object; render it first");
}

/** `html\`<td>${name}</td>\`` — values are escaped, arrays joined, undefined/null/false dropped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += part(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** A constant written in this folder (never a value from outside). */
export function raw(markup: string): Html {
  return new Html(markup);
}
