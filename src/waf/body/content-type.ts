// content-type.ts: which body processor a Content-Type selects. ModSecurity and Coraza pick only
// URLENCODED and MULTIPART by themselves and leave JSON and XML to the recommended rules 200000,
// 200001 and 200006 (ctl:requestBodyProcessor); Portico's engine asks here for all four so a
// policy without those rules still parses JSON and XML. The matches follow those rules:
// `application/json`, `application/<x>+json`, `text/xml`, `application/xml`, `application/<x>+xml`
// (`application/soap+xml` among them). multipart/related and multipart/mixed are not form data
// (ModSecurity refuses them as "Invalid MIME type"), so they get no processor.
import type { BodyProcessorName } from "./types.ts";

/** mediaType is the lower-cased type/subtype of a Content-Type, parameters and whitespace dropped. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const plusJson = /^application\/[a-z0-9.-]+\+json$/;
const plusXml = /^application\/[a-z0-9.-]+\+xml$/;

/** processorFor picks the processor for a Content-Type, or undefined when none applies. */
export function processorFor(contentType: string | undefined): BodyProcessorName | undefined {
  if (contentType === undefined) return undefined;
  const type = mediaType(contentType);
  if (type === "application/x-www-form-urlencoded") return "URLENCODED";
  if (type === "multipart/form-data") return "MULTIPART";
  if (type === "application/json" || plusJson.test(type)) return "JSON";
  if (type === "text/xml" || type === "application/xml" || plusXml.test(type)) return "XML";
  return undefined;
}
