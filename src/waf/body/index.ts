// index.ts: the request parsers and body processors (types.ts BodyProcessors): query strings and
// urlencoded bodies, cookies, and the MULTIPART, JSON and XML processors with the XPath subset.
import { processorFor } from "./content-type.ts";
import { parseCookies } from "./cookies.ts";
import { parseJson } from "./json.ts";
import { parseMultipart } from "./multipart.ts";
import type { BodyLimits, BodyProcessorName, BodyProcessors, BodyResult } from "./types.ts";
import { parseQuery } from "./urlencoded.ts";
import { parseXml } from "./xml.ts";
import { xpath } from "./xpath.ts";

export type * from "./types.ts";
export { XPathError, compileXPath } from "./xpath.ts";

/** parseUrlencoded runs the URLENCODED processor: the pairs, an invalid %-escape flagged as
 * URLENCODED_ERROR, and SecArgumentsLimit as an error that keeps the first maxArgs pairs. */
function parseUrlencoded(body: string, limits: BodyLimits): BodyResult {
  const { pairs, invalid } = parseQuery(body);
  const out: BodyResult = { args: pairs, files: [], flags: { URLENCODED_ERROR: invalid ? "1" : "0" } };
  if (pairs.length > limits.maxArgs) {
    out.args = pairs.slice(0, limits.maxArgs);
    out.error = `URLENCODED: more than ${limits.maxArgs} arguments (SecArgumentsLimit)`;
  }
  return out;
}

/** parseBody runs one processor on a whole (or limit-truncated) body. */
function parseBody(
  processor: BodyProcessorName,
  text: string,
  contentType: string | undefined,
  limits: BodyLimits,
): BodyResult {
  switch (processor) {
    case "URLENCODED":
      return parseUrlencoded(text, limits);
    case "MULTIPART":
      return parseMultipart(text, contentType, limits);
    case "JSON":
      return parseJson(text, limits);
    case "XML":
      return parseXml(text, limits);
  }
}

/** body is the BodyProcessors the engine uses. */
export const body: BodyProcessors = { parseQuery, parseCookies, processorFor, parseBody, xpath };
