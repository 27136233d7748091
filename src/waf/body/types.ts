// types.ts: the contract of src/waf/body: turning the request line, cookies and bodies into the
// name/value pairs the rule engine's collections hold. Values and names are binary strings (one
// char per byte); url-decoding follows ModSecurity (`+` is a space in query strings and
// urlencoded bodies; an invalid %XX is kept as written and flagged).

/** Pair is one name and value, in the order they appeared. */
export type Pair = readonly [name: string, value: string];

/** FilePart is one file of a multipart body (FILES, FILES_NAMES, FILES_SIZES, FILES_TMP_CONTENT). */
export interface FilePart {
  /** field is the form field name (FILES_NAMES); filename the client's name for it (FILES). */
  field: string;
  filename: string;
  size: number;
  /** content is the file's bytes, kept up to BodyLimits.fileContentBytes (FILES_TMP_CONTENT). */
  content: string;
}

/** BodyLimits bound what a processor keeps; past a limit it stops and says so in `error`. */
export interface BodyLimits {
  /** maxArgs: pairs kept (ModSecurity SecArgumentsLimit; CRS test setup 1000). */
  maxArgs: number;
  /** maxDepth: JSON/XML nesting (SecRequestBodyJsonDepthLimit). */
  maxDepth: number;
  /** fileContentBytes: bytes of each file kept for FILES_TMP_CONTENT. */
  fileContentBytes: number;
}

/** BodyResult is what a body processor found. */
export interface BodyResult {
  /** args are ARGS_POST (JSON: `json.a.b` names as Coraza; XML: none, see xml). */
  args: Pair[];
  files: FilePart[];
  /** multipartNames / multipartFilenames / partHeaders fill MULTIPART_NAME, MULTIPART_FILENAME,
   * MULTIPART_PART_HEADERS. */
  multipartNames?: string[];
  multipartFilenames?: string[];
  partHeaders?: Pair[];
  /** flags are the scalar variables the processor sets: MULTIPART_STRICT_ERROR,
   * MULTIPART_UNMATCHED_BOUNDARY, MULTIPART_BOUNDARY_QUOTED, ..., each "0" or "1" (also
   * MULTIPART_BOUNDARY_WHITESPACE, MULTIPART_DATA_BEFORE/AFTER, MULTIPART_HEADER_FOLDING,
   * MULTIPART_LF_LINE, MULTIPART_CRLF_LF_LINES, MULTIPART_INVALID_QUOTING, MULTIPART_INVALID_PART,
   * MULTIPART_INVALID_HEADER_FOLDING, MULTIPART_FILE_LIMIT_EXCEEDED, MULTIPART_MISSING_SEMICOLON). */
  flags: Record<string, string>;
  /** xml is the parsed document for `XML:/*` and XPath selectors (XML processor only). */
  xml?: XmlNode;
  /** error, when set, makes REQBODY_ERROR "1" / REQBODY_PROCESSOR_ERROR "1" and REQBODY_ERROR_MSG
   * this text: the body was malformed or over a limit; what was parsed before stays in args. */
  error?: string;
}

/** XmlNode is an element: its name, attributes and children (text nodes are strings). */
export interface XmlNode {
  name: string;
  attributes: Pair[];
  children: (XmlNode | string)[];
}

/** BodyProcessorName is the value of REQBODY_PROCESSOR / ctl:requestBodyProcessor. */
export type BodyProcessorName = "URLENCODED" | "MULTIPART" | "JSON" | "XML";

/** BodyProcessors is what src/waf/body/index.ts exports. */
export interface BodyProcessors {
  /** parseQuery splits a query string or urlencoded body into pairs (url-decoded, `+` → space);
   * `invalid` says an invalid %-escape was seen. */
  parseQuery(text: string): { pairs: Pair[]; invalid: boolean };
  /** parseCookies splits Cookie headers' values into pairs (ModSecurity v3 / Coraza rules: `;`
   * separated, names trimmed, values not url-decoded). */
  parseCookies(headerValues: readonly string[]): Pair[];
  /** processorFor picks the processor from a Content-Type (undefined: none, the body is only
   * REQUEST_BODY). */
  processorFor(contentType: string | undefined): BodyProcessorName | undefined;
  /** parseBody runs one processor on a complete (or limit-truncated) body. */
  parseBody(
    processor: BodyProcessorName,
    body: string,
    contentType: string | undefined,
    limits: BodyLimits,
  ): BodyResult;
  /** xpath evaluates the XPath subset CRS and common custom rules use (`/*`, `//@*`, `/a/b`,
   * `//name`, `text()`) to the matched nodes' string values. */
  xpath(doc: XmlNode, expr: string): string[];
}
