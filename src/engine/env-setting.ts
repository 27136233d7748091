// env-setting.ts: one parser for the engine's switches read from the environment
// (PORTICO_OWN_SOCKETS, PORTICO_H2_CODEC): unset or empty means the default, a known value (any
// case, spaces trimmed) is taken, and anything else is refused at start, by name — a misspelt
// switch that silently fell back to the default would leave the user measuring the wrong thing.

/**
 * envChoice reads env[name] against choices (keys in lower case): undefined when unset or empty,
 * the chosen value otherwise; any other value throws an Error that names the variable, the value
 * and `accepted` (a phrase saying what to set instead).
 */
export function envChoice<T>(
  env: NodeJS.ProcessEnv,
  name: string,
  choices: Readonly<Record<string, T>>,
  accepted: string,
): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const v = raw.trim().toLowerCase();
  if (Object.hasOwn(choices, v)) return choices[v];
  throw new Error(`${name}=${JSON.stringify(raw)} is not a setting: ${accepted}`);
}
