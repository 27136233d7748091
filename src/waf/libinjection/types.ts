// types.ts: the contract of src/waf/libinjection: libinjection's SQLi and XSS detectors, with its
// behaviour (tokenizer, folding, fingerprint set; HTML5 tokenizer with its black lists), as
// `@detectSQLi` and `@detectXSS` use them. Inputs are binary strings (one char per byte).

/** SqliResult: whether the input is SQLi and the 1–5 char fingerprint libinjection found ("s&sos"). */
export interface SqliResult {
  sqli: boolean;
  fingerprint: string;
}

/** Libinjection is what src/waf/libinjection/index.ts exports. */
export interface Libinjection {
  /** detectSqli runs libinjection_sqli (all its contexts: as is, single- and double-quoted). */
  detectSqli(input: string): SqliResult;
  /** detectXss runs libinjection_xss (all five HTML5 contexts). */
  detectXss(input: string): boolean;
}
