// names.ts: the vocabulary of the language: every variable (collection), operator, action,
// transformation and ctl option ModSecurity v3 or Coraza knows, with the shape of its argument.
// A name outside these lists is an error when a file loads, never a rule that silently does nothing.

/** COLLECTIONS are the variables that hold many values and accept a selector (`ARGS:id`). */
export const COLLECTIONS: ReadonlySet<string> = new Set([
  "ARGS",
  "ARGS_GET",
  "ARGS_POST",
  "ARGS_PATH",
  "ARGS_NAMES",
  "ARGS_GET_NAMES",
  "ARGS_POST_NAMES",
  "ENV",
  "FILES",
  "FILES_NAMES",
  "FILES_SIZES",
  "FILES_TMPNAMES",
  "FILES_TMP_CONTENT",
  "GEO",
  "GLOBAL",
  "IP",
  "JSON",
  "MATCHED_VARS",
  "MATCHED_VARS_NAMES",
  "MULTIPART_FILENAME",
  "MULTIPART_NAME",
  "MULTIPART_PART_HEADERS",
  "PERF_RULES",
  "REQUEST_COOKIES",
  "REQUEST_COOKIES_NAMES",
  "REQUEST_HEADERS",
  "REQUEST_HEADERS_NAMES",
  "REQUEST_XML",
  "RESOURCE",
  "RESPONSE_ARGS",
  "RESPONSE_HEADERS",
  "RESPONSE_HEADERS_NAMES",
  "RESPONSE_XML",
  "RULE",
  "SESSION",
  "TX",
  "USER",
  "XML",
]);

/** SCALARS are the variables that hold one value and take no selector. */
export const SCALARS: ReadonlySet<string> = new Set([
  "ARGS_COMBINED_SIZE",
  "AUTH_TYPE",
  "DURATION",
  "FILES_COMBINED_SIZE",
  "FULL_REQUEST",
  "FULL_REQUEST_LENGTH",
  "HIGHEST_SEVERITY",
  "INBOUND_DATA_ERROR",
  "MATCHED_VAR",
  "MATCHED_VAR_NAME",
  "MODSEC_BUILD",
  "MSC_PCRE_ERROR",
  "MSC_PCRE_LIMITS_EXCEEDED",
  "MULTIPART_BOUNDARY_QUOTED",
  "MULTIPART_BOUNDARY_WHITESPACE",
  "MULTIPART_CRLF_LF_LINES",
  "MULTIPART_DATA_AFTER",
  "MULTIPART_DATA_BEFORE",
  "MULTIPART_FILE_LIMIT_EXCEEDED",
  "MULTIPART_HEADER_FOLDING",
  "MULTIPART_INVALID_HEADER_FOLDING",
  "MULTIPART_INVALID_PART",
  "MULTIPART_INVALID_QUOTING",
  "MULTIPART_LF_LINE",
  "MULTIPART_MISSING_SEMICOLON",
  "MULTIPART_SEMICOLON_MISSING",
  "MULTIPART_STRICT_ERROR",
  "MULTIPART_UNMATCHED_BOUNDARY",
  "OUTBOUND_DATA_ERROR",
  "PATH_INFO",
  "QUERY_STRING",
  "REMOTE_ADDR",
  "REMOTE_HOST",
  "REMOTE_PORT",
  "REMOTE_USER",
  "REQBODY_ERROR",
  "REQBODY_ERROR_MSG",
  "REQBODY_PROCESSOR",
  "REQBODY_PROCESSOR_ERROR",
  "REQBODY_PROCESSOR_ERROR_MSG",
  "REQUEST_BASENAME",
  "REQUEST_BODY",
  "REQUEST_BODY_LENGTH",
  "REQUEST_FILENAME",
  "REQUEST_LINE",
  "REQUEST_METHOD",
  "REQUEST_PROTOCOL",
  "REQUEST_URI",
  "REQUEST_URI_RAW",
  "RESPONSE_BODY",
  "RESPONSE_CONTENT_LENGTH",
  "RESPONSE_CONTENT_TYPE",
  "RESPONSE_PROTOCOL",
  "RESPONSE_STATUS",
  "RESBODY_ERROR",
  "RESBODY_ERROR_MSG",
  "RESBODY_PROCESSOR",
  "RESBODY_PROCESSOR_ERROR",
  "RESBODY_PROCESSOR_ERROR_MSG",
  "SERVER_ADDR",
  "SERVER_NAME",
  "SERVER_PORT",
  "SESSIONID",
  "STATUS",
  "STATUS_LINE",
  "STREAM_INPUT_BODY",
  "STREAM_OUTPUT_BODY",
  "TIME",
  "TIME_DAY",
  "TIME_EPOCH",
  "TIME_HOUR",
  "TIME_MIN",
  "TIME_MON",
  "TIME_SEC",
  "TIME_WDAY",
  "TIME_YEAR",
  "UNIQUE_ID",
  "URLENCODED_ERROR",
  "USERID",
  "WEBAPPID",
]);

/** PERSISTENT are the collections setvar/initcol may write besides TX (ModSecurity's storage). */
export const WRITABLE: ReadonlySet<string> = new Set(["TX", "IP", "GLOBAL", "RESOURCE", "SESSION", "USER"]);

/** OperatorArg is the shape of an operator's argument. */
export type OperatorArg =
  | "none" // no argument (`@detectSQLi`)
  | "regex" // a regular expression, kept verbatim
  | "number" // an integer or a %{macro}
  | "text" // a string that may hold %{macros}
  | "phrases" // space-separated phrases
  | "phraseFiles" // space-separated .data files of phrases
  | "ips" // comma-separated addresses and CIDR blocks
  | "ipFiles" // a file of addresses and CIDR blocks
  | "byteRanges" // comma-separated bytes and ranges `9,10,32-126`
  | "raw"; // anything else, kept verbatim for the engine to judge

/** OPERATORS maps each operator's canonical name to its argument's shape. */
export const OPERATORS: ReadonlyMap<string, OperatorArg> = new Map<string, OperatorArg>([
  ["beginsWith", "text"],
  ["contains", "text"],
  ["containsWord", "text"],
  ["detectSQLi", "none"],
  ["detectXSS", "none"],
  ["endsWith", "text"],
  ["eq", "number"],
  ["fuzzyHash", "raw"],
  ["ge", "number"],
  ["geoLookup", "none"],
  ["gsbLookup", "raw"],
  ["gt", "number"],
  ["inspectFile", "raw"],
  ["ipMatch", "ips"],
  ["ipMatchFromFile", "ipFiles"],
  ["le", "number"],
  ["lt", "number"],
  ["noMatch", "none"],
  ["pm", "phrases"],
  ["pmFromFile", "phraseFiles"],
  ["rbl", "raw"],
  ["restpath", "raw"],
  ["rsub", "raw"],
  ["rx", "regex"],
  ["rxGlobal", "regex"],
  ["streq", "text"],
  ["strmatch", "text"],
  ["unconditionalMatch", "none"],
  ["validateByteRange", "byteRanges"],
  ["validateDTD", "raw"],
  ["validateHash", "raw"],
  ["validateSchema", "raw"],
  ["validateUrlEncoding", "none"],
  ["validateUtf8Encoding", "none"],
  ["verifyCC", "regex"],
  ["verifyCPF", "regex"],
  ["verifySSN", "regex"],
  ["verifySVNR", "regex"],
  ["within", "text"],
]);

/** OPERATOR_ALIASES maps the short spellings ModSecurity also accepts to the canonical names. */
export const OPERATOR_ALIASES: ReadonlyMap<string, string> = new Map([
  ["pmf", "pmFromFile"],
  ["ipmatchf", "ipMatchFromFile"],
]);

/** TRANSFORMATIONS lists every transformation by canonical name (ModSecurity's spelling). */
export const TRANSFORMATIONS: readonly string[] = [
  "base64Decode",
  "base64DecodeExt",
  "base64Encode",
  "cmdLine",
  "compressWhitespace",
  "cssDecode",
  "escapeSeqDecode",
  "hexDecode",
  "hexEncode",
  "htmlEntityDecode",
  "jsDecode",
  "length",
  "lowercase",
  "md5",
  "none",
  "normalisePath",
  "normalisePathWin",
  "parityEven7bit",
  "parityOdd7bit",
  "parityZero7bit",
  "removeComments",
  "removeCommentsChar",
  "removeNulls",
  "removeWhitespace",
  "replaceComments",
  "replaceNulls",
  "sha1",
  "sqlHexDecode",
  "trim",
  "trimLeft",
  "trimRight",
  "uppercase",
  "urlDecode",
  "urlDecodeUni",
  "urlEncode",
  "utf8toUnicode",
];

/** TRANSFORMATION_ALIASES maps American spellings to the canonical ones (both are accepted). */
export const TRANSFORMATION_ALIASES: ReadonlyMap<string, string> = new Map([
  ["normalizepath", "normalisePath"],
  ["normalizepathwin", "normalisePathWin"],
]);

/** CtlArg is the shape of a ctl option's value. */
export type CtlArg = "onOff" | "engine" | "number" | "processor" | "ids" | "idTarget" | "text";

/** CTL_OPTIONS maps each ctl option (canonical name) to its value's shape. */
export const CTL_OPTIONS: ReadonlyMap<string, CtlArg> = new Map<string, CtlArg>([
  ["auditEngine", "engine"],
  ["auditLogParts", "text"],
  ["debugLogLevel", "number"],
  ["forceRequestBodyVariable", "onOff"],
  ["hashEnforcement", "onOff"],
  ["hashEngine", "onOff"],
  ["parseXmlIntoArgs", "text"],
  ["requestBodyAccess", "onOff"],
  ["requestBodyLimit", "number"],
  ["requestBodyProcessor", "processor"],
  ["responseBodyAccess", "onOff"],
  ["responseBodyLimit", "number"],
  ["responseBodyProcessor", "processor"],
  ["ruleEngine", "engine"],
  ["ruleRemoveById", "ids"],
  ["ruleRemoveByMsg", "text"],
  ["ruleRemoveByTag", "text"],
  ["ruleRemoveTargetById", "idTarget"],
  ["ruleRemoveTargetByMsg", "idTarget"],
  ["ruleRemoveTargetByTag", "idTarget"],
]);

/** BODY_PROCESSORS are the request/response body processors a ctl may select. */
export const BODY_PROCESSORS: readonly string[] = ["URLENCODED", "MULTIPART", "JSON", "XML", "RAW"];

/** canonical finds a name in a list ignoring case (SecLang names are case-insensitive). */
export function canonical(name: string, names: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  for (const n of names) if (n.toLowerCase() === lower) return n;
  return undefined;
}
