// index.ts: the request parsers and body processors (types.ts BodyProcessors). PLACEHOLDER until
// they land: every call throws.
import type { BodyProcessors } from "./types.ts";

export type * from "./types.ts";

const missing = (): never => {
  throw new Error("waf body processors are not implemented yet");
};

/** body is the BodyProcessors the engine uses. */
export const body: BodyProcessors = {
  parseQuery: missing,
  parseCookies: missing,
  processorFor: missing,
  parseBody: missing,
  xpath: missing,
};
