// h2-response-head.ts: an HTTP/1.1 backend's response head as the HTTP/2 client gets it — names
// lower-cased, hop-by-hop fields dropped (RFC 9113 §8.2.2), repeats joined (Set-Cookie kept apart),
// the route's responseHeaders edits applied — as node's headers object (node:http2, the WAF's
// held response) or straight as the [name, value, ...] list the own codec's HPACK encoder takes,
// with no object between the backend's list and the encoder.
import type http2 from "node:http2";
import { connectionTokens, hopByHop, lowerName } from "../http/head.ts";
import type { HeaderEdits } from "./cors.ts";

/**
 * chunkedBody says whether an HTTP/1.1 response's body is chunked: the only framing that can carry
 * trailers (RFC 9112 §7.1.2), so the only one whose HTTP/2 stream must wait for them.
 */
export function chunkedBody(headers: readonly string[]): boolean {
  let chunked = false;
  // Several Transfer-Encoding fields are one list: chunked must be the last coding of the last one.
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === 17 && headers[i]!.toLowerCase() === "transfer-encoding")
      chunked = /(^|,)\s*chunked\s*$/i.test(headers[i + 1]!);
  }
  return chunked;
}

/** responseHeaders turns an HTTP/1.1 response's headers into HTTP/2 ones (lower-case, no hop-by-hop). */
export function responseHeaders(
  hs: readonly string[],
  edits: HeaderEdits | undefined,
): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  eachKept(hs, edits, out, joinInto);
  addEdits(out, edits);
  return out;
}

// joinInto adds name: value to a headers object, joined by ", " to a value already there (Set-Cookie
// values are never joined, RFC 9110 §5.3: each stays a field of its own).
function joinInto(out: http2.OutgoingHttpHeaders, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (name === "set-cookie") out[name] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  else out[name] = `${String(prev)}, ${value}`;
}

/** addEdits writes the set and add edits into HTTP/2 headers out (set and removed names already gone). */
export function addEdits(out: http2.OutgoingHttpHeaders, edits: HeaderEdits | undefined): void {
  for (const x of edits?.set ?? []) out[x.name.toLowerCase()] = x.value;
  for (const x of edits?.add ?? []) joinInto(out, x.name.toLowerCase(), x.value);
}

/**
 * responseFields is responseHeaders as a flat list [name, value, ...] (status not included): the
 * same fields in the backend's order, for FrontStream.respondFields.
 */
export function responseFields(hs: readonly string[], edits: HeaderEdits | undefined): string[] {
  const out: FieldList = [];
  eachKept(hs, edits, out, appendField);
  if (edits === undefined) return out;
  // A later set of the same name wins, in the first one's place (as in the object).
  for (const x of edits.set ?? []) {
    const name = x.name.toLowerCase();
    const at = fieldAt(out, name);
    if (at === -1) pushField(out, name, x.value);
    else out[at + 1] = x.value;
  }
  for (const x of edits.add ?? []) appendField(out, x.name.toLowerCase(), x.value);
  return out;
}

// FieldList is the list being built, with an index of each name's first field once it is long:
// a scan per field is quadratic, and the backend chooses how many fields it sends (a 16 KiB head
// holds ~2,700 of them: ~14 ms of scanning per response, the whole process stalled meanwhile).
type FieldList = string[] & { firstAt?: Map<string, number> };
const SCAN_FIELDS = 16;

// fieldAt is the index of name's first field in out, -1 when none.
function fieldAt(out: FieldList, name: string): number {
  if (out.firstAt !== undefined) return out.firstAt.get(name) ?? -1;
  for (let j = 0; j < out.length; j += 2) if (out[j] === name) return j;
  return -1;
}

// pushField appends a field, indexing names once the list is longer than a scan is cheap.
function pushField(out: FieldList, name: string, value: string): void {
  out.push(name, value);
  if (out.firstAt !== undefined) {
    if (!out.firstAt.has(name)) out.firstAt.set(name, out.length - 2);
  } else if (out.length > 2 * SCAN_FIELDS) {
    out.firstAt = new Map();
    for (let j = out.length - 2; j >= 0; j -= 2) out.firstAt.set(out[j]!, j);
  }
}

// appendField adds name: value to out, joined by ", " to a field of that name already there
// (Set-Cookie values are never joined, RFC 9110 §5.3: each stays a field of its own).
function appendField(out: FieldList, name: string, value: string): void {
  const at = name === "set-cookie" ? -1 : fieldAt(out, name);
  if (at === -1) pushField(out, name, value);
  else out[at + 1] = `${out[at + 1]}, ${value}`;
}

/**
 * eachKept hands keep(out, name, value) every field of an HTTP/1.1 head hs the HTTP/2 client gets,
 * in the backend's order: names lower-cased; hop-by-hop fields (RFC 9113 §8.2.2, content-length
 * kept), those Connection lists and the names edits set or remove dropped.
 */
function eachKept<T>(
  hs: readonly string[],
  edits: HeaderEdits | undefined,
  out: T,
  keep: (out: T, name: string, value: string) => void,
): void {
  let listed: string[] | undefined;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i]!;
    if (n.length !== 10 || lowerName(n) !== "connection") continue;
    const v = hs[i + 1]!;
    // The usual values name no field but hop-by-hop ones, dropped anyway: nothing to parse.
    if (v !== "keep-alive" && v !== "close") (listed ??= []).push(...connectionTokens(v));
  }
  let dropped: Set<string> | undefined;
  if (edits !== undefined) {
    dropped = new Set<string>();
    for (const x of edits.set ?? []) dropped.add(x.name.toLowerCase());
    for (const n of edits.remove ?? []) dropped.add(n.toLowerCase());
  }
  for (let i = 0; i < hs.length; i += 2) {
    // Memoised: the parser hands out the same name strings, so no new string per field.
    const l = lowerName(hs[i]!);
    if ((hopByHop.has(l) && l !== "content-length") || listed?.includes(l) || dropped?.has(l) === true)
      continue;
    keep(out, l, hs[i + 1]!);
  }
}
