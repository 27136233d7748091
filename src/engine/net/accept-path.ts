// accept-path.ts: which path accepted plain HTTP/1.1 connections take — Portico's own socket layer
// (own-socket.ts) or Node's net.Socket — from the engine option, the PORTICO_OWN_SOCKETS setting and
// what this Node allows. Decided once, at engine start, and said in the log.
import { envChoice } from "../env-setting.ts";
import { ownSockets, ownSocketsMissing } from "./own-socket.ts";

/** OWN_SOCKETS_ENV is the environment variable that turns the own socket layer on or off. */
export const OWN_SOCKETS_ENV = "PORTICO_OWN_SOCKETS";

const SPELLINGS = { on: true, true: true, "1": true, off: false, false: false, "0": false };

/**
 * ownSocketsSetting reads PORTICO_OWN_SOCKETS: true (on, true, 1), false (off, false, 0),
 * undefined when unset or empty; any other value throws, naming the variable and the values.
 */
export function ownSocketsSetting(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  return envChoice(
    env,
    OWN_SOCKETS_ENV,
    SPELLINGS,
    "use on or off (also true/false, 1/0), or unset it for on",
  );
}

/** AcceptPath is the decision: own sockets or not, and why, for the start-up log. */
export interface AcceptPath {
  own: boolean;
  why: string;
}

/** acceptPath decides from the engine option (if given), else the environment, and this Node's internals. */
export function acceptPath(option?: boolean, env: NodeJS.ProcessEnv = process.env): AcceptPath {
  const setting = ownSocketsSetting(env);
  const wanted = option ?? setting ?? true;
  if (!wanted) {
    const by =
      option === false ? "the engine option ownSockets: false" : `${OWN_SOCKETS_ENV}=${env[OWN_SOCKETS_ENV]}`;
    return { own: false, why: `node's net.Socket, set by ${by}` };
  }
  if (!ownSockets)
    return {
      own: false,
      why: `node's net.Socket: this Node's internals do not allow the own socket layer (${ownSocketsMissing})`,
    };
  return { own: true, why: "Portico's own socket layer" };
}

/** ownSocketsWanted is the switch's default: on where this Node allows it, unless PORTICO_OWN_SOCKETS is off. */
export function ownSocketsWanted(): boolean {
  return acceptPath().own;
}
