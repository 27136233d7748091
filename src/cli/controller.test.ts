import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "./args.ts";
import { ENGINE_LISTEN_IN_CLUSTER, parseControllerFlags } from "./controller.ts";

test("portico controller: the engine port is on by default in a pod only; --no-local-engine needs it", () => {
  assert.equal(parseControllerFlags([], {}).engineListen, undefined);
  assert.equal(
    parseControllerFlags([], { KUBERNETES_SERVICE_HOST: "10.0.0.1" }).engineListen,
    ENGINE_LISTEN_IN_CLUSTER,
  );
  const given = parseControllerFlags(["--engine-listen=127.0.0.1:9555", "--no-local-engine"], {});
  assert.equal(given.engineListen, "127.0.0.1:9555");
  assert.equal(given.localEngine, false);
  assert.equal(parseControllerFlags([], {}).localEngine, true);
  assert.throws(
    () => parseControllerFlags(["--no-local-engine"], {}),
    (e: Error) => {
      assert.ok(e instanceof CliError);
      assert.match(e.message, /--no-local-engine needs --engine-listen HOST:PORT/);
      return true;
    },
  );
  assert.throws(() => parseControllerFlags(["--engine-listen=nope"], {}), /--engine-listen: /);
});

test("portico controller: a non-loopback --admin needs a token file (flag or env), read before anything starts", () => {
  assert.throws(
    () => parseControllerFlags(["--admin=0.0.0.0:9901"], {}),
    (e: Error) => e instanceof CliError && /--admin-token-file FILE/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), "portico-ctl-token-"));
  try {
    const file = join(dir, "token");
    writeFileSync(file, "fedcba9876543210fedcba9876543210\n");
    assert.deepEqual(
      parseControllerFlags(["--admin=0.0.0.0:9901", `--admin-token-file=${file}`], {}).adminToken,
      [{ token: "fedcba9876543210fedcba9876543210" }],
    );
    assert.deepEqual(
      parseControllerFlags(["--admin=0.0.0.0:9901"], { PORTICO_ADMIN_TOKEN_FILE: file }).adminToken,
      [{ token: "fedcba9876543210fedcba9876543210" }],
    );
    assert.equal(parseControllerFlags([], {}).adminToken, undefined);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("portico controller: the admission webhook is off by default; --admission-listen needs a certificate or a CA file", () => {
  assert.equal(parseControllerFlags([], {}).admission, undefined);
  assert.deepEqual(
    parseControllerFlags(["--admission-listen=127.0.0.1:9444", "--admission-ca-file=/tmp/ca.pem"], {})
      .admission,
    { listen: "127.0.0.1:9444", caFile: "/tmp/ca.pem" },
  );
  assert.deepEqual(
    parseControllerFlags(
      ["--admission-listen=0.0.0.0:9444", "--admission-cert=/c/tls.crt", "--admission-key=/c/tls.key"],
      {},
    ).admission,
    { listen: "0.0.0.0:9444", cert: "/c/tls.crt", key: "/c/tls.key" },
  );
  const refused: [string[], RegExp][] = [
    [
      ["--admission-listen=127.0.0.1:9444"],
      /needs a certificate: --admission-cert FILE --admission-key FILE, or --admission-ca-file FILE/,
    ],
    [
      ["--admission-listen=127.0.0.1:9444", "--admission-cert=/c/tls.crt"],
      /--admission-cert and --admission-key go together/,
    ],
    [["--admission-ca-file=/tmp/ca.pem"], /need --admission-listen HOST:PORT/],
    [
      [
        "--admission-listen=127.0.0.1:9444",
        "--admission-cert=/c/tls.crt",
        "--admission-key=/c/tls.key",
        "--admission-ca-file=/tmp/ca.pem",
      ],
      /--admission-ca-file is for a certificate Portico makes/,
    ],
    [["--admission-listen=nope", "--admission-ca-file=/tmp/ca.pem"], /--admission-listen: /],
  ];
  for (const [argv, why] of refused)
    assert.throws(
      () => parseControllerFlags(argv, {}),
      (e: Error) => e instanceof CliError && why.test(e.message),
      argv.join(" "),
    );
});
