// htpasswd.test.ts: password checks against hashes made by real tools (Apache htpasswd 2.4.57
// from Debian's apache2-utils, OpenSSL 3 `openssl passwd`, Python's crypt over libxcrypt), each
// with its right password, a wrong one and a near miss; unsupported schemes never match.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hashKind } from "../../model/password-hash.ts";
import { checkPassword } from "./htpasswd.ts";

const pw = (s: string) => Buffer.from(s, "utf8");

// [password, hash, made by]
const VECTORS: [string, string, string][] = [
  ["secret", "$2y$05$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe", "htpasswd -nbB -C 5"],
  ["pässwörd", "$2y$05$pa6TJMf7B8gdSUxKNHX7bO8yv.2HBjVhm2ZaB6ZKF199nlK..7EyS", "htpasswd -nbB -C 5"],
  ["", "$2y$05$NDKmuph0qQyoDiNhF1ZeiOkDCSqaCy/QSdc7m5pM1zYDVjDetDlH.", "htpasswd -nbB -C 5"],
  ["secret", "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", "python crypt"],
  ["pässwörd", "$2a$04$0123456789ABCDEFabcdeugREGP65xFrCiPd/AN2XS9jlkTpRAaKm", "python crypt"],
  [
    "x".repeat(80),
    "$2b$04$0123456789ABCDEFabcdeuILpI8wnQILQdohfsun.YohCiXyaIQ.e",
    "python crypt (72-byte cap)",
  ],
  ["secret", "$apr1$O3dkGxGu$NCP5yPV8G3PKe4Xlmm6aH1", "htpasswd -nbm"],
  ["pässwörd", "$apr1$SDBte62z$tDBgq1rdR/sxeHzpq6ao90", "htpasswd -nbm"],
  ["", "$apr1$L1Fe6PhJ$2f3UI9i0u0Q7ocFWlJgMW1", "htpasswd -nbm"],
  ["secret", "$apr1$M6.gwv17$bvsrHTKU3aQIpsQqrSiqE1", "openssl passwd -apr1"],
  ["pässwörd", "$apr1$XbEfryyO$jw6jqM2pDqPXczIvSIjQG/", "openssl passwd -apr1"],
  ["secret", "$1$5znYtfwQ$uoCLQCGPM4zaqMPU/AHUR/", "openssl passwd -1"],
  ["pässwörd", "$1$f5n6/w8u$XKYpmN7IZ3byDCbFOVJqv/", "openssl passwd -1"],
  ["", "$1$RMSDvUBq$Sl8yv1vv7LW.IqZts/vU10", "openssl passwd -1"],
  ["secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "htpasswd -nbs"],
  ["pässwörd", "{SHA}9Rfd8dMqES/xrVXGbRsSyzjn6Pc=", "htpasswd -nbs"],
  ["", "{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "htpasswd -nbs"],
];

test("each tool's hash accepts its password and refuses others", () => {
  for (const [password, hash, tool] of VECTORS) {
    assert.ok(hashKind(hash) !== undefined, `${tool}: ${hash} is a supported scheme`);
    assert.equal(checkPassword(pw(password), hash), true, `${tool}: right password`);
    assert.equal(checkPassword(pw("y" + password), hash), false, `${tool}: wrong password`);
    if (password.length > 0 && password.length <= 72)
      assert.equal(checkPassword(pw(password.slice(0, -1)), hash), false, `${tool}: one character short`);
  }
});

test("bcrypt reads only 72 bytes of a password, as every implementation does", () => {
  const hash = "$2b$04$0123456789ABCDEFabcdeuILpI8wnQILQdohfsun.YohCiXyaIQ.e";
  assert.equal(checkPassword(pw("x".repeat(72)), hash), true);
  assert.equal(checkPassword(pw("x".repeat(71)), hash), false);
});

test("unsupported schemes (DES crypt, SHA-crypt, $2x$, bcrypt above cost 12, plaintext) never match", () => {
  for (const hash of [
    "PjUcXtTSu2HaA", // htpasswd -nbd secret
    "$5$saltsalt$Gcm6FsVtF/Qa77ZKD.iwsJlCVPY0XSMgLJL0Hnww/c1",
    "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
    "$2x$05$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe",
    "$2y$13$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe", // past BCRYPT_MAX_COST: would stall the engine
    "secret",
  ]) {
    assert.equal(hashKind(hash), undefined, hash);
    assert.equal(checkPassword(pw("secret"), hash), false, hash);
  }
});
