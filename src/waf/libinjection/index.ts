// index.ts: libinjection's SQLi and XSS detectors (types.ts). PLACEHOLDER until the port lands:
// both throw, so a rule set using @detectSQLi/@detectXSS cannot silently pass everything.
import type { SqliResult } from "./types.ts";

export type { SqliResult, Libinjection } from "./types.ts";

/** detectSqli: see types.ts Libinjection.detectSqli. */
export function detectSqli(_input: string): SqliResult {
  throw new Error("libinjection: detectSqli is not implemented yet");
}

/** detectXss: see types.ts Libinjection.detectXss. */
export function detectXss(_input: string): boolean {
  throw new Error("libinjection: detectXss is not implemented yet");
}
