import type { ElementInfo, FormInfo } from '@storepulse/contracts';
import { isSensitiveField } from '../core/privacy.ts';

const attr = (el: Element, name: string) => el.getAttribute(name) ?? undefined;
const cap = (s: string | null | undefined, n: number) => (s ? s.replace(/\s+/g, ' ').trim().slice(0, n) : undefined) || undefined;

/** Ids that frameworks generate (long digits, hashes) change between builds: not stable. */
const stableId = (id: string | null) => (id && /^[A-Za-z][\w-]{0,63}$/.test(id) && !/\d{4,}/.test(id) ? id : '');

/** A short CSS selector that survives re-renders: up to 4 levels, stops at a stable id. */
export function cssSelector(el: Element): string {
  const parts: string[] = [];
  let cur: Element | null = el;
  while (cur && cur.nodeType === 1 && parts.length < 4) {
    const id = stableId(cur.getAttribute('id'));
    if (id) {
      parts.unshift(`#${id}`);
      break;
    }
    const tag = cur.tagName.toLowerCase();
    if (tag === 'html' || tag === 'body') {
      parts.unshift(tag);
      break;
    }
    let seg = tag;
    let n = 1;
    for (let sib = cur.previousElementSibling; sib; sib = sib.previousElementSibling) if (sib.tagName === cur.tagName) n++;
    if (n > 1) seg += `:nth-of-type(${n})`;
    parts.unshift(seg);
    cur = cur.parentElement;
  }
  return parts.join(' > ');
}

function closestAttr(el: Element, name: string): string | undefined {
  const host = el.closest(`[${name}]`);
  return host ? cap(attr(host, name), 128) : undefined;
}

export function elementInfo(el: Element): ElementInfo {
  const tag = el.tagName.toLowerCase();
  const input = tag === 'input';
  const info: ElementInfo = {
    tag: tag.slice(0, 32),
    id: cap(attr(el, 'id'), 128),
    classes: cap(attr(el, 'class'), 120),
    // an input's only "text" is its value: report it for buttons, never for fields
    text: cap(
      input ? (/^(submit|button|reset)$/i.test((el as HTMLInputElement).type) ? (el as HTMLInputElement).value : '') : el.textContent,
      80,
    ),
    href: tag === 'a' ? cap((el as HTMLAnchorElement).href, 500) : undefined,
    selector: cssSelector(el).slice(0, 500),
    product_id: closestAttr(el, 'data-product-id'),
    promotion_id: closestAttr(el, 'data-promotion-id'),
    category: closestAttr(el, 'data-category'),
  };
  // undefined fields vanish in JSON.stringify
  return info;
}

type Field = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

const fieldLike = (f: Field) => ({ type: f.type, name: f.name, id: f.id, autocomplete: f.getAttribute('autocomplete') });

/** Field names (no sensitive ones) and values of allowed fields only. */
export function formInfo(form: HTMLFormElement, allowValues: readonly string[]): FormInfo {
  const info: FormInfo = {
    id: cap(attr(form, 'id'), 128),
    name: cap(attr(form, 'name'), 128),
    action: cap(attr(form, 'action'), 2000),
  };
  const fields: string[] = [];
  const values: Record<string, string> = {};
  for (const node of Array.from(form.elements)) {
    const f = node as Field;
    if (!f.name || !('value' in f) || isSensitiveField(fieldLike(f))) continue;
    if (!fields.includes(f.name)) fields.push(f.name.slice(0, 128));
    const allowed = allowValues.includes(f.name) || f.hasAttribute('data-sp-capture');
    if (!allowed || ((f.type === 'checkbox' || f.type === 'radio') && !(f as HTMLInputElement).checked)) continue;
    const v = cap(f.value, 200);
    if (v) values[f.name.slice(0, 64)] = v;
  }
  info.fields = fields.slice(0, 50);
  if (Object.keys(values).length) info.values = values;
  return info;
}

/** The field's value when it is a search input (type=search or the configured selector). */
export function isSearchInput(el: Element | null, selector: string): el is HTMLInputElement {
  return !!el && el.tagName === 'INPUT' && el.matches(selector) && !isSensitiveField(fieldLike(el as HTMLInputElement));
}

/** The keyword of a search form: its search input, or a field named like a search parameter. */
export function searchFormKeyword(form: HTMLFormElement, selector: string, params: readonly string[]): string | null {
  const input = form.querySelector(selector) as HTMLInputElement | null;
  if (input) return input.value;
  for (const p of params) {
    const f = form.elements.namedItem(p);
    if (f instanceof HTMLInputElement && /^(text|search|)$/i.test(f.type)) return f.value;
  }
  return null;
}
