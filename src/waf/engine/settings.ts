// settings.ts: the configuration directives the engine honours (SecRuleEngine, body access and
// limits, ...), folded in file order (the last one wins, as in ModSecurity). A directive the
// engine cannot honour is kept in `ignored` with the reason, so the caller reports it: Portico
// never drops a setting silently.
import type { Location } from "../lang/errors.ts";
import type { Setting } from "../lang/model.ts";

/** EngineSettings are the settings a transaction reads (defaults as Coraza's / ModSecurity's). */
export interface EngineSettings {
  ruleEngine: "On" | "DetectionOnly" | "Off";
  requestBodyAccess: boolean;
  requestBodyLimit: number;
  requestBodyNoFilesLimit: number;
  requestBodyLimitAction: "Reject" | "ProcessPartial";
  responseBodyAccess: boolean;
  responseBodyLimit: number;
  responseBodyLimitAction: "Reject" | "ProcessPartial";
  /** responseBodyMimeTypes: lower-case MIME types whose response bodies phase 4 inspects. */
  responseBodyMimeTypes: string[];
  argumentsLimit: number;
  jsonDepthLimit: number;
  /** componentSignatures: SecComponentSignature values (kept for the log; nothing else reads them). */
  componentSignatures: string[];
}

/** IgnoredSetting is a directive the engine accepted but does not act on, and why. */
export interface IgnoredSetting {
  name: string;
  at: Location;
  reason: string;
}

/** defaultSettings are the values before any directive (Coraza's defaults; SecRuleEngine On,
 * because a policy that loads rules means them to run unless it says DetectionOnly). */
export function defaultSettings(): EngineSettings {
  return {
    ruleEngine: "On",
    requestBodyAccess: false,
    requestBodyLimit: 13_107_200,
    requestBodyNoFilesLimit: 131_072,
    requestBodyLimitAction: "Reject",
    responseBodyAccess: false,
    responseBodyLimit: 524_288,
    responseBodyLimitAction: "ProcessPartial",
    responseBodyMimeTypes: ["text/plain", "text/html"],
    argumentsLimit: 1000,
    jsonDepthLimit: 1024,
    componentSignatures: [],
  };
}

// Why each directive the engine does not act on is harmless or out of its reach.
const IGNORED: Record<string, string> = {
  SecCollectionTimeout: "persistent collections (IP, GLOBAL, SESSION, USER) are per-transaction in Portico",
  SecDataDir: "persistent collections are not stored",
  SecTmpDir: "bodies are inspected in memory",
  SecUploadDir: "uploaded files are inspected in memory and not stored",
  SecUploadFileLimit: "the multipart processor bounds files by the body limit",
  SecUploadFileMode: "uploaded files are not stored",
  SecUploadKeepFiles: "uploaded files are not stored",
  SecTmpSaveUploadedFiles: "uploaded files are not stored",
  SecRequestBodyInMemoryLimit: "bodies are always inspected in memory (SecRequestBodyLimit bounds them)",
  SecArgumentSeparator: "the query parser splits on '&' only",
  SecCookieFormat: "cookies are parsed as version 0 (ModSecurity v3's only format)",
  SecPcreMatchLimit: "@rx is linear-time (src/waf/rx): there is no backtracking to limit",
  SecPcreMatchLimitRecursion: "@rx is linear-time (src/waf/rx): there is no backtracking to limit",
  SecUnicodeMapFile: "utf8toUnicode uses the built-in mapping",
  SecXmlExternalEntity: "the XML processor never loads external entities",
  SecServerSignature: "Portico does not rewrite the Server header",
  SecWebAppId: "persistent collections are not stored",
  SecSensorId: "the access log names the engine",
  SecDebugLog: "Portico logs through its access log and metrics",
  SecDebugLogLevel: "Portico logs through its access log and metrics",
  SecAuditEngine: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLog: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLog2: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogDirMode: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogFileMode: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogFormat: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogParts: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogRelevantStatus: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogStorageDir: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecAuditLogType: "WAF hits go to Portico's access log (WafEvidence), not to an audit log",
  SecStatusEngine: "no status is reported to ModSecurity's servers",
  SecStreamInBodyInspection: "STREAM_INPUT_BODY is not filled; REQUEST_BODY holds the body",
  SecStreamOutBodyInspection: "STREAM_OUTPUT_BODY is not filled; RESPONSE_BODY holds the body",
  SecGeoLookupDb: "GEO and @geoLookup are not supported",
  SecHttpBlKey: "@rbl is not supported",
};

type Setter = (s: EngineSettings, v: Setting["value"]) => void;

// What each honoured directive sets (the parser already checked the value's shape).
const SETTERS: Record<string, Setter> = {
  SecRuleEngine: (s, v) => (s.ruleEngine = v as EngineSettings["ruleEngine"]),
  SecRequestBodyAccess: (s, v) => (s.requestBodyAccess = v === true),
  SecResponseBodyAccess: (s, v) => (s.responseBodyAccess = v === true),
  SecRequestBodyLimit: (s, v) => (s.requestBodyLimit = v as number),
  SecRequestBodyNoFilesLimit: (s, v) => (s.requestBodyNoFilesLimit = v as number),
  SecRequestBodyLimitAction: (s, v) =>
    (s.requestBodyLimitAction = v as EngineSettings["requestBodyLimitAction"]),
  SecResponseBodyLimit: (s, v) => (s.responseBodyLimit = v as number),
  SecResponseBodyLimitAction: (s, v) =>
    (s.responseBodyLimitAction = v as EngineSettings["responseBodyLimitAction"]),
  SecArgumentsLimit: (s, v) => (s.argumentsLimit = v as number),
  SecRequestBodyJsonDepthLimit: (s, v) => (s.jsonDepthLimit = v as number),
  SecComponentSignature: (s, v) => s.componentSignatures.push(String(v)),
};

/** applySettings folds the setting directives into settings, returning those it ignored. */
export function applySettings(entries: readonly Setting[], s: EngineSettings): IgnoredSetting[] {
  const ignored: IgnoredSetting[] = [];
  let mimeSet = false;
  for (const e of entries) {
    const set = SETTERS[e.name];
    if (set) {
      set(s, e.value);
    } else if (e.name === "SecResponseBodyMimeType") {
      // The first directive replaces the defaults (Coraza), later ones add (ModSecurity).
      if (!mimeSet) s.responseBodyMimeTypes = [];
      mimeSet = true;
      for (const m of e.value as string[]) {
        const t = m.toLowerCase();
        if (!s.responseBodyMimeTypes.includes(t)) s.responseBodyMimeTypes.push(t);
      }
    } else if (e.name === "SecResponseBodyMimeTypesClear") {
      s.responseBodyMimeTypes = [];
      mimeSet = true;
    } else {
      ignored.push({
        name: e.name,
        at: e.at,
        reason: IGNORED[e.name] ?? "the rule engine does not act on this directive",
      });
    }
  }
  return ignored;
}
