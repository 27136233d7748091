// hostnames.ts: one spelling per hostname. Names compare case-insensitively and internationalised
// names by their ASCII (IDNA) form, so "Shop.Example.com", "shop.example.com." and "shop.example.com"
// are one claim (contour#3230: names differing only in case broke every later configuration).
import { domainToASCII } from "node:url";

/** normaliseHost lowercases a hostname, drops a final dot and turns Unicode labels into IDNA ("xn--"). */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.endsWith(".")) h = h.slice(0, -1);
  const wild = h.startsWith("*.");
  const rest = wild ? h.slice(2) : h;
  // domainToASCII answers "" for what is not a domain name; such a name is kept as written and
  // refused by the pass that reads it (InvalidHost), not here.
  const ascii = isAscii(rest) ? rest : domainToASCII(rest) || rest;
  return wild ? `*.${ascii}` : ascii;
}

/** isAscii tells whether every character of s is 7-bit. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** domainCovers tells whether a tenant domain ("shop.example.com" or "*.example.com") covers a host
 * (itself a name or a wildcard): a wildcard domain covers every name below it, at any depth. */
export function domainCovers(domain: string, host: string): boolean {
  if (domain === host) return true;
  if (!domain.startsWith("*.")) return false;
  return host.endsWith(domain.slice(1));
}

/** domainRank orders covering domains: an exact name beats any wildcard, a longer wildcard a shorter one. */
export function domainRank(domain: string): number {
  return domain.startsWith("*.") ? domain.length : 10_000 + domain.length;
}
