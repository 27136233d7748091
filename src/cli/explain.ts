// explain.ts: `portico explain KIND/NS/NAME` — one object in plain words, offline from DIR or from
// a running Portico (--admin); `-o yaml|json` prints the Explanation document instead.
import { CliError, parseCommon, type Output } from "./args.ts";
import { answer } from "./offline.ts";
import { isDoc, renderDoc } from "./render.ts";
import { explain, renderExplanation, type Explanation } from "../controller/explain/index.ts";
import { parseTarget, targetPath, TARGET_KINDS } from "../controller/explain/target.ts";

/** printExplanation prints e in the format asked for; exit 1 when the object does not exist. */
export function printExplanation(e: Explanation, output: Output | undefined): number {
  const o = output ?? "table";
  process.stdout.write(isDoc(o) ? renderDoc(e, o) : renderExplanation(e));
  return e.found ? 0 : 1;
}

/** explainMain explains one object: `explain KIND/NS/NAME [DIR...]`. */
export async function explainMain(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const t = parseTarget(flags.positionals);
  if (!t)
    throw new CliError(`explain wants one object: ${TARGET_KINDS}; then directories, or --admin HOST:PORT`);
  const { doc } = await answer<Explanation>(flags, t.dirs, `/api/v1/explain/${targetPath(t)}`, (i) =>
    explain(i.set, i.out, t),
  );
  return printExplanation(doc, flags.output);
}
