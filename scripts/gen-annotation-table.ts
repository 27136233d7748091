// gen-annotation-table.ts: writes docs/migration-annotations.md from the annotation registry
// (src/translate/nginx/registry.ts), formatted as `npm run lint` expects.
// Run: sh scripts/node.sh scripts/gen-annotation-table.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { renderTable } from "../src/translate/nginx/table.ts";

const out = join(import.meta.dirname, "..", "docs", "migration-annotations.md");
const config = (await prettier.resolveConfig(out)) ?? {};
writeFileSync(out, await prettier.format(renderTable(), { ...config, filepath: out }));
process.stdout.write(`wrote ${out}\n`);
