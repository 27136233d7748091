// settings.ts: the configuration directives (SecRuleEngine, SecRequestBodyLimit, ...) and the
// shape of their values. Each is parsed into a typed Setting; whether Portico honours it is the
// engine's call, and one it cannot honour must be reported there, never dropped here.
import { LangFault } from "./errors.ts";
import { onOff } from "./actions.ts";

type Shape =
  | { kind: "onOff" }
  | { kind: "number" }
  | { kind: "enum"; values: string[] }
  | { kind: "text" }
  | { kind: "list" }
  | { kind: "flag" };

const onOffShape: Shape = { kind: "onOff" };
const num: Shape = { kind: "number" };
const text: Shape = { kind: "text" };
const partial: Shape = { kind: "enum", values: ["Reject", "ProcessPartial"] };

/** SETTINGS maps each configuration directive (canonical spelling) to its value's shape. */
const SETTINGS: ReadonlyMap<string, Shape> = new Map<string, Shape>([
  ["SecRuleEngine", { kind: "enum", values: ["On", "Off", "DetectionOnly"] }],
  ["SecRequestBodyAccess", onOffShape],
  ["SecResponseBodyAccess", onOffShape],
  ["SecRequestBodyLimit", num],
  ["SecRequestBodyNoFilesLimit", num],
  ["SecRequestBodyInMemoryLimit", num],
  ["SecRequestBodyJsonDepthLimit", num],
  ["SecRequestBodyLimitAction", partial],
  ["SecResponseBodyLimit", num],
  ["SecResponseBodyLimitAction", partial],
  ["SecResponseBodyMimeType", { kind: "list" }],
  ["SecResponseBodyMimeTypesClear", { kind: "flag" }],
  ["SecArgumentsLimit", num],
  ["SecArgumentSeparator", text],
  ["SecCookieFormat", num],
  ["SecCollectionTimeout", num],
  ["SecComponentSignature", text],
  ["SecServerSignature", text],
  ["SecWebAppId", text],
  ["SecSensorId", text],
  ["SecPcreMatchLimit", num],
  ["SecPcreMatchLimitRecursion", num],
  ["SecUnicodeMapFile", { kind: "list" }],
  ["SecDataDir", text],
  ["SecTmpDir", text],
  ["SecUploadDir", text],
  ["SecUploadFileLimit", num],
  ["SecUploadFileMode", text],
  ["SecUploadKeepFiles", { kind: "enum", values: ["On", "Off", "RelevantOnly"] }],
  ["SecTmpSaveUploadedFiles", onOffShape],
  ["SecXmlExternalEntity", onOffShape],
  ["SecDebugLog", text],
  ["SecDebugLogLevel", num],
  ["SecAuditEngine", { kind: "enum", values: ["On", "Off", "RelevantOnly"] }],
  ["SecAuditLog", text],
  ["SecAuditLog2", text],
  ["SecAuditLogDirMode", text],
  ["SecAuditLogFileMode", text],
  ["SecAuditLogFormat", { kind: "enum", values: ["JSON", "Native"] }],
  ["SecAuditLogParts", text],
  ["SecAuditLogRelevantStatus", text],
  ["SecAuditLogStorageDir", text],
  ["SecAuditLogType", { kind: "enum", values: ["Serial", "Concurrent", "Parallel", "HTTPS"] }],
  ["SecStatusEngine", onOffShape],
  ["SecStreamInBodyInspection", onOffShape],
  ["SecStreamOutBodyInspection", onOffShape],
  ["SecGeoLookupDb", text],
  ["SecHttpBlKey", text],
]);

/** SETTING_NAMES is every configuration directive the parser accepts. */
export const SETTING_NAMES: readonly string[] = [...SETTINGS.keys()];

/** settingValue parses a configuration directive's arguments into its typed value. */
export function settingValue(name: string, args: string[]): boolean | number | string | string[] {
  const shape = SETTINGS.get(name);
  if (!shape) throw new LangFault("WAF_LANG_UNKNOWN_DIRECTIVE", `unknown directive ${name}`);
  if (shape.kind === "flag") {
    if (args.length !== 0) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `${name} takes no argument`);
    return true;
  }
  if (shape.kind === "list") {
    if (args.length === 0) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `${name} needs at least one value`);
    return args;
  }
  const [v] = args;
  if (args.length !== 1 || v === undefined) {
    throw new LangFault(
      "WAF_LANG_BAD_ARGUMENT",
      `${name} takes one value, got ${args.length}${args.length > 1 ? " (quote a value that has spaces)" : ""}`,
    );
  }
  switch (shape.kind) {
    case "onOff": {
      const b = onOff(v);
      if (b === undefined)
        throw new LangFault("WAF_LANG_BAD_ARGUMENT", `${name} takes On or Off, got ${JSON.stringify(v)}`);
      return b;
    }
    case "number":
      if (!/^\d+$/.test(v))
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `${name} takes a whole number, got ${JSON.stringify(v)}`,
        );
      return Number(v);
    case "enum": {
      const hit = shape.values.find((x) => x.toLowerCase() === v.toLowerCase());
      if (!hit)
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `${name} takes ${shape.values.join(", ")}; got ${JSON.stringify(v)}`,
        );
      return hit;
    }
    case "text":
      return v;
  }
}
