// engine-port.ts: the in-process engine behind the controller's EnginePort. apply() resolves once
// every listener made its first bind attempt, so /healthz turns 200 only when traffic is served.
import { Engine } from "../engine/engine.ts";
import { compileHttp } from "../engine/l7/compile.ts";
import { Metrics } from "../engine/metrics.ts";
import type { EnginePort } from "./standalone.ts";
import type { Logger } from "./log.ts";

/** createEnginePort starts an engine in this process. */
export async function createEnginePort(log: Logger): Promise<EnginePort & { engine: Engine }> {
  const engine = new Engine({ compileHttp, log });
  const metrics = new Metrics({ endpoints: () => engine.status().endpoints }).subscribe();
  return {
    engine,
    async apply(snapshot) {
      const result = engine.apply(snapshot);
      if (result.ok) await engine.settled();
      return result;
    },
    metrics: () => metrics.render(),
    async close() {
      metrics.close();
      await engine.close();
    },
  };
}
