// validate.ts: `portico validate DIR...` (offline) or `portico validate --admin HOST:PORT` (what a
// running Portico has loaded): errors fail with exit 1; False conditions print as warnings.
import { parseCommon } from "./args.ts";
import { answer } from "./offline.ts";
import { isDoc, renderDoc } from "./render.ts";
import { validateReport, type ValidateReport } from "../controller/views.ts";

/** main prints the report; exit 1 when any manifest has an error. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const { doc: r } = await answer<ValidateReport>(flags, flags.positionals, "/api/v1/validate", (i) =>
    validateReport(i.set, i.out),
  );
  const output = flags.output ?? "table";
  if (isDoc(output)) {
    process.stdout.write(renderDoc(r, output));
    return r.errors.length > 0 ? 1 : 0;
  }
  for (const e of r.errors) {
    process.stdout.write(`error: ${e.file}:${e.line}: ${e.object ? e.object + ": " : ""}${e.message}\n`);
  }
  for (const n of r.notices) process.stdout.write(`notice: ${n}\n`);
  for (const p of r.warnings) process.stdout.write(`warning: ${p}\n`);
  if (r.errors.length > 0) {
    process.stdout.write(`${r.errors.length} error(s); fix them and run 'portico validate' again\n`);
    return 1;
  }
  process.stdout.write(`ok: ${r.objects} objects valid\n`);
  return 0;
}
