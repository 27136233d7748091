// request-log.ts: the controller's request log and full-log switches (issue 15 item 3), opened
// the same way by `portico run` (in the state database) and `portico controller` (in memory, or
// in the state database when --state-dir is given). The engines' batches reach the log through
// its ingest() (an AnalyticsSink); the admin API reads it through view().
import { FullLogs } from "../analytics/full-logs.ts";
import { LogStore } from "../analytics/log-store.ts";
import { openLogDatabase } from "../analytics/log-sqlite.ts";
import { serviceKeys, type LogsView } from "../api/analytics-logs-routes.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { Logger } from "./log.ts";

/** RequestLog is the log, the switches, and how to close them. */
export interface RequestLog {
  logs: LogStore;
  fullLogs: FullLogs;
  /** view is the admin API's LogsView, checking keys against snapshot() (the serving one). */
  view(snapshot: () => EngineSnapshot | undefined): LogsView;
  close(): void;
}

/** openRequestLog keeps the log in the state database at file (already migrated), or in memory without one. */
export function openRequestLog(file: string | undefined, log: Logger): RequestLog {
  const db = file !== undefined ? openLogDatabase(file) : undefined;
  // One line per failing write would flood the log while a disk is full: once per error text.
  let said = "";
  const logs = new LogStore({
    ...(db ? { db } : {}),
    onError: (err) => {
      const msg = (err as Error)?.message ?? String(err);
      if (msg !== said) log("warn", "request log not written; its records are lost", { error: msg });
      said = msg;
    },
  });
  const fullLogs = new FullLogs();
  return {
    logs,
    fullLogs,
    view: (snapshot) => ({
      logs,
      fullLogs,
      services: () => {
        const s = snapshot();
        return s && serviceKeys(s);
      },
    }),
    close: () => {
      logs.close();
      if (db?.isOpen) db.close();
    },
  };
}
